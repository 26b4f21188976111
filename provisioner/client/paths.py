"""URL paths and the ONE helper that quotes path parameters.

Every variable part of a path (realm, client id, UUID, object type) goes through :func:`quote`;
literal segments are written by endpoint code. Paths are returned relative to the tenant origin and
already quoted; ``requests`` leaves valid percent-escapes alone.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote as _urlquote

AM_JSON = "/am/json"
IDM = "/openidm"
SA_TOKEN_PATH = "/am/oauth2/access_token"

#: ``Accept-API-Version`` values (reference §1, §3.1, §6.2). IDM and ``/environment`` take none.
AM_CONFIG_VERSION = "protocol=2.1,resource=1.0"
AIAGENT_VERSION = "protocol=2.1,resource=2.0"

_AIAGENT_PATH = re.compile(r"^/am/json/realms/(?:[^/?]+/)*?realm-config/agents/AIAgent(?:[/?]|$)")


def quote(value: str | int) -> str:
    """Quote one path parameter: every reserved character, including ``/``, is percent-encoded.

    Empty values and the dot segments ``.``/``..`` are refused: they would change the path's meaning.
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"invalid path parameter {text!r}")
    return _urlquote(text, safe="-._~")


def join(*parts: str | int) -> str:
    """``/`` followed by the quoted parts (``join("openidm", "managed", "x y")`` → ``/openidm/managed/x%20y``)."""
    return "/" + "/".join(quote(p) for p in parts)


def realm_parts(realm: str) -> list[str]:
    """``alpha`` → ``["alpha"]``; ``/alpha/sub`` → ``["alpha", "sub"]``; ``root`` or ``/`` → ``[]``."""
    parts = [p for p in realm.strip().split("/") if p]
    if parts and parts[0] == "root":
        parts = parts[1:]
    return parts


def am_realm(realm: str) -> str:
    """``/am/json/realms/root/realms/<realm>`` (nested realms repeat ``/realms/<name>``)."""
    return AM_JSON + "/realms/root" + "".join(f"/realms/{quote(p)}" for p in realm_parts(realm))


def am(realm: str, *segments: str) -> str:
    """An AM realm path: ``am("alpha", "realm-config", "agents", kind, client_id)``."""
    return am_realm(realm) + ("/" + "/".join(quote(s) for s in segments) if segments else "")


def oauth(realm: str, *segments: str) -> str:
    """A realm OAuth2 endpoint path: ``/am/oauth2/realms/root/realms/<realm>/<segments>``."""
    base = "/am/oauth2/realms/root" + "".join(f"/realms/{quote(p)}" for p in realm_parts(realm))
    return base + ("/" + "/".join(quote(s) for s in segments) if segments else "")


def idm(*segments: str) -> str:
    """An IDM path: ``idm("managed", "alpha_aiagent", uuid)`` → ``/openidm/managed/alpha_aiagent/<uuid>``."""
    return IDM + ("/" + "/".join(quote(s) for s in segments) if segments else "")


def managed(object_type: str, *segments: str) -> str:
    """``/openidm/managed/<type>/...``; ``object_type`` may be given as ``managed/<type>``."""
    name = object_type[len("managed/") :] if object_type.startswith("managed/") else object_type
    return idm("managed", name, *segments)


def api_version(path: str) -> str | None:
    """The ``Accept-API-Version`` an endpoint needs: AIAgent 2.0, other AM JSON 1.0, else none."""
    if _AIAGENT_PATH.match(path):
        return AIAGENT_VERSION
    if path == AM_JSON or path.startswith(AM_JSON + "/"):
        return AM_CONFIG_VERSION
    return None


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (brackets allowed)."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
