"""Admin authentication: a service account (JWT-bearer grant, reference §2) or a ready bearer token.

One token per run, shared by every worker thread (each token request opens an AM session and a service
account may hold at most five). It is renewed about 60 s before it expires, and the session asks for a
fresh one once after a 401. A failed token request is fatal: at most one retry, only on 429/503.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from provisioner import redact
from provisioner.client import paths
from provisioner.client.errors import TenantError, from_response
from provisioner.client.retry import parse_retry_after
from provisioner.client.tokencache import MemoryTokenCache, TokenCache
from provisioner.errors import ConfigurationError

if TYPE_CHECKING:
    from provisioner.client.session import TenantClient

DEFAULT_SCOPES = "fr:am:* fr:idm:*"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_PRIVATE_JWK_PARTS = ("d", "p", "q", "dp", "dq", "qi")


class Auth(Protocol):
    """What the session needs from an authentication method."""

    def authorization(self, client: TenantClient) -> str:
        """The ``Authorization`` header value to send now (fetching or renewing a token if needed)."""
        ...

    def invalidate(self, authorization: str) -> bool:
        """After a 401 sent with ``authorization``: drop it; True when a fresh token is worth one retry."""
        ...


class BearerAuth:
    """A ready access token (``AIC_ACCESS_TOKEN``); it cannot be renewed."""

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token:
            raise ConfigurationError("the access token is empty")
        redact.register(token)
        self._header = f"Bearer {token}"

    def authorization(self, client: TenantClient) -> str:
        return self._header

    def invalidate(self, authorization: str) -> bool:
        return False

    def __repr__(self) -> str:
        return "BearerAuth(token=(sensitive))"


def token_audience(tenant_url: str) -> str:
    """``aud`` for the assertion: the SA token URL, with ``:443`` added to portless https URLs (frodo-lib)."""
    parts = urlsplit(tenant_url.rstrip("/"))
    netloc = parts.netloc
    if parts.scheme == "https" and parts.port is None:
        netloc = f"{netloc}:443"
    return f"{parts.scheme}://{netloc}{parts.path}{paths.SA_TOKEN_PATH}"


def check_private_jwk(jwk: Mapping[str, Any]) -> None:
    """Register a JWK's private parts with redact and refuse what is not an RSA private key by its
    fields (no cryptography: building the key object is :func:`load_private_jwk`)."""
    if not isinstance(jwk, Mapping):
        raise ConfigurationError("the service-account JWK must be a JSON object")
    redact.register(*(str(jwk[k]) for k in _PRIVATE_JWK_PARTS if isinstance(jwk.get(k), str)))
    if jwk.get("kty") != "RSA":
        raise ConfigurationError(f"the service-account JWK must be an RSA key (kty RSA), not {jwk.get('kty')!r}")
    if "d" not in jwk:
        raise ConfigurationError('the service-account JWK is a public key; the private key (with "d") is needed')


def load_private_jwk(jwk: Mapping[str, Any]) -> Any:
    """The RSA private key of a JWK (registering its private parts with redact); clear errors otherwise."""
    check_private_jwk(jwk)
    cache_key = json.dumps(dict(jwk), sort_keys=True, default=str)
    key = _LOADED_KEYS.get(cache_key)
    if key is not None:
        return key
    from jwt.algorithms import RSAAlgorithm  # with cryptography, ~0.1 s to import: only to sign

    try:
        key = RSAAlgorithm.from_jwk(json.dumps(dict(jwk)))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigurationError(
            f"the service-account JWK is not a usable RSA private key: {type(exc).__name__}"
        ) from None
    if len(_LOADED_KEYS) >= 8:
        _LOADED_KEYS.clear()
    _LOADED_KEYS[cache_key] = key
    return key


#: JWK (canonical JSON) → its RSA private key: a command checks the key when it reads the file and signs
#: with it later; building the key object (with its consistency checks) costs ~0.1 s of CPU each time.
_LOADED_KEYS: dict[str, Any] = {}


class ServiceAccountAuth:
    """Service-account authentication: sign an RS256 assertion, trade it for one shared access token.

    ``clock`` is wall-clock time (seconds since the epoch) for the JWT claims and the token's expiry.
    When ``cache`` holds a token that is still good, it is taken at once and the RSA key object (and the
    JWT library) is only built when a new token must be signed for; otherwise the key is built here, so
    an unusable key is refused before any request.
    """

    def __init__(
        self,
        sa_id: str,
        jwk: Mapping[str, Any],
        tenant_url: str,
        scopes: str = DEFAULT_SCOPES,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 60.0,
        assertion_lifetime: int = 180,
        max_refreshes: int = 3,
        cache: TokenCache | MemoryTokenCache | None = None,
        cache_key: str | None = None,
    ) -> None:
        if not sa_id or not str(sa_id).strip():
            raise ConfigurationError("the service-account id is empty")
        self.sa_id = str(sa_id).strip()
        check_private_jwk(jwk)
        self._jwk = dict(jwk)
        self._key: Any = None
        self._kid = jwk.get("kid") if isinstance(jwk.get("kid"), str) else None
        self.audience = token_audience(tenant_url)
        self.scopes = scopes
        self._clock = clock
        self._margin = refresh_margin
        self._lifetime = assertion_lifetime
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0
        self._refreshes_left = max_refreshes
        self.token_requests = 0  # for tests and the session-limit budget
        self._cache = cache
        # ``cache_key``: where the token's validity does not depend on the URL (the local emulator,
        # whose port changes every run but whose state and keys persist).
        self._cache_key = (cache_key or TokenCache.key(self.audience, self.sa_id, scopes)) if cache else ""
        if not self._from_cache():
            self._key = load_private_jwk(self._jwk)

    def __repr__(self) -> str:
        return f"ServiceAccountAuth(sa_id={self.sa_id!r}, audience={self.audience!r})"

    def assertion(self) -> str:
        """A freshly signed JWT-bearer assertion (registered with redact)."""
        now = int(self._clock())
        claims = {
            "iss": self.sa_id,
            "sub": self.sa_id,
            "aud": self.audience,
            "exp": now + self._lifetime,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self._kid} if self._kid else None
        if self._key is None:
            self._key = load_private_jwk(self._jwk)
        import jwt

        token = jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        redact.register(token)
        return token

    def authorization(self, client: TenantClient) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                if not self._from_cache():
                    self._fetch(client)
            assert self._token is not None
            return f"Bearer {self._token}"

    def invalidate(self, authorization: str) -> bool:
        with self._lock:
            if self._token is not None and authorization == f"Bearer {self._token}":
                if self._refreshes_left <= 0:
                    return False
                self._refreshes_left -= 1
                self._token = None
                if self._cache is not None:
                    self._cache.drop(self._cache_key)
            # Another thread already replaced the token: retrying with the current one is free.
            return True

    def _from_cache(self) -> bool:
        """Adopt a token a previous run left in the cache (saves an AM session). Lock held."""
        if self._cache is None:
            return False
        cached = self._cache.get(self._cache_key, now=self._clock(), margin=self._margin)
        if cached is None:
            return False
        self._token, self._expires_at = cached
        self._renew_at = self._expires_at - self._margin
        return True

    def _fetch(self, client: TenantClient) -> None:
        """Request a token; at most one retry, on 429/503 only. Called with the lock held."""
        path = paths.SA_TOKEN_PATH
        for attempt in (1, 2):
            form = {
                "client_id": "service-account",
                "grant_type": JWT_BEARER,
                "assertion": self.assertion(),
                "scope": self.scopes,
            }
            self.token_requests += 1
            response = client.request("POST", path, data=form, authenticate=False, raise_errors=False)
            if response.status in (429, 503) and attempt == 1:
                wait = parse_retry_after(response.retry_after)
                wait = 1.0 if wait is None else wait
                if wait <= 30.0:
                    client.sleep(wait)
                    continue
            if not response.ok:
                error = from_response("POST", path, response)
                hint = ""
                if "quota" in str(error.message).lower():
                    hint = (
                        " (not a key problem: the service account already holds the most AM sessions it may;"
                        " every token request opens one, which lasts until its token expires, about 15"
                        " minutes. Wait for older sessions to expire; runs share a token through the token"
                        " cache unless PROVISIONER_TOKEN_CACHE=off)"
                    )
                elif error.code in ("invalid_grant", "invalid_client"):
                    hint = " (check the service-account id and key)"
                elif error.code == "invalid_scope":
                    hint = f" (the service account must be allowed the scopes {self.scopes!r})"
                error.message = redact.text(f"could not obtain a service-account token: {error.message}{hint}")
                error.args = (error.message,)
                raise error
            break
        body = response.body if isinstance(response.body, Mapping) else {}
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise TenantError(
                f"POST {path}: {response.status}: the token response has no access_token",
                status=response.status,
                method="POST",
                path=path,
            )
        redact.register(token)
        try:
            lifetime = float(body.get("expires_in", 900))
        except (TypeError, ValueError):
            lifetime = 900.0
        self._token = token
        # Renew `refresh_margin` before expiry, but never so early that a short-lived token would be
        # replaced on every request (each token request costs an AM session).
        self._expires_at = self._clock() + lifetime
        self._renew_at = self._expires_at - min(self._margin, lifetime / 2)
        if self._cache is not None:
            self._cache.put(self._cache_key, token, self._expires_at, now=self._clock())
