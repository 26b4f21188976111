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
are added to an index once, in bulk, on the first :func:`text` after they were registered (no pattern
is ever rebuilt), and :func:`text` reads the text's UTF-8 bytes as aligned 4-byte windows and looks
them up in the index (any form of at least 7 bytes covers such an aligned window; shorter forms
are few and searched directly); only the windows found in the index are then located and compared.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from itertools import groupby
from operator import itemgetter
from typing import Any, Literal

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
# Index window: every form of at least 2 * _W - 1 bytes (in UTF-8) contains a window that starts at a
# multiple of _W in any text holding it, so text() looks at every _W-th byte position only.
_W = 4
_LONG = 2 * _W - 1
_CELL: Literal["I"] = "I"  # a native unsigned int: one window of _W bytes
if memoryview(bytes(_W)).cast(_CELL).itemsize != _W:  # pragma: no cover (4 on every platform Python runs on)
    raise ImportError("provisioner.redact needs a 4-byte unsigned int")

_lock = threading.Lock()
_values: set[str] = set()
_forms: set[str] = set()
# window (4 UTF-8 bytes as an int) → (offset, forms that begin with the same 7 bytes): one such entry,
# or a list of them when several groups have the window
_Entry = tuple[int, tuple[bytes, ...]]
_windows: dict[int, _Entry | list[_Entry]] = {}
_HEAD = itemgetter(slice(0, _LONG))  # the bytes a group's forms begin with
_short: set[bytes] = set()  # forms too short to hold an aligned window, in UTF-8
_pending: list[str] = []  # registered, forms not derived yet: that waits for the first text()
#: Forms (UTF-8, 7 bytes or more) not in the window index yet, as (length, forms) pairs by length. Short
#: texts (a no-op plan prints a few lines) are searched for them directly, without building the index;
#: the index is built once searching them would have cost about as much (:data:`_INDEX_COST`). Replaced,
#: never changed in place, so a reader holds a consistent value.
_loose: tuple[tuple[int, frozenset[bytes]], ...] = ()
_loose_forms = 0  # how many forms _loose holds
_loose_spent = 0  # substrings looked up in _loose since it was last indexed
#: Indexing one form costs about as much as looking up this many substrings (measured: ~10 µs vs ~0.5 µs).
_INDEX_COST = 16

# Bearer tokens and JWTs that were never registered (e.g. in a server's error echo).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_UNICODE_ESCAPE = re.compile(r"\\u[0-9a-f]{4}")


