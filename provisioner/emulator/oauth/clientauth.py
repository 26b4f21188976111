"""Client authentication at the token and introspection endpoints (reference §8.1).

``client_secret_basic`` sends ``Authorization: Basic base64(id:secret)``; ``client_secret_post`` sends
``client_id`` + ``client_secret`` in the form; ``none`` sends only ``client_id`` (public clients).
By default the method used must be the client's ``tokenEndpointAuthMethod`` (switch
``token.enforceAuthMethod``). Every failure is the same ``invalid_client`` error.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from . import errors
from .model import Client, TenantView

BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"


@dataclass(frozen=True)
class Credentials:
    """What the request presented: client id, secret (if any) and the method it used."""

    client_id: str
    secret: str | None
    method: str


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def presented(form: Mapping[str, str], headers: Mapping[str, str]) -> Credentials | None:
    """The credentials in the request, or ``None`` when it names no client at all."""
    authorization = header(headers, "Authorization") or ""
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        if not sep or (form.get("client_id") and form["client_id"] != unquote_plus(client_id)):
            return None
        # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
        return Credentials(unquote_plus(client_id), unquote_plus(secret), BASIC)
    posted_id = form.get("client_id")
    if not posted_id:
        return None
    if form.get("client_secret") is not None:
        return Credentials(posted_id, form["client_secret"], POST)
    return Credentials(posted_id, None, NONE)


def authenticate(
    view: TenantView,
    realm: str,
    form: Mapping[str, str],
    headers: Mapping[str, str],
    enforce_method: bool,
    failure_status: int = 400,
) -> Client:
    """The authenticated, active client; raises ``invalid_client`` otherwise."""
    failed = errors.invalid_client(failure_status)
    credentials = presented(form, headers)
    if credentials is None:
        raise failed
    record = view.oauth_client(realm, credentials.client_id)
    if record is None:
        raise failed
    client = Client.from_view(credentials.client_id, record)
    if (client.is_agent and not view.ai_agents_enabled()) or not client.active:
        raise failed
    expected = client.auth_method
    if expected not in (BASIC, POST, NONE):
        raise failed  # private_key_jwt, tls_client_auth: not emulated
    if enforce_method and credentials.method != expected:
        raise failed
    if credentials.method == NONE:  # a public client only; a confidential one needs its secret
        if expected != NONE:
            raise failed
        return client
    if client.secret is None or credentials.secret is None:
        raise failed
    if not hmac.compare_digest(client.secret.encode(), credentials.secret.encode()):
        raise failed
    return client
