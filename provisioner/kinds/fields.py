"""Field tables: manifest field → remote object + JSON path + comparison, one table per kind.

A :class:`Field` names a manifest field and the remote places it lives (:class:`Target`). A target's
``compare`` says how values are compared and written:

``scalar``  plain value; unset forms are ``None``
``set``     list compared as a set of strings (server order kept when equal)
``one``     a manifest string stored as a one-element list (``clientName``, ``descriptions``)
``refs``    IDM relationship list, compared by target id
``scopes``  IDM privilege ``permissions`` (``[{"type": "scopes", "values": [...]}]``), values as a set

Canonical values (:func:`canonical`) are JSON values, so they go straight into plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from provisioner.kinds.common import get_path, make_ref, ref_ids, scalar, string_set

Compare = Literal["scalar", "set", "one", "refs", "scopes"]
Remote = Literal["am", "idm"]


@dataclass(frozen=True)
class Target:
    """One remote place a manifest field is stored."""

    remote: Remote
    path: tuple[str, ...]
    compare: Compare = "scalar"
    collection: str = ""  # for ``refs``: ``managed/<realm>_user`` etc. (``{realm}`` is substituted)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Field:
    """A manifest field and where it goes; ``sensitive`` fields are never shown or compared by value.

    The order of a kind's field table is the order of its manifest's spec keys (as in its schema)."""

    name: str
    targets: tuple[Target, ...]
    sensitive: bool = False
    #: False for a remote field the kind's manifests cannot declare (read only to say so on export).
    manifest: bool = True


def canonical(target: Target, raw: Any) -> Any:
    """The comparable form of a remote value ``raw`` at ``target``."""
    if target.compare == "scalar":
        return scalar(raw)
    if target.compare in ("set", "one"):
        return string_set(raw)
    if target.compare == "refs":
        return ref_ids(raw)
    if target.compare == "scopes":
        return scope_values(raw)
    raise ValueError(f"unknown comparison {target.compare}")


def desired_canonical(target: Target, value: Any) -> Any:
    """The comparable form of a desired (manifest-level) value for ``target``."""
    if target.compare == "one":
        return string_set([value] if isinstance(value, str) else value)
    if target.compare == "scopes":
        return string_set(value)
    if target.compare == "refs":
        return string_set(value)
    return canonical(target, value)


def encode(target: Target, value: Any, realm: str) -> Any:
    """The value written to the remote for a desired manifest-level ``value``."""
    if target.compare == "one":
        return [] if value in (None, "") else [value]
    if target.compare == "set":
        return list(value or [])
    if target.compare == "refs":
        collection = target.collection.format(realm=realm)
        return [make_ref(collection, i) for i in sorted(value or [])]
    if target.compare == "scopes":
        return [{"type": "scopes", "values": sorted(set(value or []))}]
    return value


def display(target: Target, canon: Any) -> Any:
    """A canonical value in manifest terms for plan output (``one`` shows the single string)."""
    if target.compare == "one":
        if not canon:
            return None
        return canon[0] if len(canon) == 1 else canon
    return canon


def scope_values(permissions: Any) -> list[str]:
    """The set of scope values in a privilege's ``permissions`` (``type == scopes`` entries)."""
    values: set[str] = set()
    if isinstance(permissions, list):
        for item in permissions:
            if isinstance(item, Mapping) and item.get("type", "scopes") == "scopes":
                values.update(string_set(item.get("values")))
    return sorted(values)


def differing_targets(field: Field, desired: Any, docs: Mapping[str, Any]) -> list[tuple[Target, Any, Any]]:
    """``(target, before canonical, after canonical)`` for each target of ``field`` that differs.

    ``docs`` maps a remote (``am``/``idm``) to its observed document; a missing document (object not
    there yet) compares as all-unset.
    """
    out = []
    for target in field.targets:
        raw = get_path(docs.get(target.remote), target.path)
        if equal_as_is(target.compare, raw, desired):
            continue
        before = canonical(target, raw)
        after = desired_canonical(target, desired)
        if before != after:
            out.append((target, before, after))
    return out


def equal_as_is(compare: Compare, raw: Any, desired: Any) -> bool:
    """True when a remote value and a desired value that are equal as they are (the usual case: nothing
    to change) are therefore equal canonically, without building the canonical forms; False says
    nothing (compare canonically).

    ``scalar``: unset forms are unset on both sides alike. ``set``: equal lists of strings give the same
    sorted set. ``one``: the one-element list holding the desired string (or an equal list of strings).
    ``refs`` and ``scopes``: nothing on either side; ``scopes`` also one ``scopes`` entry whose values are
    the desired list of strings.
    """
    if compare == "scalar":
        return bool(raw == desired)
    if type(raw) is not list:
        return compare in ("refs", "scopes") and (desired is None or (type(desired) is list and not desired))
    if compare == "set" or compare == "one":
        if compare == "one" and type(desired) is str:
            return len(raw) == 1 and raw[0] == desired
        return type(desired) is list and raw == desired and all(type(v) is str for v in raw)
    if type(desired) is not list:
        return False
    if not raw:
        return not desired
    if compare == "scopes" and len(raw) == 1 and type(raw[0]) is dict and raw[0].get("type", "scopes") == "scopes":
        values = raw[0].get("values")
        return type(values) is list and values == desired and all(type(v) is str for v in values)
    return False


def idm_patch_ops(
    fields: tuple[Field, ...], desired: Mapping[str, Any], current: Mapping[str, Any] | None, realm: str
) -> list[dict[str, Any]]:
    """PATCH ``replace`` operations for the managed IDM fields of ``current`` that differ."""
    ops: list[dict[str, Any]] = []
    for fld in fields:
        if fld.sensitive or fld.name not in desired:
            continue
        for target, _, _ in differing_targets(fld, desired[fld.name], {"idm": current}):
            if target.remote == "idm":
                ops.append(
                    {
                        "operation": "replace",
                        "field": "/" + "/".join(target.path),
                        "value": encode(target, desired[fld.name], realm),
                    }
                )
    return ops
