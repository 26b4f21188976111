"""Which objects to export and the manifest documents for them (pure, over a :class:`RealmSnapshot`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import UsageError
from provisioner.kinds import REGISTRY, spec_of
from provisioner.kinds.reverse import CLIENT_ID, Note, has_secret_marker
from provisioner.kinds.snapshot import RealmSnapshot
from provisioner.manifest.model import API_VERSION
from provisioner.plan.order import address

#: The kinds export writes (those with an export folder), in dependency order.
KINDS = tuple(spec.name for spec in REGISTRY if spec.export_folder)
FOLDERS = {spec.name: str(spec.export_folder) for spec in REGISTRY if spec.export_folder}
GRANT_MODES = ("ensure", "exact")


@dataclass(frozen=True)
class ExportOptions:
    """What to export from one realm."""

    realm: str = "alpha"
    kinds: tuple[str, ...] = KINDS
    select: tuple[str, ...] = ()
    provider_grant_types: str = "ensure"


@dataclass(frozen=True)
class ExportedDocument:
    """One manifest document and the file it goes to (relative to the output folder)."""

    kind: str
    key: str
    realm: str
    path: str
    document: Mapping[str, Any]
    secret_env: str | None = None

    @property
    def address(self) -> str:
        return address(self.kind, self.realm, self.key)


@dataclass(frozen=True)
class Selection:
    """The keys to export per kind (singletons are exported per realm, not selected), and what was skipped
    (as notes)."""

    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def of(self, kind: str) -> tuple[str, ...]:
        """The selected keys of ``kind``."""
        return tuple(self.keys.get(kind, ()))

    @property
    def count(self) -> int:
        """How many objects were selected."""
        return sum(len(keys) for keys in self.keys.values())

    def user_ids(self, snap: RealmSnapshot) -> set[str]:
        """Every user id the selected objects name (owners, privilege subjects)."""
        out: set[str] = set()
        for spec in REGISTRY:
            if spec.export_users is not None:
                for key in self.of(spec.name):
                    out |= spec.export_users(snap, key)
        return out


@dataclass(frozen=True)
class ExportContext:
    """What a kind's ``export`` hook reads: the realm, the users by id, the keys selected per kind (an agent's
    privileges name only exported applications) and the provider grant mode."""

    snap: RealmSnapshot
    users: Mapping[str, str]
    selected: Mapping[str, frozenset[str]]
    provider_grant_types: str


@dataclass(frozen=True)
class ExportResult:
    """The documents to write, the secret variables they reference, and the notes for the user."""

    realm: str
    documents: tuple[ExportedDocument, ...]
    notes: tuple[Note, ...]

    @property
    def secrets(self) -> list[tuple[str, str]]:
        """``(variable, client id)`` for every exported secret reference, sorted by variable."""
        return sorted((d.secret_env, d.key) for d in self.documents if d.secret_env)


def parse_kinds(text: str | None) -> tuple[str, ...]:
    """``"Application,aiagent"`` → the kind names in dependency order (case-insensitive)."""
    if not text:
        return KINDS
    known = {k.lower(): k for k in KINDS}
    wanted, unknown = set(), []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() in known:
            wanted.add(known[part.lower()])
        else:
            unknown.append(part)
    if unknown or not wanted:
        raise UsageError(
            f"--kinds: unknown kind(s) {', '.join(repr(u) for u in unknown) or '(none given)'}; "
            f"expected a comma-separated list of {', '.join(KINDS)}"
        )
    return tuple(k for k in KINDS if k in wanted)


def select(snap: RealmSnapshot, options: ExportOptions) -> Selection:
    """The objects to export per kind (each kind's ``export_select`` says which are of it), honouring
    ``--kinds`` and ``--select``; what is left out is said in notes."""
    notes: list[Note] = []
    exportable = [(spec, spec.export_select(snap)) for spec in REGISTRY if spec.export_select is not None]
    keys = {spec.name: list(found.keys) for spec, found in exportable}
    wanted = [spec.name in options.kinds for spec, _ in exportable]
    chosen = set(options.select)
    if chosen:
        unknown = sorted(chosen.difference(*(found.keys for _, found in exportable)))
        if unknown:
            nobody = f"no {' or '.join(spec.export_noun for spec, _ in exportable)} with this client ID"
            reasons = [
                f"{key!r} ({next((found.refused[key] for _, found in exportable if key in found.refused), nobody)})"
                for key in unknown
            ]
            raise UsageError(
                f"--select: cannot export {', '.join(reasons)} in realm {snap.realm!r}; nothing was written"
            )
        keys = {kind: [k for k in these if k in chosen] for kind, these in keys.items()}
    else:
        notes.extend(Note("", text) for (_, found), on in zip(exportable, wanted) if on for text in found.skipped)
    notes.extend(Note("", text) for (_, found), on in zip(exportable, wanted) if on for text in found.notes)
    for spec, _ in exportable:
        for key in keys[spec.name]:
            if not CLIENT_ID.match(key):
                notes.append(
                    Note(key, "client ID uses characters manifests do not allow (letters, digits, '-', '_'); skipped")
                )
    return Selection(
        {
            spec.name: tuple(k for k in keys[spec.name] if CLIENT_ID.match(k)) if on else ()
            for (spec, _), on in zip(exportable, wanted)
        },
        tuple(notes),
    )


def _unique_names(
    keys: list[tuple[str, str]], name_of: Mapping[tuple[str, str], str | None]
) -> dict[tuple[str, str], str]:
    """Secret variable per ``(client id, kind)``; a clash (``a-b`` / ``a_b``) gets ``_2``, ``_3`` in key order."""
    out: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for key in sorted(keys):
        base = name_of.get(key)
        if not base:
            continue
        name, n = base, 2
        while name in used:
            name = f"{base.removesuffix('_SECRET')}_{n}_SECRET"
            n += 1
        used.add(name)
        out[key] = name
    return out


def _document(kind: str, realm: str, key: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    spec_ = spec_of(kind)
    metadata = {"realm": realm} if spec_ is not None and spec_.keyed_by_realm else {"name": key, "realm": realm}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": dict(spec)}


def _am_doc(snap: RealmSnapshot, kind: str, key: str) -> Mapping[str, Any] | None:
    spec = spec_of(kind)
    return spec.am_docs(snap).get(key) if spec is not None and spec.am_docs is not None else None


def build(snap: RealmSnapshot, selection: Selection, users: Mapping[str, str], options: ExportOptions) -> ExportResult:
    """The documents for ``selection``; ``users`` maps user id → userName."""
    realm = snap.realm
    notes = list(selection.notes)
    docs: list[ExportedDocument] = []
    context = ExportContext(
        snap, users, {kind: frozenset(keys) for kind, keys in selection.keys.items()}, options.provider_grant_types
    )
    specs: list[tuple[str, str, dict[str, Any], str | None]] = []
    for kind_spec in REGISTRY:
        if kind_spec.export is None or kind_spec.name not in options.kinds:
            continue
        keys = (realm,) if kind_spec.keyed_by_realm else selection.keys.get(kind_spec.name, ())
        for key in keys:
            kind_notes, spec, secret = kind_spec.export(context, key, address(kind_spec.name, realm, key))
            notes.extend(kind_notes)
            if spec is not None:
                specs.append((kind_spec.name, key, spec, secret))
    names = _unique_names(
        [(key, kind) for kind, key, _, _ in specs], {(key, kind): secret for kind, key, _, secret in specs}
    )
    for kind, key, spec, _ in specs:
        name = names.get((key, kind))
        if name and "clientSecret" in spec:
            spec["clientSecret"] = {"fromEnv": name}
        docs.append(
            ExportedDocument(
                kind=kind,
                key=key,
                realm=realm,
                path=f"{FOLDERS[kind]}/{key}.yaml",
                document=_document(kind, realm, key, spec),
                secret_env=name,
            )
        )
    unmarked = sorted(
        key
        for kind, key, spec, _ in specs
        if "clientSecret" in spec and not has_secret_marker(_am_doc(snap, kind, key))
    )
    if unmarked:
        notes.append(
            Note(
                "",
                f"{len(unmarked)} client(s) carry no provisioner secret marker ({', '.join(unmarked)}): "
                f"plan proves their secrets live at the tenant's introspect endpoint "
                f"(one request each) until an apply records a marker",
            )
        )
    return ExportResult(realm, tuple(docs), tuple(notes))


__all__ = [
    "ExportContext",
    "ExportOptions",
    "ExportResult",
    "ExportedDocument",
    "FOLDERS",
    "GRANT_MODES",
    "KINDS",
    "Selection",
    "build",
    "parse_kinds",
    "select",
]
