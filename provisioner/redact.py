"""The one redaction layer every output path goes through.

Secrets reach the process from secret references (manifests, environment files), credentials
(service-account keys, bearer tokens) and the tenant (access tokens). Each is registered here the
moment it is read; every writer of text that leaves the process (CLI output, logs, ``--verbose``
traces, error messages, plan files, the journal) passes it through :func:`text` or :func:`data`.

Two mechanisms, both needed:

* **values**: any registered secret value is replaced wherever it appears in text;
* **keys**: values under sensitive key names (``Authorization``, ``client_secret``, ``userpassword``,
  ``assertion``, tokens, passwords) are replaced in structured data even when not registered.

The registry is process-wide on purpose: a secret read anywhere must be hidden everywhere.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "(sensitive)"

#: Key names whose values are always masked in structured data (compared case-insensitively).
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "client_secret",
        "clientsecret",
        "userpassword",
        "password",
        "assertion",
        "access_token",
        "refresh_token",
        "id_token",
        "subject_token",
        "actor_token",
        "token",
        "secret",
        "jwk",
        "d",  # private JWK component
        "p",
        "q",
        "dp",
        "dq",
        "qi",
    }
)

# Secrets shorter than this are not replaced in free text (too many false positives, e.g. "a");
# they are still masked by key name. Manifest validation refuses such weak secrets anyway.
_MIN_TEXT_LEN = 4

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Bearer tokens and JWTs that were never registered (e.g. in a server's error echo).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def register(*secrets: str | None) -> None:
    """Remember secret values so that they are masked in every later output."""
    global _pattern
    added = False
    with _lock:
        for value in secrets:
            if value and isinstance(value, str) and value not in _values:
                _values.add(value)
                added = True
        if added:
            usable = sorted((v for v in _values if len(v) >= _MIN_TEXT_LEN), key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in usable)) if usable else None


def registered() -> frozenset[str]:
    """The registered secret values (for leak-scanning tests)."""
    with _lock:
        return frozenset(_values)


def clear() -> None:
    """Forget every registered value (tests only)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def text(message: object) -> str:
    """Return ``message`` as text with every registered secret and every token-looking string masked."""
    out = str(message)
    pattern = _pattern
    if pattern is not None:
        out = pattern.sub(MASK, out)
    out = _JWT.sub(MASK, out)
    return _BEARER.sub(lambda m: m.group(1) + MASK, out)


def is_sensitive_key(key: str) -> bool:
    return key.lower() in SENSITIVE_KEYS


def data(value: Any, extra_keys: Iterable[str] = ()) -> Any:
    """Return a deep copy of ``value`` with sensitive keys masked and secret values redacted."""
    extra = {k.lower() for k in extra_keys}
    return _data(value, extra)


def _data(value: Any, extra: set[str]) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            k = str(key)
            if (k.lower() in SENSITIVE_KEYS or k.lower() in extra) and item not in (None, "", [], {}):
                out[key] = MASK
            else:
                out[key] = _data(item, extra)
        return out
    if isinstance(value, (list, tuple)):
        return [_data(item, extra) for item in value]
    if isinstance(value, str):
        return text(value)
    return value


def fingerprint(token: str) -> str:
    """A short, non-reversible label for a token, safe to print (``sha256:1a2b3c4d``)."""
    import hashlib

    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:8]
