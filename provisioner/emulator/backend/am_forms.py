"""AM agent representations (reference §4.3, §6.6, §12 W1/W9): wrapped single form, plain list form,
body parsing (wrapped, plain or mixed), §4.7 defaults, and the content-derived ``_rev``."""

from __future__ import annotations

import copy
import json
import zlib
from functools import lru_cache
from typing import Any

from ..errors import BadRequest, InvalidAttribute
from .idm_types import load_json

GROUPS = (
    "overrideOAuth2ClientConfig",
    "advancedOAuth2ClientConfig",
    "signEncOAuth2ClientConfig",
    "coreOAuth2ClientConfig",
    "coreOpenIDClientConfig",
    "coreUmaClientConfig",
)
PLAIN_GROUP = "overrideOAuth2ClientConfig"  # never wrapped
CORE = "coreOAuth2ClientConfig"
IDENTITY_ATTRS, IDENTITY_UID = "aiAgentIdentityAttributes", "aiAgentIdentityUid"
AGENT_TYPES = {
    "OAuth2Client": {"_id": "OAuth2Client", "name": "OAuth2 Clients", "collection": True},
    "AIAgent": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
}
# W11: every agent type in the recorded order.
ALL_TYPES = (
    ("WebAgent", "Web Agents"),
    ("J2EEAgent", "J2EE Agents"),
    ("2.2_Agent", "Version 2.2 Agents"),
    ("OAuth2Client", "OAuth2 Clients"),
    ("SharedAgent", "Shared Agents"),
    ("RemoteConsentAgent", "OAuth2 Remote Consent Service"),
    ("SoftwarePublisher", "OAuth2 Software Publisher"),
    ("IdentityGatewayAgent", "Identity Gateway Agents"),
    ("TrustedJwtIssuer", "OAuth2 Trusted JWT Issuer"),
    ("AIAgent", "AI Agents"),
)
# W9/R1/R2: stored attributes that only list items show, as null while unset. A create stores them
# unset; a PUT on an existing agent stores exactly the ones its body carries (null or ""), like every
# other attribute. ``userpassword`` is not one of them: it shows as null on an OAuth2Client without a
# secret, never on an AIAgent.
LIST_ONLY = {
    PLAIN_GROUP: ("oidcClaimsClass", "customLoginUrlTemplate", "accessTokenModifierClass"),
    CORE: ("agentgroup",),
}
# W12/R4: defaults the 2026-07 tenant added; ``am.tenantVersion=2026-05`` leaves them out.
NEWER_DEFAULTS = {
    "2026-07": {
        "advancedOAuth2ClientConfig": ("tlsCaSecretLabelIdentifier",),
        PLAIN_GROUP: ("tlsClientCertificateChainValidationEnabled", "useTokenIntrospectionClaimForJWT"),
    }
}
TENANT_VERSIONS = ("2026-05", "2026-07")


