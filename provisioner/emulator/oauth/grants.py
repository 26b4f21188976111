"""The plain grants: ``client_credentials`` (reference §8.2) and ``password`` (end-user subject tokens).

Each takes an authenticated client that is allowed the grant and returns the :class:`Grant` to mint.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from . import errors
from .model import Client, Provider, TenantView
from .tokens import Grant

CLIENT_CREDENTIALS = "client_credentials"
PASSWORD = "password"


def requested_scopes(form: Mapping[str, str]) -> list[str]:
    """The ``scope`` parameter as an ordered list without duplicates (empty when absent)."""
    scopes: list[str] = []
    for scope in (form.get("scope") or "").split():
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def validate_scopes(client: Client, requested: Sequence[str]) -> tuple[str, ...]:
    """AM's default scope validator: requested ⊆ client ``scopes``; none requested → ``defaultScopes``."""
    if requested:
        unknown = [scope for scope in requested if scope not in client.scopes]
        if unknown:
            raise errors.invalid_scope(unknown)
        return tuple(requested)
    if not client.default_scopes:
        raise errors.no_scope()
    return tuple(client.default_scopes)


def client_credentials(client: Client, provider: Provider, form: Mapping[str, str]) -> Grant:
    """The client acts for itself: ``sub`` = ``aud`` (a string) = the client id."""
    scopes = validate_scopes(client, requested_scopes(form))
    return Grant(
        sub=client.client_id,
        client_id=client.client_id,
        scopes=scopes,
        grant_type=CLIENT_CREDENTIALS,
        aud=client.client_id,
        lifetime=client.access_token_lifetime(provider),
    )


def password(
    view: TenantView, realm: str, client: Client, provider: Provider, form: Mapping[str, str], now: int
) -> Grant:
    """Resource-owner password grant for a seeded user: ``sub`` = the user's IDM ``_id``."""
    for name in ("username", "password"):
        if not form.get(name):
            raise errors.missing_parameter(name)
    user = view.user_by_username(realm, form["username"])
    if user is None or not _password_matches(user, form["password"]) or not _active(user):
        raise errors.invalid_grant("Authentication failed")
    scopes = validate_scopes(client, requested_scopes(form))
    return Grant(
        sub=str(user["_id"]),
        client_id=client.client_id,
        scopes=scopes,
        grant_type=PASSWORD,
        aud=client.client_id,
        lifetime=client.access_token_lifetime(provider),
        auth_level=0,
        auth_time=now,
    )


def _password_matches(user: Mapping[str, Any], given: str) -> bool:
    stored = user.get("password")
    return isinstance(stored, str) and hmac.compare_digest(stored.encode(), given.encode())


def _active(user: Mapping[str, Any]) -> bool:
    return str(user.get("accountStatus") or "active").lower() == "active"
