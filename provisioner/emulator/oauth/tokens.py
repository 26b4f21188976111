"""Access tokens: claims, minting (RS256 JWT or opaque) and resolving a presented token.

Client-side (stateless) tokens are JWTs signed with the emulator's key and carry every claim; they are
checked on use (signature, ``kid``, expiry, realm) without any server state. Server-side tokens are
random opaque strings whose claims live in a lock-guarded in-memory dict (reference §8.1).
"""

from __future__ import annotations

import functools
import itertools
import json
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from jwt.algorithms import RSAAlgorithm

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
STATELESS_CTS = "OAUTH2_STATELESS_GRANT"


def issuer(base_url: str, realm: str) -> str:
    """``{base}/am/oauth2/realms/root/realms/<realm>``; an https URL without a port gets ``:443`` (§8.1)."""
    parts = urlsplit(base_url.rstrip("/"))
    netloc = parts.netloc
    if parts.scheme == "https" and parts.port is None:
        netloc = f"{netloc}:443"
    base = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return f"{base}/am/oauth2/realms/root/realms/{realm}"


@functools.lru_cache(maxsize=16)
def _private_key(jwk_json: str) -> Any:
    """Parse (and validate) a private JWK once; RSA key validation costs tens of milliseconds."""
    return RSAAlgorithm.from_jwk(jwk_json)


def realm_claim(realm: str) -> str:
    return f"/{realm}"


def new_jti() -> str:
    """27 base64url characters, like a real AM token id (reference W13)."""
    return secrets.token_urlsafe(20)


@dataclass(frozen=True)
class Grant:
    """What a grant decided about a token, before it is minted."""

    sub: str
    client_id: str
    scopes: tuple[str, ...]
    grant_type: str
    aud: str | list[str]
    lifetime: int
    act: dict[str, Any] | None = None
    auth_level: int | None = None
    auth_time: int | None = None
    may_act: dict[str, Any] | None = None

    @property
    def scope_string(self) -> str:
        return " ".join(self.scopes)


@dataclass(frozen=True)
class Token:
    """A resolved, valid token: its wire string, its claims, and whether it is a client-side JWT."""

    value: str
    claims: dict[str, Any]
    stateless: bool

    @property
    def scopes(self) -> list[str]:
        return list(self.claims.get("scope") or [])

    @property
    def is_user_token(self) -> bool:
        """User tokens (password grant, on-behalf-of exchange) carry an authentication level."""
        return "auth_level" in self.claims


class TokenIssuer:
    """Mints and resolves realm access tokens with one signing key and an injected clock."""

    def __init__(self, signing_jwk: dict[str, Any], clock: Callable[[], float]) -> None:
        self._kid = signing_jwk.get("kid")
        self._private = _private_key(json.dumps(signing_jwk, sort_keys=True))
        self._public = self._private.public_key()
        self.public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._public))
        self.public_jwk.update({k: signing_jwk[k] for k in ("kid", "alg", "use") if k in signing_jwk})
        self._clock = clock
        self._opaque: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._audit = itertools.count(1)
        self._audit_prefix = str(uuid.uuid4())

    def now(self) -> int:
        return int(self._clock())

    def claims(self, grant: Grant, realm: str, iss: str, stateless: bool) -> dict[str, Any]:
        """The token's claims, in the order AM's tokeninfo shows them (§8.2, §8.3)."""
        now = self.now()
        claims: dict[str, Any] = {"sub": grant.sub}
        if stateless:
            claims["cts"] = STATELESS_CTS
        if grant.auth_level is not None:
            claims["auth_level"] = grant.auth_level
        claims.update(
            {
                "auditTrackingId": f"{self._audit_prefix}-{next(self._audit)}",
                "subname": grant.sub,
                "iss": iss,
                "tokenName": "access_token",
                "token_type": "Bearer",
                "authGrantId": secrets.token_urlsafe(20),
                "client_id": grant.client_id,
                "aud": grant.aud,
                "nbf": now,
            }
        )
        if grant.act is not None:
            claims["act"] = grant.act
        if grant.may_act is not None:
            claims["may_act"] = grant.may_act
        claims["grant_type"] = grant.grant_type
        claims["scope"] = list(grant.scopes)
        if grant.auth_time is not None:
            claims["auth_time"] = grant.auth_time
        claims.update(
            {
                "realm": realm_claim(realm),
                "exp": now + grant.lifetime,
                "iat": now,
                "expires_in": grant.lifetime,
                "jti": new_jti(),
            }
        )
        return claims

    def mint(self, grant: Grant, realm: str, iss: str, stateless: bool) -> Token:
        """Issue a token for ``grant``: a signed JWT, or an opaque string remembered in memory."""
        claims = self.claims(grant, realm, iss, stateless)
        if stateless:
            value = jwt.encode(
                claims, self._private, algorithm="RS256", headers={"kid": self._kid} if self._kid else None
            )
        else:
            value = secrets.token_urlsafe(20)
            with self._lock:
                self._purge_expired()
                self._opaque[value] = claims
        return Token(value, claims, stateless)

    def resolve(self, value: str | None, realm: str) -> Token | None:
        """The valid token behind ``value`` for ``realm``; ``None`` when unknown, forged or expired."""
        if not value:
            return None
        if value.count(".") == 2:
            claims = self._decode(value)
            stateless = True
        else:
            with self._lock:
                claims = self._opaque.get(value)
            stateless = False
        if claims is None or claims.get("realm") != realm_claim(realm):
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self._clock():
            return None
        return Token(value, dict(claims), stateless)

    def _decode(self, value: str) -> dict[str, Any] | None:
        try:
            if jwt.get_unverified_header(value).get("kid") != self._kid:
                return None
            # Expiry is checked against the injected clock by the caller, not PyJWT's wall clock.
            return jwt.decode(
                value,
                self._public,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None

    def _purge_expired(self) -> None:
        now = self._clock()
        for key in [k for k, c in self._opaque.items() if c["exp"] <= now]:
            del self._opaque[key]
