"""The manifest cache's entry format (:mod:`provisioner.manifest.cache`): a resource as JSON, its field
locations as one ``\\npath\\tline\\tcol`` table relative to the file, secret references as ``{"$secretRef":
[source, name, base]}``; and the parsed YAML documents of the stack file and environment files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from provisioner.manifest.model import Resource, SecretRef, SourceLocation
from provisioner.manifest.yamldoc import YamlDocument


def plain(resource: Resource, file: str) -> dict[str, Any]:
    loc = resource.location
    if loc.file != file:
        raise ValueError("a location in another file is not cached")
    rows = []
    for path, where in resource.field_locations.items():
        line, col = where.line, where.col
        if where.file != file:
            raise ValueError("a location in another file is not cached")
        if type(path) is not str or "\n" in path or "\t" in path or type(line) is not int or type(col) is not int:
            raise ValueError("a field path or location that the location table cannot hold is not cached")
        rows.append(f"\n{path}\t{line}\t{col}")
    return {
        "kind": resource.kind,
        "name": resource.name,
        "realm": resource.realm,
        "spec": encode(resource.spec),
        "at": [loc.line, loc.col],
        "fields": "".join(rows),
    }


def same(entry: Mapping[str, Any], resource: Resource) -> bool:
    """An entry read back gives ``resource`` again (all but its location table, see :meth:`ManifestCache.put`)."""
    location = resource.location
    return (
        entry["kind"] == resource.kind
        and entry["name"] == resource.name
        and entry["realm"] == resource.realm
        and entry["at"] == [location.line, location.col]
        and entry["spec"] == resource.spec
    )


def resource(data: Mapping[str, Any], file: str) -> Resource:
    fields, spec, at = data["fields"], data["spec"], data["at"]
    if not isinstance(fields, str) or not isinstance(spec, dict):
        raise ValueError("malformed entry")
    return Resource(
        kind=str(data["kind"]),
        name=str(data["name"]),
        realm=str(data["realm"]),
        spec=spec,
        location=SourceLocation(file, int(at[0]), int(at[1])),
        field_locations=Locations(file, fields),
    )


class Locations(Mapping[str, SourceLocation]):
    """A resource's field locations as stored: one string of ``\\npath\\tline\\tcol`` lines, looked up
    by substring search when a location is wanted (most never are: only diagnostics need them), parsed
    whole only when iterated."""

    def __init__(self, file: str, table: str) -> None:
        self._file = file
        self._table = table

    def _find(self, path: str) -> int:
        return self._table.find(f"\n{path}\t") if isinstance(path, str) else -1

    def __getitem__(self, path: str) -> SourceLocation:
        start = self._find(path)
        if start < 0:
            raise KeyError(path)
        start += len(path) + 2
        stop = self._table.find("\n", start)
        line, col = self._table[start : stop if stop >= 0 else None].split("\t")
        return SourceLocation(self._file, int(line), int(col))

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self._find(path) >= 0

    def __iter__(self) -> Iterator[str]:
        return (row.split("\t", 1)[0] for row in self._table.split("\n")[1:])

    def __len__(self) -> int:
        return self._table.count("\n")

    def __eq__(self, other: object) -> bool:
        """One pass over the table (``Mapping``'s own ``__eq__`` looked every path up by search: the
        check ``put`` makes before storing an entry cost more than parsing the file)."""
        if isinstance(other, Locations):
            return (self._file, self._table) == (other._file, other._table)
        if not isinstance(other, Mapping):
            return NotImplemented
        whole = {}
        for row in self._table.split("\n")[1:]:
            path, line, col = row.split("\t")
            whole[path] = SourceLocation(self._file, int(line), int(col))
        return whole == dict(other.items())

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mapping semantics, as dict


REF = "$secretRef"  # a key no manifest can write: the schema allows only known spec keys


def encode(value: Any) -> Any:
    if isinstance(value, SecretRef):
        return {REF: [value.source, value.name, value.base]}
    if isinstance(value, dict):
        if REF in value:
            raise ValueError("a spec that spells a cached secret reference is not cached")
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encode(item) for item in value]
    return value


def decode(value: dict[str, Any]) -> Any:
    """json.loads' object hook: a stored secret reference back to a SecretRef."""
    ref = value.get(REF)
    if ref is not None and len(value) == 1:
        source, name, base = ref
        if source not in ("env", "file"):
            raise ValueError("malformed secret reference")
        return SecretRef(source, str(name), str(base))
    return value


def plain_document(doc: YamlDocument, file: str) -> dict[str, Any]:
    def table(locations: Mapping[Any, SourceLocation]) -> list[list[Any]]:
        rows = []
        for path, where in locations.items():
            if where.file != file:
                raise ValueError("a location in another file is not cached")
            rows.append([list(path), where.line, where.col])
        return rows

    if doc.start.file != file:
        raise ValueError("a location in another file is not cached")
    return {
        "data": doc.data,
        "start": [doc.start.line, doc.start.col],
        "index": doc.index,
        "locations": table(doc.locations),
        "keys": table(doc.key_locations),
    }


def document(data: Mapping[str, Any], file: str) -> YamlDocument:
    def table(rows: Any) -> dict[Any, SourceLocation]:
        return {tuple(path): SourceLocation(file, int(line), int(col)) for path, line, col in rows}

    start = data["start"]
    return YamlDocument(
        data["data"],
        SourceLocation(file, int(start[0]), int(start[1])),
        int(data["index"]),
        table(data["locations"]),
        table(data["keys"]),
    )
