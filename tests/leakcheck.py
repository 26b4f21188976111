"""Whole-suite secret-leak check.

Every byte the tool writes to stdout/stderr during the test session (captured through ``capsys``,
``capfd``, click's ``CliRunner`` and ``subprocess.run``) and every file it writes under the test
session's temporary directory is recorded; at the end of the session all of it is scanned for every
secret value the tests used: the values in the example stacks' ``demo.env`` files, values added with
:func:`add_secret`, and every value registered with ``provisioner.redact`` during the run (resolved
secret references, credentials, tokens). A hit fails the session.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

_records: list[tuple[str, str]] = []
_secrets: set[str] = set()

#: Shorter values are too likely to occur by chance (and the loader refuses such secrets).
MIN_SECRET_LEN = 8

# Files the *tenant* or the *test* writes on purpose with secrets in them: the emulator's state
# (it is the tenant: it stores client secrets) and its service-account key, secret files given to
# `fromFile` references, and dotenv files.
_EXEMPT_SUFFIXES = (".env", ".db", ".db-wal", ".db-shm", ".db-journal", ".key", ".pem", ".jwk",
                    ".py", ".pyc")  # source copies made by packaging tests are inputs, not tool output
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


def scan(records: Iterable[tuple[str, str]], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """Return ``(origin, masked secret)`` for every record containing a secret value."""
    usable = sorted({s for s in secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)
    hits = []
    for origin, text in records:
        for secret in usable:
            if secret in text:
                hits.append((origin, secret[:3] + "…"))
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
                if path.stat().st_size > 5_000_000:
                    continue
                yield str(path), path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue


def records() -> list[tuple[str, str]]:
    return list(_records)


def secrets() -> set[str]:
    return set(_secrets)