def _base64_forms(raw: bytes) -> set[str]:
    """The base64 spellings of ``raw`` alone and embedded at any byte offset of a longer value
    (``client:secret`` in HTTP Basic): for each of the three alignments, the characters that only
    depend on ``raw``'s bytes."""
    b64encode, urlsafe = base64.b64encode, _URLSAFE
    encoded = b64encode(raw).decode("ascii")
    parts = [encoded, encoded.rstrip("="), encoded[: len(raw) // 3 * 4]]
    for shift in (1, 2):
        # the first group mixes in the unknown prefix, the last partial group the unknown suffix
        parts.append(b64encode(b"\0" * shift + raw).decode("ascii")[4 : (shift + len(raw)) // 3 * 4])
    found = set(parts)
    found.update(part.translate(urlsafe) for part in parts if "+" in part or "/" in part)
    return found


_URLSAFE = str.maketrans("+/", "-_")


#: Characters that every escaping :func:`forms` applies leaves as they are: JSON (no quote, backslash,
#: slash, control or non-ASCII character), URL encoding (RFC 3986 unreserved) and HTML.
_UNESCAPED = re.compile(r"[A-Za-z0-9_.~-]*")


def forms(secret: str) -> frozenset[str]:
    """Every spelling of ``secret`` that redaction hides: as is, JSON-escaped (ASCII or not, ``\\/``,
    upper-case hex, escaped twice), URL/form-encoded (``%20`` or ``+``, upper- or lower-case hex),
    HTML-escaped, and base64 (standard and URL-safe, alone or inside a longer value)."""
    if len(secret) < _MIN_ENCODED_LEN:
        return frozenset({secret})
    if _UNESCAPED.fullmatch(secret):  # generated secrets: every escaped spelling is the value itself
        return frozenset(f for f in {secret} | _base64_forms(secret.encode("ascii")) if len(f) >= _MIN_TEXT_LEN)
    return _all_forms(secret)


def _all_forms(secret: str) -> frozenset[str]:
    """:func:`forms` computed by applying every encoding (any secret of at least 8 characters)."""
    import html  # imported here: generated secrets never need it, and start-up is shorter without it
    from urllib.parse import quote

    out = {secret}
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


#: ``short_escapable``: a registered secret too short for its encoded forms to be indexed has a
#: character that JSON escapes (:func:`dumps` must then scan every string on its own). ``crosses_json``:
#: a secret masked in text has white space or one of ``,:[]{}``, so one of its forms could reach across
#: a JSON text's separators (:class:`LeafScan` then scans whole texts).
_flags = {"short_escapable": False, "crosses_json": False}
#: What separates the leaves of a JSON text (besides their quotes): white space and ``,:[]{}``.
_JSON_SEPARATOR = re.compile(r"[\s,:\[\]{}]")


def register(*secrets: str | None) -> None:
    """Remember secret values so that they (and their encoded forms) are masked in every later output."""
    with _lock:
        for value in secrets:
            if value and isinstance(value, str) and value not in _values:
                _values.add(value)
                if len(value) < _MIN_ENCODED_LEN and not _UNESCAPED.fullmatch(value):
                    _flags["short_escapable"] = True
                if len(value) >= _MIN_TEXT_LEN:
                    _pending.append(value)
                    if _JSON_SEPARATOR.search(value):
                        _flags["crosses_json"] = True


def _index_pending() -> None:
    """Derive the forms of every secret registered since the last call. Forms of 7 bytes or more join
    the loose forms (:data:`_loose`), shorter ones :data:`_short`. ``_pending`` is emptied last: a
    thread that finds it empty finds every form in place."""
    global _loose, _loose_forms
    with _lock:
        if not _pending:
            return
        new: set[str] = set()
        for value in _pending:
            new.update(forms(value))
        new -= _forms
        _forms.update(new)
        raws = [form.encode("utf-8", "surrogatepass") for form in new]
        _short.update(raw for raw in raws if len(raw) < _LONG)
        by_length: dict[int, set[bytes]] = {length: set(bucket) for length, bucket in _loose}
        for raw in raws:
            if len(raw) >= _LONG:
                by_length.setdefault(len(raw), set()).add(raw)
        _loose = tuple((length, frozenset(by_length[length])) for length in sorted(by_length))
        _loose_forms = sum(len(bucket) for _, bucket in _loose)
        _pending.clear()


def _index_loose() -> None:
    """Add the loose forms to the window index, in bulk.

    Forms that begin with the same 7 bytes (one secret's base64 with and without padding) share their
    four leading windows, so they are indexed as one group. The windows of all groups at one offset are
    read as one array of integers and added as one dictionary update (in C); only a window that more
    than one group has (rare) holds a list. The loose forms are dropped last (see :func:`_mask`)."""
    global _loose, _loose_forms, _loose_spent
    with _lock:
        if not _loose:
            return
        raws = sorted(raw for _, bucket in _loose for raw in bucket)
        groups = [tuple(group) for _, group in groupby(raws, _HEAD)]
        windows = _windows
        for offset in range(_W):
            keys = memoryview(b"".join([group[0][offset : offset + _W] for group in groups])).cast(_CELL).tolist()
            entries = [(offset, group) for group in groups]
            batch = dict(zip(keys, entries))
            shared = batch.keys() & windows.keys()
            if len(batch) < len(keys):  # a window two new groups have
                counts = Counter(keys)
                shared |= {key for key, count in counts.items() if count > 1}
            for key in shared:
                del batch[key]
            windows.update(batch)
            for key, entry in zip(keys, entries) if shared else ():
                if key in shared:
                    found = windows.get(key)
                    if found is None:
                        windows[key] = entry
                    elif isinstance(found, list):
                        found.append(entry)
                    else:
                        windows[key] = [found, entry]
        _loose, _loose_forms, _loose_spent = (), 0, 0


def registered() -> frozenset[str]:
    """The registered secret values (for leak-scanning tests)."""
    with _lock:
        return frozenset(_values)


def clear() -> None:
    """Forget every registered value (tests only)."""
    global _loose, _loose_forms, _loose_spent
    with _lock:
        _values.clear()
        _flags["short_escapable"] = _flags["crosses_json"] = False
        _forms.clear()
        _windows.clear()
        _short.clear()
        _pending.clear()
        _loose, _loose_forms, _loose_spent = (), 0, 0


def _spans(raw: bytes) -> list[tuple[int, int]]:
    """Where registered forms occur in ``raw`` (a text in UTF-8): (start, end) byte offsets, unsorted,
    possibly overlapping. A match of a whole UTF-8 form starts and ends on character boundaries.

    ``raw``'s aligned 4-byte windows are read as integers and matched against the index as sets (in C);
    only the windows that are index keys are then located: by ``bytes.find`` when they are a few (one
    pass over ``raw`` each, in C), else in one pass over the windows."""
    spans = []
    windows = _windows
    if windows and len(raw) >= _W:
        cells = memoryview(raw)[: len(raw) // _W * _W].cast(_CELL)
        hits = windows.keys() & cells  # iterates the cells, looking each up: no set of them is built
        # a few keys are located by bytes.find (in C); many, in one pass over the windows (a 64 KB chunk of
        # a plan has 16,384 windows and a handful of keys that some form has too)
        if len(hits) > max(4, len(cells) >> 9):
            found = [(index * _W, cell) for index, cell in enumerate(cells) if cell in hits]
        else:
            found = []
            for key in hits:
                needle = key.to_bytes(_W, sys.byteorder)
                position = raw.find(needle)
                while position >= 0:
                    if position % _W == 0:
                        found.append((position, key))
                    position = raw.find(needle, position + 1)
        for position, key in found:
            entries = windows[key]
            for offset, group in entries if isinstance(entries, list) else (entries,):
                start = position - offset
                if start >= 0:
                    for form in group:
                        if raw.startswith(form, start):
                            spans.append((start, start + len(form)))
    for form in tuple(_short):
        start = raw.find(form)
        while start >= 0:
            spans.append((start, start + len(form)))
            start = raw.find(form, start + 1)
    return spans


def _loose_spans(raw: bytes, loose: tuple[tuple[int, frozenset[bytes]], ...]) -> list[tuple[int, int]]:
    """Where the loose forms occur in ``raw``: every substring of a loose form's length is looked up in
    that length's set (exact, like the window scan)."""
    spans = []
    size = len(raw)
    for length, bucket in loose:
        if length > size:
            break
        for form in bucket.intersection([raw[i : i + length] for i in range(size - length + 1)]):
            start = raw.find(form)
            while start >= 0:
                spans.append((start, start + length))
                start = raw.find(form, start + 1)
    return spans


def _loose_cost(size: int, loose: tuple[tuple[int, frozenset[bytes]], ...]) -> int:
    """The substrings :func:`_loose_spans` looks up in a text of ``size`` bytes."""
    return sum(size - length + 1 for length, _ in loose if length <= size)


def _mask(out: str) -> str:
    global _loose_spent
    if _pending:
        _index_pending()
    raw = out.encode("utf-8", "surrogatepass")
    # The loose forms are read before the window index: _index_loose fills the index before it drops
    # them, so every form is in one or the other.
    loose = _loose
    if loose:
        cost = _loose_cost(len(raw), loose)
        budget = _INDEX_COST * _loose_forms  # searching them has cost as much as indexing them would
        if _loose_spent + cost > budget or cost * 8 > budget:  # a long text: more are likely to follow
            _index_loose()
            loose = ()
        else:
            _loose_spent += cost
    if not (_windows or _short or loose):
        return out
    spans = _spans(raw)
    if loose:
        spans += _loose_spans(raw, loose)
    if not spans:
        return out
    merged: list[list[int]] = []
    for start, stop in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    pieces, cursor = [], 0
    mask = MASK.encode()
    for start, stop in merged:
        pieces += [raw[cursor:start], mask]
        cursor = stop
    pieces.append(raw[cursor:])
    return b"".join(pieces).decode("utf-8", "surrogatepass")


class Redacted(str):
    """Text this module has already masked (:class:`LeafScan`); :func:`text` returns it as it is."""

    __slots__ = ()


def text(message: object) -> str:
    """Return ``message`` as text with every registered secret (in any encoded form) and every
    token-looking string masked."""
    if type(message) is Redacted:
        return message
    out = _mask(str(message))
    if "eyJ" in out:
        out = _JWT.sub(MASK, out)
    # The case-insensitive search is the slow part; no character but B, E, A, R and their lower case
    # matches them under re.IGNORECASE (tests/unit/test_redact.py checks every code point).
    if "bearer" in out.lower():
        out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    return out


class LeafScan:
    """:func:`text` for a JSON text written in pieces, scanning each distinct leaf once instead of
    every piece whole.

    A piece comes with its *leaves*: the strings, keys and numbers (as text) it was written from, and
    ``spell`` gives the text each stands for in the piece (for JSON, the quoted, escaped string). When no
    secret masked in text has white space or one of ``,:[]{}`` (generated secrets, base64 or not, key
    parts, tokens, most passwords), no form of it has either (:func:`forms` only adds backslashes,
    ``%``, ``&``, ``#``, ``;``, letters and digits, and base64's alphabet). Between two leaves of a JSON
    text there is always one of them; a quote or backslash outside a string's spelling there never is.
    So any occurrence in the piece lies inside one leaf's spelling (or a ``true``, ``false`` or
    ``null``, scanned once); the same holds for the token patterns. Then only the leaves
    not seen before are spelled and scanned, and the piece is returned as it is when none holds a form:
    for a large plan (a few hundred thousand leaves, a few tens of thousands distinct) a fifth of its
    text is scanned. A secret registered since the last piece makes every leaf new again. Pieces are
    scanned whole while a secret has white space or one of ``,:[]{}`` (``": "`` is between a key and
    its value), and for good once a leaf held a form (the piece holding it is masked as :func:`text`
    masks it)."""

    def __init__(self, spell: Callable[[str], str]) -> None:
        self._spell = spell
        self._seen: set[str] = set()
        self._whole = False
        self._count = -1  # secrets registered when the leaves seen were checked
        self.masked = False  # whether masking changed a piece

    def _whole_piece(self, piece: str) -> Redacted:
        masked = text(piece)
        if masked != piece:
            self.masked = True
        return Redacted(masked)

    def text(self, piece: str, leaves: Iterable[str]) -> Redacted:
        if self._whole or _flags["crosses_json"]:
            return self._whole_piece(piece)
        count = len(_values)
        if count != self._count:
            self._seen.clear()
            self._count = count
            leaves = [*leaves, "true", "false", "null"]
        new = set(leaves)
        new -= self._seen
        if new:
            # NUL joins them: a spelled leaf never holds it raw, and no form or token pattern matches it
            joined = "\0".join(map(self._spell, new))
            if text(joined) != joined:
                self._whole = True
                return self._whole_piece(piece)
            self._seen |= new
        return Redacted(piece)


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


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps(data(value), **options)``, faster for many small records (the journal): sensitive
    keys are masked in the structure, then the serialized text is scanned once instead of every string
    on its own. The JSON-escaped form of every secret is indexed, so the one scan finds what the
    per-string scans find; should masking ever break the JSON, the per-string way is used instead."""
    import json

    if _flags["short_escapable"]:  # a short secret is masked only as is: its JSON spelling is not indexed
        return json.dumps(data(value), **options)
    line = json.dumps(_keys(value), **options)
    masked = text(line)
    if masked == line:
        return line
    try:
        json.loads(masked)
    except ValueError:
        return json.dumps(data(value), **options)
    return masked


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _keys(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAVES:  # most values: no abstract-class check
        return value
    if kind is dict or isinstance(value, Mapping):
        return {
            key: MASK if str(key).lower() in SENSITIVE_KEYS and item not in (None, "", [], {}) else _keys(item)
            for key, item in value.items()
        }
    if kind is list or isinstance(value, (list, tuple)):
        return [_keys(item) for item in value]
    return value


def fingerprint(token: str) -> str:
    """A short, non-reversible label for a token, safe to print (``sha256:1a2b3c4d``)."""
    import hashlib

    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:8]
