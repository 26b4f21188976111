"""RSA keys as JWKs, for the emulator's signing key and its admin service account."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def generate_rsa_jwk(kid: str | None = None, bits: int = 2048) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(private_jwk, public_jwk)`` for a new RSA key, both carrying ``kid``, ``alg`` and ``use``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    kid = kid or str(uuid.uuid4())
    private = json.loads(RSAAlgorithm.to_jwk(key))
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    for jwk in (private, public):
        jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return private, public


def public_of(private_jwk: dict[str, Any]) -> dict[str, Any]:
    """The public half of a private RSA JWK."""
    key = RSAAlgorithm.from_jwk(json.dumps(private_jwk))
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))  # type: ignore[union-attr]
    for name in ("kid", "alg", "use"):
        if name in private_jwk:
            public[name] = private_jwk[name]
    return public
