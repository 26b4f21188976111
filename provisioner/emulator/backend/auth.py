"""Admin authentication (reference §2): the service account, the JWT-bearer grant at
``/am/oauth2/access_token``, bearer-token checks, and the 5-session limit with its three modes."""

from __future__ import annotations

import json
import os
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import jwt
from jwt.algorithms import RSAAlgorithm

from ..errors import OAuthError, Unauthorized
from ..oauth.keys import generate_rsa_jwk, public_of

if TYPE_CHECKING:
    from . import Backend

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SA_CLIENT_ID = "service-account"
SA_SCOPES = ("fr:am:*", "fr:idm:*")
SESSIONS, REVOKED = "auth:sessions", "auth:revoked"


def _invalid_grant(text: str) -> OAuthError:
    return OAuthError("invalid_grant", text)


class AuthBackend:
    def __init__(self, core: Backend) -> None:
        self.core = core
        self.store = core.store
        sa = self.store.meta("serviceAccount")
        if sa is None:
            private, _ = generate_rsa_jwk()
            sa = {"id": str(uuid.uuid4()), "jwk": private}
            self.store.set_meta("serviceAccount", sa)
        signing = self.store.meta("signingKey")
        if signing is None:
            signing, _ = generate_rsa_jwk()
            self.store.set_meta("signingKey", signing)
        self.service_account_id: str = sa["id"]
        self.service_account_jwk: dict[str, Any] = sa["jwk"]
        self.signing_jwk: dict[str, Any] = signing
        self._sa_public = RSAAlgorithm.from_jwk(json.dumps(public_of(sa["jwk"])))
        self._signing_key = RSAAlgorithm.from_jwk(json.dumps(signing))
        self._verify_key = RSAAlgorithm.from_jwk(json.dumps(public_of(signing)))
        # token → claims of tokens whose signature verified (RSA verification was ~1 ms per request);
        # the claim, expiry and revocation checks still run on every request.
        self._verified: dict[str, dict[str, Any]] = {}

    def write_jwk_file(self, state_dir: str) -> str:
        """Write the SA's private JWK to ``<state>/service-account.json`` with mode 0600."""
        path = os.path.join(state_dir, "service-account.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.service_account_jwk, handle, indent=2)
        os.chmod(path, 0o600)
        return path

    # -- the token endpoint ------------------------------------------------------------------------

    def issue(self, form: dict[str, Any], audiences: set[str], issuer: str) -> dict[str, Any]:
        """``POST /am/oauth2/access_token`` with the JWT-bearer grant → the token response body."""
        if form.get("grant_type") != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", "Grant type is not supported")
        if form.get("client_id") != SA_CLIENT_ID:
            raise OAuthError("invalid_client", "Client authentication failed")
        assertion = form.get("assertion")
        if not isinstance(assertion, str) or not assertion:
            raise OAuthError("invalid_request", "Missing parameter, 'assertion'")
        claims = self._verify_assertion(assertion, audiences)
        requested = str(form.get("scope") or " ".join(SA_SCOPES)).split()
        unknown = [s for s in requested if s not in SA_SCOPES]
        if unknown:
            raise OAuthError("invalid_scope", "Unsupported scope for service account: " + ",".join(unknown))
        scopes = list(dict.fromkeys(requested))
        now = int(self.core.clock())
        lifetime = int(self.core.config["sa.tokenLifetime"])
        jti = secrets.token_urlsafe(20)[:27]
        self._open_session(claims["sub"], jti, now, now + lifetime)
        token_claims = {
            "sub": claims["sub"],
            "cts": "OAUTH2_STATELESS_GRANT",
            "auditTrackingId": str(uuid.uuid4()),
            "subname": claims["sub"],
            "iss": issuer,
            "tokenName": "access_token",
            "token_type": "Bearer",
            "authGrantId": secrets.token_urlsafe(20),
            "client_id": SA_CLIENT_ID,
            "aud": SA_CLIENT_ID,
            "nbf": now,
            "grant_type": JWT_BEARER,
            "scope": scopes,
            "auth_time": now,
            "realm": "/",
            "exp": now + lifetime,
            "iat": now,
            "expires_in": lifetime,
            "jti": jti,
        }
        token = jwt.encode(
            token_claims,
            self._signing_key,  # type: ignore[arg-type]
            algorithm="RS256",
            headers={"kid": self.signing_jwk["kid"], "typ": "JWT"},
        )
        return {"access_token": token, "scope": " ".join(scopes), "token_type": "Bearer", "expires_in": lifetime - 1}

    def _verify_assertion(self, assertion: str, audiences: set[str]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _invalid_grant("JWT is malformed") from None
        if header.get("alg") != "RS256":
            raise _invalid_grant("JWT signing algorithm must be RS256")
        if unverified.get("iss") != self.service_account_id:
            raise _invalid_grant("Unknown JWT issuer")
        try:
            claims = jwt.decode(
                assertion,
                self._sa_public,  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise _invalid_grant("JWT signature is invalid") from None
        if claims.get("sub") != claims.get("iss"):
            raise _invalid_grant("Not able to read user information.")
        aud = claims.get("aud")
        if not any(a in audiences for a in ([aud] if isinstance(aud, str) else aud or [])):
            raise _invalid_grant("incorrect audience in JWT")
        now = self.core.clock()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= now:
            raise _invalid_grant("JWT has expired")
        if exp > now + int(self.core.config["sa.maxAssertionLifetime"]):
            raise _invalid_grant("JWT expiration is too far in the future")
        if not claims.get("jti"):
            raise _invalid_grant("JWT is missing the jti claim")
        return claims

    def _open_session(self, sa_id: str, jti: str, now: int, exp: int) -> None:
        """Every token opens one AM session; at most ``sa.sessionLimit`` unexpired ones (§2.3)."""
        mode = self.core.config["sa.sessionLimitMode"]
        live = []
        for sid, session in self.store.items(SESSIONS):
            if session["exp"] <= now:
                self.store.delete(SESSIONS, sid)
            elif session["sa"] == sa_id:
                live.append((sid, session))
        limit = int(self.core.config["sa.sessionLimit"])
        if mode != "off" and len(live) >= limit:
            if mode == "deny":
                raise _invalid_grant("Session quota exceeded")
            for sid, session in live[: len(live) - limit + 1]:  # evict-oldest
                self.store.delete(SESSIONS, sid)
                self.store.put(REVOKED, sid, {"exp": session["exp"]})
        self.store.put(SESSIONS, jti, {"sa": sa_id, "iat": now, "exp": exp})

    # -- bearer tokens on the admin API ------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        """Claims of a valid admin bearer token; ``Unauthorized`` (401 "Access Denied") otherwise."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized()
        token = authorization[7:].strip()
        cached = self._verified.get(token)
        if cached is not None:
            claims = dict(cached)
        else:
            try:
                claims = jwt.decode(
                    token,
                    self._verify_key,  # type: ignore[arg-type]
                    algorithms=["RS256"],
                    options={"verify_exp": False, "verify_aud": False, "verify_nbf": False, "verify_iat": False},
                )
            except jwt.PyJWTError:
                raise Unauthorized() from None
            if len(self._verified) >= 256:
                self._verified.clear()
            self._verified[token] = dict(claims)
        if claims.get("client_id") != SA_CLIENT_ID or claims.get("sub") != self.service_account_id:
            raise Unauthorized()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= self.core.clock():
            raise Unauthorized()
        if self.store.get(REVOKED, str(claims.get("jti"))) is not None:
            raise Unauthorized()
        return claims
