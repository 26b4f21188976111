"""What Applications and AI agents share: the AM OAuth2 client fields and document building.

Creates start from the documented defaults (the six groups, ``data/client-defaults.json``) plus the
kind's template defaults; updates are read-modify-write of the server's whole document, changing only
the managed paths, so fields owned by anyone else survive byte for byte.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from provisioner.kinds.common import (
    SECRET_PROPERTY,
    STACK_PROPERTY,
    get_path,
    properties,
    property_value,
    set_path,
    with_property,
    writable_client_doc,
)
from provisioner.kinds.fields import Field, Target, differing_targets, encode
from provisioner.kinds.spec import SnapshotRead

CLIENT_FIELDS: tuple[Field, ...] = (
    Field("scopes", (Target("am", ("coreOAuth2ClientConfig", "scopes"), "set"),)),
    Field("defaultScopes", (Target("am", ("coreOAuth2ClientConfig", "defaultScopes"), "set"),)),
    Field("grantTypes", (Target("am", ("advancedOAuth2ClientConfig", "grantTypes"), "set"),)),
    Field("tokenEndpointAuthMethod", (Target("am", ("advancedOAuth2ClientConfig", "tokenEndpointAuthMethod")),)),
    Field("redirectUris", (Target("am", ("coreOAuth2ClientConfig", "redirectionUris"), "set"),)),
    Field("accessTokenLifetime", (Target("am", ("coreOAuth2ClientConfig", "accessTokenLifetime")),)),
    Field("clientType", (Target("am", ("coreOAuth2ClientConfig", "clientType")),)),
)
SECRET_FIELD = Field("clientSecret", (Target("am", ("coreOAuth2ClientConfig", "userpassword")),), sensitive=True)
OWNERS_TARGET = Target("idm", ("owners",), "refs", "managed/{realm}_user")


@lru_cache(maxsize=1)
def _defaults_text() -> str:
    # read beside this module, without importlib.resources (its import costs ~12 ms of start-up)
    from pathlib import Path

    return (Path(__file__).parent / "data" / "client-defaults.json").read_text("utf-8")


def client_defaults() -> dict[str, Any]:
    """A fresh copy of the six default groups (plain form, reference §4.7)."""
    defaults: dict[str, Any] = json.loads(_defaults_text())
    return defaults


def secret_marker(doc: Mapping[str, Any] | None) -> str | None:
    """The secret-hash marker stored on an observed client, if any."""
    return property_value(doc, SECRET_PROPERTY)


def stack_of(doc: Mapping[str, Any] | None) -> str | None:
    """The stack that created an observed client (its ``provisioner.stack`` marker), if any."""
    return property_value(doc, STACK_PROPERTY)


def apply_am_fields(
    doc: dict[str, Any], fields: tuple[Field, ...], desired: Mapping[str, Any], realm: str, *, force: bool = False
) -> bool:
    """Set the managed AM paths of ``doc`` to their desired values; True when something changed.

    Only targets whose canonical value differs are written (``force`` writes every managed target, for
    creates), so a set that is equal keeps the server's order.
    """
    changed = False
    for fld in fields:
        if fld.sensitive or fld.name not in desired:
            continue
        value = desired[fld.name]
        if force:
            targets = [t for t in fld.targets if t.remote == "am"]
        else:
            targets = [t for t, _, _ in differing_targets(fld, value, {"am": doc}) if t.remote == "am"]
        for target in targets:
            set_path(doc, target.path, encode(target, value, realm))
            changed = True
    return changed


def set_markers(doc: dict[str, Any], *, stack: str | None = None, secret_hash: str | None = None) -> None:
    """Write this tool's custom properties, leaving every other entry where it is."""
    entries = properties(doc)
    if stack is not None:
        entries = with_property(entries, STACK_PROPERTY, stack)
    if secret_hash is not None:
        entries = with_property(entries, SECRET_PROPERTY, secret_hash)
    set_path(doc, ("advancedOAuth2ClientConfig", "customProperties"), entries)


