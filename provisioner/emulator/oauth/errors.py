"""OAuth errors (RFC 6749 §5.2 bodies) with the texts of reference §8.6, rendered in one place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Response = tuple[int, dict[str, Any], dict[str, str]]

INVALID_EXCHANGE = "Invalid token exchange."
INVALID_AUDIENCE = "Invalid audience requested."
CLIENT_AUTH_FAILED = "Client authentication failed"
INVALID_TOKEN = "Access token is either expired or invalid"
NO_SCOPE = "No scope requested and no default scope configured"


class OAuthError(Exception):
    """One failure of an OAuth endpoint: HTTP status, wire ``error`` code and ``error_description``."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """The one rendering of an error as ``(status, body, headers)``."""
        return self.status, {"error": self.error, "error_description": self.description}, dict(self.headers)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client(status: int = 400) -> OAuthError:
    """Unknown client, wrong secret, wrong auth method, inactive client (§8.6; status per §11 row 25)."""
    headers = {"WWW-Authenticate": 'Basic realm="oauth2"'} if status == 401 else {}
    return OAuthError("invalid_client", CLIENT_AUTH_FAILED, status, headers)


def unsupported_grant_type() -> OAuthError:
    return OAuthError("unsupported_grant_type", "Grant type is not supported")


def unauthorized_client() -> OAuthError:
    return OAuthError("unauthorized_client", "Client is not authorized to use the requested grant type")


def invalid_scope(scopes: Iterable[str]) -> OAuthError:
    """AM's scope validator message; the list renders like a Java collection: ``[a, b]``."""
    return OAuthError("invalid_scope", f"Unknown/invalid scope(s): [{', '.join(scopes)}]")


def no_scope() -> OAuthError:
    return OAuthError("invalid_scope", NO_SCOPE)


def invalid_grant(description: str = "Authentication failed") -> OAuthError:
    return OAuthError("invalid_grant", description)


def missing_parameter(name: str) -> OAuthError:
    return invalid_request(f"Missing parameter, '{name}'")