def jcopy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars), several times faster than ``copy.deepcopy``
    (a fifth of the emulator's CPU per write went to deep copies); anything else is deep-copied."""
    if isinstance(value, dict):
        return {k: jcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jcopy(v) for v in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    return copy.deepcopy(value)


def rev_of(representation: dict[str, Any]) -> str:
    """Signed 32-bit hash of the canonical JSON of a representation without ``_id``/``_rev`` (§3.5)."""
    body = {k: v for k, v in representation.items() if k not in ("_id", "_rev")}
    value = zlib.crc32(json.dumps(body, sort_keys=True, separators=(",", ":"), check_circular=False).encode())
    return str(value - (1 << 32) if value >= 1 << 31 else value)


def unwrap(value: Any) -> Any:
    """``{"inherited":x,"value":v}`` → ``v``; ``{"inherited":x}`` → ``None``; anything else as is."""
    if isinstance(value, dict) and value and set(value) <= {"inherited", "value"}:
        return jcopy(value.get("value"))
    return jcopy(value)


def _unwrap_owned(value: Any) -> Any:
    """:func:`unwrap` without the copy, for a value the caller owns (a request body parsed for it)."""
    if isinstance(value, dict) and value and set(value) <= {"inherited", "value"}:
        return value.get("value")
    return value


def wrap(value: Any) -> dict[str, Any]:
    return {"inherited": False} if value is None else {"inherited": False, "value": jcopy(value)}


@lru_cache(maxsize=1)
def _defaults_text() -> str:
    recorded = load_json("aiagent-defaults.json")
    return json.dumps({g: {k: unwrap(v) for k, v in recorded[g].items()} for g in GROUPS})


def defaults(version: str = TENANT_VERSIONS[-1]) -> dict[str, dict[str, Any]]:
    """The six groups with the §4.7 defaults (plain) of tenant ``version``, from the recorded
    bare-create AIAgent of the newest tenant."""
    groups: dict[str, dict[str, Any]] = json.loads(_defaults_text())
    for newer, added in NEWER_DEFAULTS.items():
        if version < newer:
            for group, keys in added.items():
                for key in keys:
                    groups[group].pop(key, None)
    return groups


def list_only_defaults() -> dict[str, list[str]]:
    """The list-only attributes a create stores unset."""
    return {group: list(keys) for group, keys in LIST_ONLY.items()}


def parse_body(body: Any, kind: str, top_level_secret: bool) -> dict[str, Any]:
    """A PUT body as ``{"groups": {...plain...}, "secret": str|None, "identity": dict|None, "uid": str|None,
    "listOnly": {group: [unset list-only attributes the body carries]}}``.

    Wrapped, plain and mixed fields are accepted and ``inherited`` ignored; ``_id``, ``_rev``, ``_type``,
    ``_provider`` and ``*-encrypted`` keys are dropped; other unknown top-level keys are a 400. ``body``
    is the request's freshly parsed JSON: its values are taken over, not copied."""
    unwrap = _unwrap_owned
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    groups: dict[str, dict[str, Any]] = {}
    list_only: dict[str, list[str]] = {}
    secret: str | None = None
    identity: dict[str, Any] | None = None
    uid: str | None = None
    valid = list(GROUPS) + ([IDENTITY_ATTRS, IDENTITY_UID] if kind == "AIAgent" else [])
    for key, value in body.items():
        if key.startswith("_") or key.endswith("-encrypted"):
            continue
        if key == "userpassword" and top_level_secret:
            secret = unwrap(value) if isinstance(unwrap(value), str) else secret
        elif key in GROUPS:
            if not isinstance(value, dict):
                raise BadRequest(f"Invalid value for {key}: expected an object")
            group = {k: unwrap(v) for k, v in value.items() if not k.endswith("-encrypted")}
            if key == CORE:
                given = group.pop("userpassword", None)
                if isinstance(given, str) and given:
                    secret = given
            for name in LIST_ONLY.get(key, ()):
                if name in group and group[name] in (None, ""):
                    del group[name]
                    list_only.setdefault(key, []).append(name)
            group.pop("agentgroup", None)  # agent groups are not offered in AIC (§4.3)
            groups[key] = group
        elif key == IDENTITY_ATTRS:
            attrs = unwrap(value)
            identity = attrs if isinstance(attrs, dict) else None
        elif key == IDENTITY_UID:
            value = unwrap(value)
            uid = value if isinstance(value, str) and value else None
        else:
            raise InvalidAttribute(detail={"validAttributes": valid})
    return {"groups": groups, "secret": secret, "identity": identity, "uid": uid, "listOnly": list_only}


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` merged into a copy of ``base`` (mappings recursively, anything else replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = jcopy(base)
        _merge_into(merged, over)
        return merged
    return jcopy(over)


def merge_owned(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base`` in place, both owned by the caller (nothing is copied)."""
    for key, value in over.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge_owned(current, value)
        else:
            base[key] = value
    return base


def _merge_into(target: dict[str, Any], over: dict[str, Any]) -> None:
    # In place on the one copy deep_merge made (copying again at every level was quadratic in depth).
    for key, value in over.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge_into(current, value)
        else:
            target[key] = jcopy(value)


def _wrap_owned(value: Any) -> dict[str, Any]:
    return {"inherited": False} if value is None else {"inherited": False, "value": value}


def render_single(client_id: str, kind: str, record: dict[str, Any], *, owned: bool = False) -> dict[str, Any]:
    """Wrapped form (single GET, PUT echo, DELETE); never ``userpassword``.

    ``owned``: the caller hands over ``record`` (used for nothing else): no deep copies.
    """
    dup: Any = (lambda value: value) if owned else jcopy
    wrapped = _wrap_owned if owned else wrap
    out: dict[str, Any] = {"_id": client_id, "_rev": ""}
    for group in GROUPS:
        if group in record["config"]:
            values = record["config"][group]
            out[group] = dup(values) if group == PLAIN_GROUP else {k: wrapped(v) for k, v in values.items()}
    if kind == "AIAgent":
        if record.get("identity") is not None:
            out[IDENTITY_ATTRS] = wrapped(record["identity"])
        if record.get("uid") is not None:
            out[IDENTITY_UID] = wrapped(record["uid"])
    out["_type"] = dict(AGENT_TYPES[kind])
    out["_rev"] = rev_of(out)
    return out


def render_plain(
    client_id: str, kind: str, record: dict[str, Any], with_type: bool, *, owned: bool = False
) -> dict[str, Any]:
    """Plain list/query item: unset → ``null``, the stored list-only attributes as ``null`` (W9, R1, R2),
    ``userpassword: null`` on an OAuth2Client without a secret, plain identity fields.

    ``owned``: the caller hands over ``record`` (freshly read, used for nothing else), so its values
    are taken without a deep copy (copying every list item was most of a list's cost).
    """
    dup: Any = (lambda value: value) if owned else jcopy
    out: dict[str, Any] = {"_id": client_id, "_rev": ""}
    list_only = record.get("listOnly")
    if list_only is None:  # stored before list-only attributes were tracked: as created
        list_only = list_only_defaults()
    for group in GROUPS:
        if group in record["config"]:
            values = dup(record["config"][group])
            for extra in list_only.get(group, ()):
                values.setdefault(extra, None)
            if group == CORE and kind == "OAuth2Client" and not record.get("secret"):
                values.setdefault("userpassword", None)
            out[group] = values
    if kind == "AIAgent":
        if record.get("identity") is not None:
            out[IDENTITY_ATTRS] = dup(record["identity"])
        if record.get("uid") is not None:
            out[IDENTITY_UID] = record["uid"]
    if with_type:
        out["_type"] = dict(AGENT_TYPES[kind])
    out["_rev"] = rev_of(out)
    return out