def create_document(
    template: Mapping[str, Any],
    fields: tuple[Field, ...],
    desired: Mapping[str, Any],
    realm: str,
    *,
    stack: str,
    secret: str | None,
    secret_hash: str | None,
) -> dict[str, Any]:
    """A full create body: defaults, then template defaults, then the managed values and markers."""
    doc = client_defaults()
    for dotted, value in template.items():
        set_path(doc, tuple(dotted.split(".")), copy.deepcopy(value))
    apply_am_fields(doc, fields, desired, realm, force=True)
    set_markers(doc, stack=stack, secret_hash=secret_hash)
    if secret is not None:
        doc["coreOAuth2ClientConfig"]["userpassword"] = secret
    return doc


def update_document(
    current: Mapping[str, Any],
    fields: tuple[Field, ...],
    desired: Mapping[str, Any],
    realm: str,
    *,
    secret: str | None = None,
    secret_hash: str | None = None,
    stack: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Read-modify-write: the server's document with only the managed paths changed.

    Returns ``(body, changed)``; ``secret`` (when given) is included and forces a write; ``secret_hash``
    alone is set on the body but does not make it ``changed``. ``stack``: this stack's marker is written
    on the body; replacing another stack's marker (a take-over) forces a write, marking an object that
    had none (adopted) does not.
    """
    doc = writable_client_doc(current)
    changed = apply_am_fields(doc, fields, desired, realm)
    owner = stack_of(current)
    if stack is not None and owner != stack:
        set_markers(doc, stack=stack)
        changed = changed or owner is not None
    if secret_hash is not None:  # with the secret, or alone to rewrite an older marker form (no forced write)
        set_markers(doc, secret_hash=secret_hash)
    if secret is not None:
        doc.setdefault("coreOAuth2ClientConfig", {})["userpassword"] = secret
        changed = True
    return doc, changed


def am_differs(current: Mapping[str, Any] | None, fields: tuple[Field, ...], desired: Mapping[str, Any]) -> bool:
    """True when any managed AM field of ``current`` differs from ``desired``."""
    for fld in fields:
        if fld.sensitive or fld.name not in desired:
            continue
        if any(t.remote == "am" for t, _, _ in differing_targets(fld, desired[fld.name], {"am": current})):
            return True
    return False


def plan_fields(fields: tuple[Field, ...], *extra: str) -> tuple[str, ...]:
    """The CREST ``_fields`` pointers a plan needs of a listed AM client: its id and revision, this tool's
    markers (``customProperties``), every managed AM path of ``fields`` (secrets excepted: AM never
    returns them), then ``extra``. A plan reads these; apply's writes re-read whole documents."""
    out = ["_id", "_rev", "advancedOAuth2ClientConfig/customProperties"]
    for fld in fields:
        if not fld.sensitive:
            out.extend("/".join(t.path) for t in fld.targets if t.remote == "am")
    out.extend(extra)
    return tuple(dict.fromkeys(out))


def am_list_read(name: str, am_kind: str, fields: tuple[str, ...], optional: bool = False) -> SnapshotRead:
    """The snapshot read of an AM client collection: whole documents, and for plans only ``fields``."""
    return SnapshotRead(
        name,
        lambda client, realm: client.am(realm).list(am_kind),
        optional=optional,
        plan_read=lambda client, realm: client.am(realm).list(am_kind, fields),
    )


def client_rev(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{"id", "rev"}`` of an observed AM client in list form (``None`` when absent)."""
    if doc is None:
        return None
    return {"id": str(doc.get("_id")), "rev": str(doc.get("_rev")) if doc.get("_rev") is not None else None}


def idm_rev(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{"id", "rev"}`` of an observed IDM record (``None`` when absent)."""
    if doc is None:
        return None
    return {"id": str(doc.get("_id")), "rev": str(doc.get("_rev")) if doc.get("_rev") is not None else None}


__all__ = [
    "CLIENT_FIELDS",
    "SECRET_FIELD",
    "OWNERS_TARGET",
    "client_defaults",
    "plan_fields",
    "am_list_read",
    "secret_marker",
    "stack_of",
    "apply_am_fields",
    "set_markers",
    "create_document",
    "update_document",
    "am_differs",
    "client_rev",
    "idm_rev",
    "get_path",
]
