"""The realm's runtime OAuth2 endpoints: token, tokeninfo, introspect (reference §8).

These calls act as the *runtime* clients (agents, applications, end users), never as the admin
service account: they go through the tenant client's one session and request path (retries, trace,
``--record``, size and time limits, nested realms through :func:`provisioner.client.paths.oauth`) with
``authenticate=False``, so the service-account bearer token is never sent to a runtime endpoint.

Client authentication follows the client's ``tokenEndpointAuthMethod`` (§8.1):
``client_secret_basic`` → HTTP Basic, ``client_secret_post`` → ``client_id``/``client_secret`` in the
form. Every token the tenant returns is registered with :mod:`provisioner.redact` before this module
hands it out; errors name the request and never carry a secret or a token.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from provisioner import redact
from provisioner.client import paths
from provisioner.client.errors import TenantError
from provisioner.client.response import Response
from provisioner.errors import ProvisionerError
from provisioner.grants import CLIENT_CREDENTIALS, PASSWORD, TOKEN_EXCHANGE

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
BASIC = "client_secret_basic"
POST = "client_secret_post"
_SNIPPET = 200
_DEFAULT_TIMEOUT = (5.0, 30.0)


class OAuthError(ProvisionerError):
    """A runtime OAuth endpoint refused a request, or could not be reached.

    ``status``: HTTP status (``None`` when no response arrived); ``error``: the RFC 6749 ``error`` code
    (``None`` when the body was not an OAuth error); ``error_description``: the tenant's text;
    ``request``: what was asked, e.g. ``POST .../access_token (token exchange)``. No secrets inside.
    """

    def __init__(self, request: str, *, status: int | None, error: str | None, error_description: str | None) -> None:
        self.request = redact.text(request)
        self.status = status
        self.error = error
        self.error_description = redact.text(error_description) if error_description else None
        if status is None:
            summary = f"no response: {self.error_description or 'connection failed'}"
        else:
            summary = f"{status} {error or 'error'}"
            if self.error_description:
                summary += f": {self.error_description}"
        super().__init__(f"{self.request}: {summary}")


@dataclass(frozen=True)
class TokenResponse:
    """A successful token response. ``scopes`` is the space-separated ``scope`` split into a list."""

    access_token: str = field(repr=False)
    token_type: str | None
    scopes: tuple[str, ...]
    expires_in: int | None
    issued_token_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def fingerprint(self) -> str:
        """The only printable form of the token."""
        return redact.fingerprint(self.access_token)

    def __repr__(self) -> str:
        return (
            f"TokenResponse(access_token={self.fingerprint}, token_type={self.token_type!r}, "
            f"scopes={list(self.scopes)!r}, expires_in={self.expires_in!r})"
        )


def split_scope(value: Any) -> tuple[str, ...]:
    """A ``scope`` value in either shape (space-separated string or array) as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(s for s in value.split() if s)
    if isinstance(value, (list, tuple)):
        return tuple(str(s) for s in value if s not in (None, ""))
    return (str(value),)


class _NoAdminAuth:
    """The auth of a client made only for the runtime endpoints: it never has an admin token to send."""

    def authorization(self, client: Any) -> str:
        raise ProvisionerError("the runtime OAuth endpoints send no admin token")

    def invalidate(self, authorization: str) -> bool:
        return False


