"""Write-only secrets: a salted marker detects a change without storing the secret.

The marker lives in ``advancedOAuth2ClientConfig.customProperties`` as ``provisioner.secretHash=<marker>``
and names its algorithm (threat model and choice: ``docs/secrets.md``):

* ``hmac-sha256$<salt b64>$<digest b64>``: HMAC-SHA256 keyed with a fresh 16-byte salt, for secrets that
  look generated (:func:`is_strong`: at least :data:`STRONG_BITS` estimated bits). Guessing such a secret
  from its marker is as hard as guessing the secret itself, so a slow hash would add nothing; checking it
  costs microseconds.
* ``pbkdf2-sha256$<iterations>$<salt b64>$<digest b64>``: PBKDF2, 100,000 rounds (about 30 ms of CPU),
  for every other secret, so a human-chosen one cannot be guessed quickly offline. Markers written by
  earlier versions all have this form; they stay readable, and :func:`needs_rewrite` tells apply to
  replace them with the fast form the next time it writes the object.

``hashlib.pbkdf2_hmac`` releases the GIL, so slow markers verify in parallel in a thread pool.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
from collections import Counter
from collections.abc import Iterable
from typing import TypeVar

ALGORITHM = "pbkdf2-sha256"  # the slow form (kept under its old name: readers of older code import it)
FAST_ALGORITHM = "hmac-sha256"
ITERATIONS = 100_000
_SALT_BYTES = 16
_FAST_CONTEXT = b"provisioner.secretHash.v2\x00"
#: Estimated bits from which a secret counts as generated (a 128-bit key is out of reach of any guessing).
STRONG_BITS = 128.0
_MIN_STRONG_LENGTH = 32  # shorter strings are more often chosen by people than generated

K = TypeVar("K")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def estimated_bits(secret: str) -> float:
    """A conservative estimate of the guessing entropy of ``secret``, in bits.

    Length counts only distinct character trigrams (a repeated pattern adds nothing), times the lower of
    the string's per-character Shannon entropy and log2 of its character pool. Random output of
    ``openssl rand -base64 32`` (44 characters) scores about 200, ``-hex 32`` about 230; ``Password1``
    repeated four times about 30. Anything shorter than 32 characters or with a space (words) is 0.
    """
    n = len(secret)
    if n < _MIN_STRONG_LENGTH or any(c.isspace() for c in secret):
        return 0.0
    counts = Counter(secret)
    shannon = -sum(c / n * math.log2(c / n) for c in counts.values())
    pool = 0
    pool += 26 if any(c.islower() for c in secret) else 0
    pool += 26 if any(c.isupper() for c in secret) else 0
    pool += 10 if any(c.isdigit() for c in secret) else 0
    pool += 33 if any(not c.isalnum() for c in secret) else 0
    trigrams = len({secret[i : i + 3] for i in range(n - 2)}) + 2
    return min(n, trigrams) * min(shannon, math.log2(max(pool, 2)))


def is_strong(secret: str) -> bool:
    """True when ``secret`` looks generated (see :func:`estimated_bits`): it gets the fast marker."""
    return estimated_bits(secret) >= STRONG_BITS


def _fast_digest(secret: str, salt: bytes) -> bytes:
    return hmac.new(salt, _FAST_CONTEXT + secret.encode("utf-8"), hashlib.sha256).digest()


def make_marker(
    secret: str, *, salt: bytes | None = None, iterations: int = ITERATIONS, algorithm: str | None = None
) -> str:
    """A new marker for ``secret`` (fresh random salt unless one is given).

    The algorithm is chosen by :func:`is_strong` unless ``algorithm`` names one.
    """
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    algorithm = algorithm or (FAST_ALGORITHM if is_strong(secret) else ALGORITHM)
    if algorithm == FAST_ALGORITHM:
        return f"{FAST_ALGORITHM}${_b64(salt)}${_b64(_fast_digest(secret, salt))}"
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def marker_algorithm(marker: str | None) -> str | None:
    """The algorithm a marker names (None for a missing one)."""
    return marker.split("$", 1)[0] if marker else None


def needs_rewrite(marker: str | None, secret: str) -> bool:
    """True when ``marker`` (already verified for ``secret``) is not in the form a new one would take."""
    wanted = FAST_ALGORITHM if is_strong(secret) else ALGORITHM
    return marker_algorithm(marker) != wanted


def verify_marker(marker: str | None, secret: str) -> bool:
    """True when ``marker`` was made from ``secret``; False for a missing or malformed marker."""
    if not marker:
        return False
    try:
        parts = marker.split("$")
        if parts[0] == FAST_ALGORITHM and len(parts) == 3:
            expected = base64.b64decode(parts[2], validate=True)
            actual = _fast_digest(secret, base64.b64decode(parts[1], validate=True))
            return hmac.compare_digest(expected, actual)
        if parts[0] != ALGORITHM or len(parts) != 4:
            return False
        rounds = int(parts[1])
        if not 1 <= rounds <= 10_000_000:
            return False
        expected = base64.b64decode(parts[3], validate=True)
        actual = hashlib.pbkdf2_hmac(
            "sha256", secret.encode("utf-8"), base64.b64decode(parts[2], validate=True), rounds
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


def verify_many(
    items: Iterable[tuple[K, str | None, str]], workers: int = 8, known: dict[K, str] | None = None
) -> dict[K, bool]:
    """Verify ``(key, marker, secret)`` triples; returns key → matches.

    ``known``: key → a marker this process itself wrote for that key's current secret (apply's
    confirmation plan): an identical observed marker matches without hashing again. Fast markers are
    checked inline; only slow ones go to a thread pool.
    """
    triples = list(items)
    out: dict[K, bool] = {}
    slow = []
    for key, marker, secret in triples:
        if known and marker is not None and known.get(key) == marker:
            out[key] = True
        elif marker_algorithm(marker) == ALGORITHM:
            slow.append((key, marker, secret))
        else:
            out[key] = verify_marker(marker, secret)
    if slow:

        def check(t: tuple[K, str | None, str]) -> bool:
            return verify_marker(t[1], t[2])

        from concurrent.futures import ThreadPoolExecutor  # not at import: validate never needs it

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(slow)))) as pool:
            for t, ok in zip(slow, pool.map(check, slow)):
                out[t[0]] = ok
    return {t[0]: out[t[0]] for t in triples}
