"""Whole-suite secret-leak check.

Every byte the tool writes to stdout/stderr during the test session (captured through ``capsys``,
``capfd``, click's ``CliRunner`` and ``subprocess.run``) and every file it writes under the test
session's temporary directory is recorded; at the end of the session all of it is scanned for every
secret value the tests used: the values in the example stacks' ``demo.env`` files, values added with
:func:`add_secret`, and every value registered with ``provisioner.redact`` during the run (resolved
secret references, credentials, tokens). A hit fails the session.

Each secret is looked for in its encoded spellings too (:func:`encoded_forms`): JSON-escaped,
URL/form-encoded and base64 (alone or inside a longer value such as HTTP Basic's ``id:secret``).
They are computed here independently of ``provisioner.redact`` so that a gap in the redaction layer
cannot hide itself from the check.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

_records: list[tuple[str, str]] = []
_secrets: set[str] = set()

#: Shorter values are too likely to occur by chance (and the loader refuses such secrets).
MIN_SECRET_LEN = 8

# Files the *tenant* or the *test* writes on purpose with secrets in them: the emulator's state
# (it is the tenant: it stores client secrets) and its service-account key, secret files given to
# `fromFile` references, and dotenv files.
_EXEMPT_SUFFIXES = (
    ".env",
    ".db",
    ".db-wal",
    ".db-shm",
    ".db-journal",
    ".key",
    ".pem",
    ".jwk",
    ".py",
    ".pyc",
)  # source copies made by packaging tests are inputs, not tool output
_EXEMPT_NAMES = ("service-account.json", "signing-key.json", "token-cache.json")
_EXEMPT_DIRS = ("emulator", ".git", "__pycache__", "site-packages")


def record(origin: str, text: str | bytes | None) -> None:
    """Remember output produced during the session."""
    if not text:
        return
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    _records.append((origin, text))


def add_secret(*values: str) -> None:
    """Declare secret values a test uses, so the final scan looks for them."""
    _secrets.update(v for v in values if v)


def demo_env_secrets(root: Path) -> set[str]:
    """Every value in the repository's example ``demo.env`` files."""
    values: set[str] = set()
    for env_file in sorted(root.glob("manifests/**/*.env")):
        for line in env_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            value = line.split("=", 1)[1].strip().strip("'\"")
            values.add(value)
    return values


def encoded_forms(secret: str) -> dict[str, str]:
    """``{spelling: name of the encoding}`` for ``secret``: raw, JSON-escaped, URL/form-encoded, base64."""
    from urllib.parse import quote, quote_plus

    found = {secret: "raw"}
    for spelling, name in (
        (json.dumps(secret)[1:-1], "JSON-escaped"),
        (json.dumps(secret, ensure_ascii=False)[1:-1], "JSON-escaped"),
        (quote_plus(secret, safe=""), "form-encoded"),
        (quote(secret, safe=""), "URL-encoded"),
    ):
        found.setdefault(spelling, name)
    raw = secret.encode("utf-8")
    for shift in range(3):  # the secret at any byte offset inside a longer base64-encoded value
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        core = encoded[4 if shift else 0 : (shift + len(raw)) // 3 * 4]
        if len(core) >= MIN_SECRET_LEN:
            found.setdefault(core, "base64")
            found.setdefault(core.replace("+", "-").replace("/", "_"), "base64")
    return found


_WINDOW = 4  # every spelling has at least 2 * _WINDOW - 1 characters: look at every 4th position


def scan(records: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """Return ``(origin, masked secret and encoding)`` for every record containing a secret value
    in any of its :func:`encoded_forms`."""
    windows: dict[str, list[tuple[int, str, str]]] = {}
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_LEN}):
        for spelling, name in encoded_forms(secret).items():
            label = secret[:3] + "…" + ("" if name == "raw" else f" ({name})")
            for offset in range(_WINDOW):
                windows.setdefault(spelling[offset : offset + _WINDOW], []).append((offset, spelling, label))
    hits = []
    for origin, text in records:
        labels: set[str] = set()
        for position in range(0, len(text) - _WINDOW + 1, _WINDOW):
            for offset, spelling, label in windows.get(text[position : position + _WINDOW], ()):
                if label not in labels and text.startswith(spelling, position - offset) and position >= offset:
                    labels.add(label)
        hits += [(origin, label) for label in sorted(labels)]
    return hits


def tool_files(root: Path) -> Iterator[tuple[str, str]]:
    """Text of the files written under ``root``, minus the exempt ones (see module docstring)."""
    if not root.exists():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _EXEMPT_DIRS]
        for name in filenames:
            if name.endswith(_EXEMPT_SUFFIXES) or name in _EXEMPT_NAMES or "secret" in name.lower():
                continue
            path = Path(dirpath) / name
            try:
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode) or info.st_size > 5_000_000:  # FIFOs, links: not output
                    continue
                yield str(path), path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue


def records() -> list[tuple[str, str]]:
    return list(_records)


def secrets() -> set[str]:
    return set(_secrets)