class OAuthEndpoints:
    """``{base}/am/oauth2/realms/root/realms/<realm>/{access_token,tokeninfo,introspect}``.

    Construct as ``OAuthEndpoints(tenant_client, realm)`` (a :class:`~provisioner.client.session.TenantClient`:
    its session, retries, trace and limits are used, never its admin token) or ``OAuthEndpoints(base_url,
    realm)`` (a client of its own, without admin credentials; ``timeout`` and ``retry`` apply to it).
    """

    def __init__(
        self, client_or_url: Any, realm: str, *, timeout: float | tuple[float, float] | None = None, retry: Any = None
    ) -> None:
        if isinstance(client_or_url, str):
            from provisioner.client.session import TenantClient

            client_or_url = TenantClient(
                client_or_url, _NoAdminAuth(), timeout=timeout or _DEFAULT_TIMEOUT, retry=retry
            )
        self.client = client_or_url
        self.base_url = str(client_or_url.base_url).rstrip("/")
        self.realm = realm

    # -- grants -------------------------------------------------------------------------------

    def client_credentials(
        self, client_id: str, secret: str, auth_method: str | None, scope: Iterable[str] | None
    ) -> TokenResponse:
        """``grant_type=client_credentials`` (§8.2); ``scope`` empty/None → none sent (default scopes)."""
        form = {"grant_type": CLIENT_CREDENTIALS}
        _add_scope(form, scope)
        return self._token(form, client_id, secret, auth_method, "client credentials")

    def password(
        self,
        client_id: str,
        secret: str,
        auth_method: str | None,
        username: str,
        password: str,
        scope: Iterable[str] | None,
    ) -> TokenResponse:
        """Resource-owner password grant for ``username`` through the application ``client_id``."""
        redact.register(password)
        form = {"grant_type": PASSWORD, "username": username, "password": password}
        _add_scope(form, scope)
        return self._token(form, client_id, secret, auth_method, f"password grant for {username}")

    def exchange(
        self,
        client_id: str,
        secret: str,
        auth_method: str | None,
        subject_token: str,
        audience: str | None = None,
        scope: Iterable[str] | None = None,
        subject_token_type: str = ACCESS_TOKEN_TYPE,
    ) -> TokenResponse:
        """Token exchange (§8.3) acting as ``client_id``; ``audience``/``scope`` sent only when given."""
        redact.register(subject_token)
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": subject_token_type}
        if audience is not None:
            form["audience"] = audience
        _add_scope(form, scope)
        label = "token exchange" + (f" for audience {audience}" if audience is not None else " without audience")
        return self._token(form, client_id, secret, auth_method, label)

    # -- token inspection -------------------------------------------------------------------------

    def tokeninfo(self, token: str) -> dict[str, Any]:
        """``GET tokeninfo?access_token=`` (no client authentication): the claims, ``scope`` an array."""
        redact.register(token)
        path = paths.oauth(self.realm, "tokeninfo")
        request = f"GET {path}"
        response = self._send(request, "GET", path, params={"access_token": token})
        return self._json_or_raise(request, response)

    def introspect(self, client_id: str, secret: str, auth_method: str | None, token: str) -> dict[str, Any]:
        """``POST introspect`` with client authentication; ``{"active": false}`` is a normal answer."""
        redact.register(token)
        form = {"token": token}
        headers = self._client_auth(form, client_id, secret, auth_method)
        path = paths.oauth(self.realm, "introspect")
        request = f"POST {path} (as {client_id})"
        response = self._send(request, "POST", path, data=form, headers=headers)
        return self._json_or_raise(request, response)

    # -- plumbing ---------------------------------------------------------------------------------

    def _token(
        self, form: dict[str, str], client_id: str, secret: str, auth_method: str | None, label: str
    ) -> TokenResponse:
        headers = self._client_auth(form, client_id, secret, auth_method)
        path = paths.oauth(self.realm, "access_token")
        request = f"POST {path} ({label}, client {client_id})"
        response = self._send(request, "POST", path, data=form, headers=headers)
        body = self._json_or_raise(request, response)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise OAuthError(
                request,
                status=response.status,
                error="invalid_response",
                error_description="the token response has no access_token",
            )
        redact.register(
            token,
            body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None,
            body.get("id_token") if isinstance(body.get("id_token"), str) else None,
        )
        expires = body.get("expires_in")
        return TokenResponse(
            access_token=token,
            token_type=body.get("token_type"),
            scopes=split_scope(body.get("scope")),
            expires_in=int(expires) if isinstance(expires, (int, float)) else None,
            issued_token_type=body.get("issued_token_type"),
            raw=redact.data(body),
        )

    @staticmethod
    def _client_auth(form: dict[str, str], client_id: str, secret: str, auth_method: str | None) -> dict[str, str]:
        """Put the client credentials where ``auth_method`` says; returns the headers to send."""
        redact.register(secret)
        method = auth_method or BASIC
        headers = {"Accept": "application/json"}
        if method == POST:
            form["client_id"] = client_id
            form["client_secret"] = secret
            return headers
        if method == BASIC:
            # RFC 6749 §2.3.1: form-urlencode id and secret before Basic encoding.
            pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
            basic = base64.b64encode(pair).decode("ascii")
            redact.register(basic)
            headers["Authorization"] = f"Basic {basic}"
            return headers
        if method == "none":
            form["client_id"] = client_id
            return headers
        raise OAuthError(
            f"client authentication for {client_id}",
            status=None,
            error="unsupported_auth_method",
            error_description=f"tokenEndpointAuthMethod {method} is not supported by verify (use {BASIC} or {POST})",
        )

    def _send(self, request: str, method: str, path: str, **kwargs: Any) -> Response:
        try:
            return self.client.request(  # type: ignore[no-any-return]
                method,
                path,
                api_version="",
                authenticate=False,
                raise_errors=False,
                **kwargs,
            )
        except TenantError as exc:  # no response (after the client's retries): say what, not a traceback
            problem = str(exc).partition(": ")[2] or str(exc)
            raise OAuthError(
                request, status=None, error=None, error_description=f"cannot reach {self.base_url}: {problem}"
            ) from None

    @staticmethod
    def _json_or_raise(request: str, response: Response) -> dict[str, Any]:
        body = response.body
        if 200 <= response.status < 300 and isinstance(body, dict):
            return body
        if isinstance(body, Mapping) and isinstance(body.get("error"), str):
            description = body.get("error_description")
            raise OAuthError(
                request,
                status=response.status,
                error=body["error"],
                error_description=str(description) if description is not None else None,
            )
        if isinstance(body, Mapping) and body.get("message"):  # a CREST body (e.g. 401 from a proxy)
            raise OAuthError(request, status=response.status, error=None, error_description=str(body["message"]))
        text = body if isinstance(body, str) else ("" if body is None else str(body))
        snippet = " ".join(text.split())[:_SNIPPET] or None
        if 200 <= response.status < 300:
            raise OAuthError(
                request,
                status=response.status,
                error="invalid_response",
                error_description="the response is not a JSON object",
            )
        raise OAuthError(request, status=response.status, error=None, error_description=snippet)


def _add_scope(form: dict[str, str], scope: Iterable[str] | None) -> None:
    scopes = [s for s in (scope or ()) if s]
    if scopes:
        form["scope"] = " ".join(scopes)
