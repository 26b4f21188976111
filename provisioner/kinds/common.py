"""Normalisation helpers shared by every kind (reference §4.9), markers and deterministic ids.

Everything here is pure: it turns the shapes the tenant returns (wrapped or plain AM documents, IDM
records with relationship refs) into canonical, comparable JSON values, and back.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from provisioner.client.wrapping import unwrap

#: Namespace for the deterministic ids this tool chooses (IDM app records, privileges, identities).
NAMESPACE = uuid.UUID("5b0c8f0e-6a43-4d0c-9a57-3a7f1c2d9e41")

#: ``advancedOAuth2ClientConfig.customProperties`` entry keys this tool owns.
STACK_PROPERTY = "provisioner.stack"
SECRET_PROPERTY = "provisioner.secretHash"

#: Keys AM list items carry that single GETs lack (reference §12 W9), dropped before a write.
_LIST_EXTRAS: dict[str, tuple[str, ...]] = {
    "overrideOAuth2ClientConfig": ("oidcClaimsClass", "customLoginUrlTemplate", "accessTokenModifierClass"),
    "coreOAuth2ClientConfig": ("agentgroup", "userpassword"),
}
_SERVER_KEYS = ("_id", "_rev", "_provider")


def deterministic_id(*parts: str) -> str:
    """``uuid5(NAMESPACE, "a|b|c")`` as a string: the same inputs always give the same id."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def is_unset(value: Any) -> bool:
    """``None``, ``"[Empty]"`` and ``""`` mean "not set"."""
    return value is None or value == "[Empty]" or value == ""


def scalar(value: Any) -> Any:
    """Canonical scalar: unset forms become ``None``."""
    return None if is_unset(value) else value


def string_set(value: Any) -> list[str]:
    """Canonical set of strings: sorted, unique, without empty members; unset → ``[]``."""
    if is_unset(value):
        return []
    if type(value) is list and all(type(v) is str for v in value):  # the usual case: no conversions
        return sorted({v for v in value if v != "" and v != "[Empty]"})
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return [str(value)]
    return sorted({str(v) for v in value if not is_unset(v)})


def indexed_strings(value: Any) -> list[tuple[int, str]]:
    """(index, item) for the string items of a manifest list (indexes as written; not a list: none)."""
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def get_path(doc: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    """The value at ``path`` in a nested mapping, or ``None`` when any step is missing."""
    node: Any = doc
    for key in path:
        # dict first: an ABC isinstance check costs ~1 µs and this runs for every field of every object
        if not (type(node) is dict or isinstance(node, Mapping)) or key not in node:
            return None
        node = node[key]
    return node


def set_path(doc: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``path`` in a nested dict, creating intermediate objects as needed."""
    node = doc
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def ref_id(ref: Any) -> str | None:
    """The object id a relationship value points at (``_refResourceId`` or the last ``_ref`` segment)."""
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1] or None
    if not isinstance(ref, Mapping):
        return None
    if ref.get("_refResourceId"):
        return str(ref["_refResourceId"])
    target = ref.get("_ref")
    if isinstance(target, str) and "/" in target:
        return target.rsplit("/", 1)[-1]
    return None


def resource_id(privilege: Mapping[str, Any]) -> str | None:
    """The IDM id of the application a privilege points at: its ``resource`` reference, else the
    reference's flattening ``resourceData`` (a plan reads privileges without the references)."""
    return ref_id(privilege.get("resource")) or ref_id(privilege.get("resourceData"))


def ref_ids(refs: Any) -> list[str]:
    """Sorted unique ids of a relationship list (compared by target only, never by ``_refProperties``)."""
    if not isinstance(refs, list):
        return []
    return sorted({i for i in (ref_id(r) for r in refs) if i})


def make_ref(collection: str, object_id: str) -> dict[str, str]:
    """The full relationship value IDM documents (reference §7.3)."""
    return {"_ref": f"{collection}/{object_id}", "_refResourceCollection": collection, "_refResourceId": object_id}


def properties(doc: Mapping[str, Any] | None) -> list[str]:
    """The ``advancedOAuth2ClientConfig.customProperties`` entries (plain form) as strings."""
    value = get_path(doc, _PROPERTIES_PATH)
    if type(value) is not list or not all(type(v) is str for v in value):  # the list form needs nothing
        value = unwrap(value)
        if not isinstance(value, list):
            return []
    return [str(v) for v in value if isinstance(v, str)]


_PROPERTIES_PATH = ("advancedOAuth2ClientConfig", "customProperties")


def property_value(doc: Mapping[str, Any] | None, key: str) -> str | None:
    """The value of the ``key=value`` custom property ``key``, or ``None``."""
    prefix = key + "="
    entries: list[str] = get_path(doc, _PROPERTIES_PATH)
    if type(entries) is not list or not all(type(v) is str for v in entries):  # else the plain list form
        entries = properties(doc)
    for entry in entries:
        if entry.startswith(prefix):
            return entry[len(prefix) :]
    return None


def with_property(entries: Iterable[str], key: str, value: str | None) -> list[str]:
    """``entries`` with ``key=value`` replaced in place (or appended); ``None`` removes it.

    Entries owned by others keep their position and bytes.
    """
    prefix = key + "="
    out: list[str] = []
    placed = False
    for entry in entries:
        if entry.startswith(prefix):
            if value is not None and not placed:
                out.append(prefix + value)
                placed = True
            continue
        out.append(entry)
    if value is not None and not placed:
        out.append(prefix + value)
    return out


def writable_client_doc(observed: Mapping[str, Any]) -> dict[str, Any]:
    """A deep, plain copy of an observed AM client/agent document fit for a whole-document PUT.

    Drops ``_id``/``_rev``/``_provider``, ``*-encrypted`` keys, the null-only list extras (W9) and the
    IDM ``_rev`` echoed inside ``aiAgentIdentityAttributes``; everything else is kept as read.
    """
    doc: dict[str, Any] = copy.deepcopy(unwrap(dict(observed)))
    for key in _SERVER_KEYS:
        doc.pop(key, None)
    for key in [k for k in doc if k.endswith("-encrypted")]:
        doc.pop(key)
    for group, extras in _LIST_EXTRAS.items():
        section = doc.get(group)
        if isinstance(section, dict):
            for key in extras:
                if key in section and section[key] is None:
                    section.pop(key)
            for key in [k for k in section if k.endswith("-encrypted")]:
                section.pop(key)
            section.pop("userpassword", None)
    attrs = doc.get("aiAgentIdentityAttributes")
    if isinstance(attrs, dict):
        attrs.pop("_rev", None)
    return doc
