"""The realm OAuth2 endpoints (reference §8): token, tokeninfo, introspect, JWKS, discovery.

Each public method takes plain request data and returns ``(status, body, headers)``; errors are
:class:`OAuthError` raised by the rules and rendered here, in one place, as RFC 6749 bodies. The HTTP
layer routes ``{base}/am/oauth2/realms/root/realms/<realm>/...`` to these methods:

| Route                                  | Method                  |
|----------------------------------------|-------------------------|
| ``POST .../access_token`` (form)       | :meth:`token`           |
| ``GET  .../tokeninfo?access_token=``   | :meth:`tokeninfo`       |
| ``POST .../introspect`` (form)         | :meth:`introspect`      |
| ``GET  .../connect/jwk_uri``           | :meth:`jwks`            |
| ``GET  .../.well-known/openid-configuration`` | :meth:`openid_configuration` |
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import errors, exchange, grants
from . import options as opt
from .clientauth import authenticate, header
from .errors import OAuthError, Response
from .model import Client, Provider, TenantView
from .options import Switches
from .tokens import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, Grant, Token, TokenIssuer, issuer

SUPPORTED_GRANTS = (grants.CLIENT_CREDENTIALS, grants.PASSWORD, TOKEN_EXCHANGE)
INTROSPECT_ALL_SCOPE = "am-introspect-all-tokens"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _realm_path(base_url: str, realm: str) -> str:
    return f"{base_url.rstrip('/')}/am/oauth2/realms/root/realms/{realm}"


class OAuthService:
    """The emulated AM OAuth2 runtime for every realm of one tenant."""

    def __init__(
        self,
        view: TenantView,
        signing_jwk: dict[str, Any],
        options: Mapping[str, object],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._view = view
        self._options = options
        self._clock = clock
        self._tokens = TokenIssuer(signing_jwk, clock)

    # -- endpoints ---------------------------------------------------------------------------------

    def token(self, realm: str, form: Mapping[str, Any], headers: Mapping[str, str], base_url: str) -> Response:
        """``POST {OAUTH}/access_token``: client_credentials, password, token exchange."""
        try:
            return self._token(realm, _single_valued(form), headers, base_url)
        except OAuthError as error:
            return error.response()

    def tokeninfo(
        self, realm: str, query: Mapping[str, str], base_url: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        """``GET {OAUTH}/tokeninfo?access_token=<t>`` (a Bearer header also works): the token's claims."""
        value = query.get("access_token") or _bearer(headers or {})
        token = self._tokens.resolve(value, realm) if self._view.realm_exists(realm) else None
        if token is None:
            status = Switches(self._options).choice(opt.TOKENINFO_ERROR_STATUS)
            extra = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else {}
            return OAuthError("invalid_request", errors.INVALID_TOKEN, status, extra).response()
        return 200, self._tokeninfo_body(token), dict(NO_STORE)

    def introspect(self, realm: str, form: Mapping[str, Any], headers: Mapping[str, str], base_url: str) -> Response:
        """``POST {OAUTH}/introspect`` (RFC 7662): client authentication required; ``active`` true/false."""
        try:
            return self._introspect(realm, _single_valued(form), headers)
        except OAuthError as error:
            return error.response()

    def jwks(self, realm: str) -> Response:
        """``GET {OAUTH}/connect/jwk_uri``: the public signing key."""
        if not self._view.realm_exists(realm):
            return _no_realm().response()
        return 200, {"keys": [dict(self._tokens.public_jwk)]}, {}

    def openid_configuration(self, realm: str, base_url: str) -> Response:
        """``GET {OAUTH}/.well-known/openid-configuration``. Token exchange is not listed even when the
        realm allows it, as reported for AM (§8.6 note)."""
        if not self._view.realm_exists(realm):
            return _no_realm().response()
        path = _realm_path(base_url, realm)
        provider = Provider(self._view.provider(realm))
        return (
            200,
            {
                "issuer": issuer(base_url, realm),
                "token_endpoint": f"{path}/access_token",
                "introspection_endpoint": f"{path}/introspect",
                "jwks_uri": f"{path}/connect/jwk_uri",
                "grant_types_supported": [g for g in provider.grant_types if g != TOKEN_EXCHANGE],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            {},
        )

    # -- token endpoint ----------------------------------------------------------------------------

    def _token(self, realm: str, form: Mapping[str, Any], headers: Mapping[str, str], base_url: str) -> Response:
        switches = Switches(self._options)
        if not self._view.realm_exists(realm):
            raise _no_realm()
        grant_type = form.get("grant_type")
        if not grant_type:
            raise errors.missing_parameter("grant_type")
        provider = Provider(self._view.provider(realm))
        # §8.4 order: realm grant type, then client authentication, then the client's grant type.
        if grant_type not in provider.grant_types or grant_type not in SUPPORTED_GRANTS:
            raise errors.unsupported_grant_type()
        client = authenticate(
            self._view,
            realm,
            form,
            headers,
            switches.flag(opt.ENFORCE_AUTH_METHOD),
            switches.choice(opt.INVALID_CLIENT_STATUS),
        )
        if grant_type not in client.grant_types:
            raise errors.unauthorized_client()
        grant = self._grant(realm, grant_type, provider, client, form, switches)
        actors = switches.may_act(client.client_id)
        if actors:  # stands in for an OAUTH2_MAY_ACT script (switch token.mayAct)
            grant = dataclasses.replace(grant, may_act={"client_id": actors})
        token = self._tokens.mint(grant, realm, issuer(base_url, realm), client.stateless(provider))
        body: dict[str, Any] = {"access_token": token.value}
        if grant_type == TOKEN_EXCHANGE:
            body.update(refresh_token=None, issued_token_type=ACCESS_TOKEN_TYPE)
        body.update(scope=grant.scope_string, token_type="Bearer", expires_in=grant.lifetime - 1)
        return 200, body, dict(NO_STORE)

    def _grant(
        self,
        realm: str,
        grant_type: str,
        provider: Provider,
        client: Client,
        form: Mapping[str, Any],
        switches: Switches,
    ) -> Grant:
        if grant_type == grants.CLIENT_CREDENTIALS:
            return grants.client_credentials(client, provider, form)
        if grant_type == grants.PASSWORD:
            return grants.password(self._view, realm, client, provider, form, self._tokens.now())
        subject = self._tokens.resolve(form.get("subject_token"), realm)
        return exchange.evaluate(self._view, realm, provider, client, form, subject, switches).grant

    # -- tokeninfo and introspect ------------------------------------------------------------------

    def _remaining(self, token: Token) -> int:
        """Seconds left, truncated like AM: a fresh 3600 s token reports 3599."""
        return max(0, math.ceil(token.claims["exp"] - self._clock()) - 1)

    def _tokeninfo_body(self, token: Token) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in token.claims.items():
            body[name] = self._remaining(token) if name == "expires_in" else value
            if name == "client_id":
                body["access_token"] = token.value
            if name == "scope":
                for scope in value:
                    body.setdefault(scope, "")
        return body

    def _introspect(self, realm: str, form: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
        switches = Switches(self._options)
        if not self._view.realm_exists(realm):
            raise _no_realm()
        client = authenticate(self._view, realm, form, headers, switches.flag(opt.ENFORCE_AUTH_METHOD), 401)
        if not form.get("token"):
            raise errors.missing_parameter("token")
        token = self._tokens.resolve(form["token"], realm)
        if token is None or not _may_introspect(client, token, switches.choice(opt.INTROSPECT_POLICY)):
            return 200, {"active": False}, dict(NO_STORE)
        return 200, self._introspection_body(token, switches.flag(opt.INTROSPECT_INCLUDE_AUD_ACT)), dict(NO_STORE)

    def _introspection_body(self, token: Token, include_aud_act: bool) -> dict[str, Any]:
        """The documented introspect shape (§8.7): scope as a string, user fields for user tokens."""
        claims = token.claims
        body: dict[str, Any] = {
            "active": True,
            "scope": " ".join(token.scopes),
            "realm": claims["realm"],
            "client_id": claims["client_id"],
        }
        if token.is_user_token:
            body.update(user_id=claims["sub"], username=claims["sub"])
        body.update(
            token_type="Bearer", exp=claims["exp"], sub=claims["sub"], subname=claims["subname"], iss=claims["iss"]
        )
        if token.is_user_token:
            body["auth_level"] = claims["auth_level"]
        body.update(
            authGrantId=claims["authGrantId"],
            auditTrackingId=claims["auditTrackingId"],
            expires_in=self._remaining(token),
        )
        if include_aud_act and claims.get("grant_type") == TOKEN_EXCHANGE:
            body["aud"] = claims["aud"]
            if "act" in claims:
                body["act"] = claims["act"]
        return body


def _may_introspect(client: Client, token: Token, policy: str) -> bool:
    """Who may see a token (§11 row 27): by default its own client, a client in its ``aud``, or a
    client holding scope ``am-introspect-all-tokens``."""
    if policy == "any-client" or INTROSPECT_ALL_SCOPE in client.scopes:
        return True
    if client.client_id == token.claims.get("client_id"):
        return True
    if policy == "owner":
        return False
    aud = token.claims.get("aud")
    return client.client_id in ([aud] if isinstance(aud, str) else list(aud or []))


MULTI_VALUED = ("audience",)


def _single_valued(form: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as strings; a repeated parameter (a list) keeps its first value, except
    ``audience``, which RFC 8693 allows to repeat."""
    return {
        name: value if name in MULTI_VALUED or not isinstance(value, (list, tuple)) else (value[0] if value else "")
        for name, value in form.items()
    }


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = header(headers, "Authorization") or ""
    return value[7:].strip() if value[:7].lower() == "bearer " else None


def _no_realm() -> OAuthError:
    """An unknown realm; AM's exact answer is unrecorded (placeholder text)."""
    return errors.invalid_request("Invalid realm")


__all__ = ["OAuthService"]
