"""Grant-type strings: the AM values and the short aliases manifests may use."""

from __future__ import annotations

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
PASSWORD = "password"

#: alias -> AM value. Every AM value is also accepted as itself.
ALIASES: dict[str, str] = {
    "authorization_code": "authorization_code",
    "implicit": "implicit",
    "password": PASSWORD,
    "client_credentials": CLIENT_CREDENTIALS,
    "refresh_token": "refresh_token",
    "device_code": "urn:ietf:params:oauth:grant-type:device_code",
    "saml2_bearer": "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "uma_ticket": "urn:ietf:params:oauth:grant-type:uma-ticket",
    "jwt_bearer": JWT_BEARER,
    "ciba": "urn:openid:params:grant-type:ciba",
    "token_exchange": TOKEN_EXCHANGE,
}

AM_VALUES = frozenset(ALIASES.values())
_REVERSE = {v: k for k, v in ALIASES.items()}


def canonical(name: str) -> str | None:
    """The AM value for an alias or an AM value; None when unknown."""
    if name in AM_VALUES:
        return name
    return ALIASES.get(name)


def alias(value: str) -> str:
    """The short alias for an AM value (the value itself when it has none)."""
    return _REVERSE.get(value, value)
