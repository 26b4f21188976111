"""The one redaction layer every output path goes through.

Secrets reach the process from secret references (manifests, environment files), credentials
(service-account keys, bearer tokens) and the tenant (access tokens). Each is registered here the
moment it is read; every writer of text that leaves the process (CLI output, logs, ``--verbose``
traces, error messages, plan files, the journal, HAR files) passes it through :func:`text` or
:func:`data`.

Two mechanisms, both needed:

* **values**: any registered secret value is replaced wherever it appears in text, and so are its
  *encoded forms* (:func:`forms`): JSON-escaped (a server echoing a request body), URL/form-encoded
  (a token request in an error), HTML-escaped, and base64 (HTTP Basic credentials), so that a secret
  containing ``" \\ + / = & é`` cannot slip out in an escaped spelling;
* **keys**: values under sensitive key names (``Authorization``, ``client_secret``, ``userpassword``,
  ``assertion``, tokens, passwords) are replaced in structured data even when not registered.

The registry is process-wide on purpose: a secret read anywhere must be hidden everywhere.

Cost is linear in the number of distinct secrets and in the length of the text: each secret's forms
are added to an index once, on the first :func:`text` after it was registered (no pattern is ever
rebuilt), and :func:`text` looks up one 4-character
window every 4 characters (any form of at least 7 characters covers such an aligned window; shorter
forms are few and searched directly).
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

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
# Encoded forms are only derived from secrets at least this long (a base64 fragment of a short value
# would match by chance).
_MIN_ENCODED_LEN = 8
# Index window: every form of at least 2 * _W - 1 characters contains a window that starts at a
# multiple of _W in any text holding it, so text() looks at every _W-th position only.
_W = 4
_LONG = 2 * _W - 1

_lock = threading.Lock()
_values: set[str] = set()
_forms: set[str] = set()
_windows: dict[str, list[tuple[int, str]]] = {}
_short: set[str] = set()
_pending: list[str] = []  # registered but not yet indexed: indexing waits for the first text()

# Bearer tokens and JWTs that were never registered (e.g. in a server's error echo).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")


def _base64_forms(raw: bytes) -> set[str]:
    """The base64 spellings of ``raw`` alone and embedded at any byte offset of a longer value
    (``client:secret`` in HTTP Basic): for each of the three alignments, the characters that only
    depend on ``raw``'s bytes."""
    found: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = 4 if shift else 0  # the first group mixes in the unknown prefix
        end = (shift + len(raw)) // 3 * 4  # the last partial group mixes in the unknown suffix
        parts = {encoded[start:end]}
        if not shift:
            parts |= {encoded, encoded.rstrip("=")}
        for part in parts:
            found |= {part, part.replace("+", "-").replace("/", "_")}
    return found


def forms(secret: str) -> frozenset[str]:
    """Every spelling of ``secret`` that redaction hides: as is, JSON-escaped (ASCII or not, ``\\/``,
    upper-case hex, escaped twice), URL/form-encoded (``%20`` or ``+``, upper- or lower-case hex),
    HTML-escaped, and base64 (standard and URL-safe, alone or inside a longer value)."""
    out = {secret}
    if len(secret) < _MIN_ENCODED_LEN:
        return frozenset(out)
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    escaped |= {e.replace("/", "\\/") for e in escaped}
    escaped |= {_UNICODE_ESCAPE.sub(lambda m: "\\u" + m.group()[2:].upper(), e) for e in escaped}
    escaped |= {json.dumps(e)[1:-1] for e in escaped}  # a JSON string inside a JSON string
    out |= escaped
    plain = quote(secret, safe="")  # one encoding, the others derived (quote is the costly part)
    javascript = plain  # encodeURIComponent leaves !'()* as they are
    for char in "!'()*":
        javascript = javascript.replace(f"%{ord(char):02X}", char)
    encoded = {plain, plain.replace("%2F", "/"), plain.replace("%20", "+"), javascript}
    encoded |= {_PERCENT.sub(lambda m: m.group().lower(), e) for e in encoded}
    out |= encoded
    out |= {html.escape(secret, quote=True), html.escape(secret, quote=False)}
    out |= _base64_forms(secret.encode("utf-8"))
    return frozenset(f for f in out if len(f) >= _MIN_TEXT_LEN)


def _index(form: str) -> None:
    if form in _forms:
        return
    _forms.add(form)
    if len(form) < _LONG:
        _short.add(form)
        return
    windows = _windows
    for offset in range(_W):
        key = form[offset : offset + _W]
        entries = windows.get(key)
        if entries is None:
            windows[key] = [(offset, form)]
        else:
            entries.append((offset, form))


def register(*secrets: str | None) -> None:
    """Remember secret values so that they (and their encoded forms) are masked in every later output."""
    with _lock:
        for value in secrets:
            if value and isinstance(value, str) and value not in _values:
                _values.add(value)
                if len(value) >= _MIN_TEXT_LEN:
                    _pending.append(value)


def _index_pending() -> None:
    with _lock:
        for value in _pending:
            for form in forms(value):
                _index(form)
        _pending.clear()


def registered() -> frozenset[str]:
    """The registered secret values (for leak-scanning tests)."""
    with _lock:
        return frozenset(_values)


def clear() -> None:
    """Forget every registered value (tests only)."""
    with _lock:
        _values.clear()
        _forms.clear()
        _windows.clear()
        _short.clear()
        _pending.clear()


def _spans(out: str) -> list[tuple[int, int]]:
    """Where registered forms occur in ``out``: (start, end) pairs, unsorted, possibly overlapping."""
    spans = []
    lookup = _windows.get
    for position in range(0, len(out) - _W + 1, _W):
        candidates = lookup(out[position : position + _W])
        if candidates:
            for offset, form in candidates:
                start = position - offset
                if start >= 0 and out.startswith(form, start):
                    spans.append((start, start + len(form)))
    for form in tuple(_short):
        start = out.find(form)
        while start >= 0:
            spans.append((start, start + len(form)))
            start = out.find(form, start + 1)
    return spans


def _mask(out: str) -> str:
    if _pending:
        _index_pending()
    spans = _spans(out) if (_windows or _short) else []
    if not spans:
        return out
    merged: list[list[int]] = []
    for start, stop in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    pieces, cursor = [], 0
    for start, stop in merged:
        pieces += [out[cursor:start], MASK]
        cursor = stop
    pieces.append(out[cursor:])
    return "".join(pieces)


def text(message: object) -> str:
    """Return ``message`` as text with every registered secret (in any encoded form) and every
    token-looking string masked."""
    out = _mask(str(message))
    out = _JWT.sub(MASK, out)
    return _BEARER.sub(lambda m: m.group(1) + MASK, out)


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
