"""Write-only secrets: a salted slow-hash marker detects a change without storing the secret.

The marker lives in ``advancedOAuth2ClientConfig.customProperties`` as
``provisioner.secretHash=pbkdf2-sha256$<iterations>$<salt b64>$<digest b64>``. ``hashlib.pbkdf2_hmac``
releases the GIL, so many markers verify in parallel in a thread pool.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

ALGORITHM = "pbkdf2-sha256"
ITERATIONS = 100_000
_SALT_BYTES = 16

K = TypeVar("K")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_marker(secret: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """A new marker for ``secret`` (fresh random salt unless one is given)."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_marker(marker: str | None, secret: str) -> bool:
    """True when ``marker`` was made from ``secret``; False for a missing or malformed marker."""
    if not marker:
        return False
    try:
        algorithm, iterations, salt, digest = marker.split("$")
        if algorithm != ALGORITHM:
            return False
        rounds = int(iterations)
        if not 1 <= rounds <= 10_000_000:
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), base64.b64decode(salt, validate=True),
                                     rounds)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


def verify_many(items: Iterable[tuple[K, str | None, str]], workers: int = 8) -> dict[K, bool]:
    """Verify ``(key, marker, secret)`` triples in a thread pool; returns key → matches."""
    triples = list(items)
    if not triples:
        return {}
    check: Callable[[tuple[K, str | None, str]], bool] = lambda t: verify_marker(t[1], t[2])
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(triples)))) as pool:
        results = list(pool.map(check, triples))
    return {t[0]: ok for t, ok in zip(triples, results)}
