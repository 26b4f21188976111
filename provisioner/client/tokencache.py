"""An on-disk cache of service-account access tokens, shared by consecutive runs.

Every token request opens an AM session and a service account may hold at most five at once
(reference §2.3), while a token lives about 15 minutes. A pipeline that runs validate, plan, apply,
verify and a drift plan in one job would otherwise open a session per command and hit the limit.
frodo-lib solves this the same way: keep the token on disk and reuse it until shortly before it
expires.

The file holds live bearer tokens, so it never sits in the working directory (pipelines collect
artifacts from there): it lives in the per-user cache directory (``$XDG_CACHE_HOME/provisioner`` or
``~/.cache/provisioner``; ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows), is created
with mode 0600 (its folder 0700) and is refused when others can read it. With ``CI`` set, tokens are
cached in memory only (one process). ``PROVISIONER_TOKEN_CACHE=off`` disables caching,
``PROVISIONER_TOKEN_CACHE=/path/file.json`` picks the file. Entries are keyed by a hash of (token URL,
service-account id, scopes); expired entries are dropped on write.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from provisioner import redact

if TYPE_CHECKING:
    from pathlib import Path

_lock = threading.Lock()

ENV_VAR = "PROVISIONER_TOKEN_CACHE"
FILE_NAME = "token-cache.json"
_OFF = ("0", "off", "false", "no", "none")
_AUTO = ("", "1", "on", "true", "yes", "auto")


def user_cache_dir(environ: Mapping[str, str]) -> Path:
    """The per-user cache directory for provisioner (outside any checkout)."""
    from pathlib import Path

    return Path(user_cache_folder(environ))


def user_cache_folder(environ: Mapping[str, str]) -> str:
    """:func:`user_cache_dir` as a string: ``validate`` (the manifest cache's key) starts without pathlib."""
    if environ.get("XDG_CACHE_HOME"):
        return os.path.join(environ["XDG_CACHE_HOME"], "provisioner")
    home = environ.get("HOME") or os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "provisioner")
    if os.name == "nt" and environ.get("LOCALAPPDATA"):
        return os.path.join(environ["LOCALAPPDATA"], "provisioner", "Cache")
    return os.path.join(home, ".cache", "provisioner")


def for_environment(environ: Mapping[str, str]) -> TokenCache | MemoryTokenCache | None:
    """The cache a run uses: off, a file named by the variable, memory only under CI, else the
    per-user cache directory."""
    value = (environ.get(ENV_VAR) or "").strip()
    if value.lower() in _OFF:
        return None
    if value.lower() not in _AUTO:
        from pathlib import Path

        return TokenCache(Path(value).expanduser())
    if environ.get("CI"):
        return MEMORY
    return TokenCache(user_cache_dir(environ) / FILE_NAME)


class TokenCache:
    """A JSON file ``{key: {"token": ..., "expiresAt": epoch seconds}}`` with mode 0600."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from pathlib import Path

        self.path = Path(path)

    @staticmethod
    def key(audience: str, sa_id: str, scopes: str) -> str:
        return hashlib.sha256(f"{audience}\n{sa_id}\n{scopes}".encode()).hexdigest()[:32]

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return {}
        if stat.S_IMODE(mode) & 0o077:
            return {}  # someone else could have read or planted it: ignore it, it gets rewritten 0600
        from provisioner import safefile

        try:  # a FIFO or a device planted at the path is ignored, not waited on
            data = json.loads(safefile.read_bytes(self.path, 4 * 1024 * 1024, what="token cache").decode("utf-8"))
        except (OSError, ValueError, safefile.FileRefused):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, *, now: float, margin: float) -> tuple[str, float] | None:
        """A cached token valid for at least ``margin`` more seconds, as ``(token, expires_at)``."""
        with _lock:
            entry = self._read().get(key)
        if not isinstance(entry, dict):
            return None
        token, expires_at = entry.get("token"), entry.get("expiresAt")
        if not isinstance(token, str) or not isinstance(expires_at, (int, float)):
            return None
        if expires_at - now <= margin:
            return None
        redact.register(token)
        return token, float(expires_at)

    def put(self, key: str, token: str, expires_at: float, *, now: float) -> None:
        with _lock:
            data = {
                k: v
                for k, v in self._read().items()
                if isinstance(v, dict) and isinstance(v.get("expiresAt"), (int, float)) and float(v["expiresAt"]) > now  # type: ignore[arg-type]
            }
            data[key] = {"token": token, "expiresAt": expires_at}
            self._write(data)

    def drop(self, key: str) -> None:
        with _lock:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    def _write(self, data: Mapping[str, object]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written (read-only home) only costs a session per run


class MemoryTokenCache:
    """The same interface, in this process's memory only (used under CI)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}

    def get(self, key: str, *, now: float, margin: float) -> tuple[str, float] | None:
        with _lock:
            entry = self._data.get(key)
        if entry is None or entry[1] - now <= margin:
            return None
        return entry

    def put(self, key: str, token: str, expires_at: float, *, now: float) -> None:
        with _lock:
            self._data[key] = (token, expires_at)

    def drop(self, key: str) -> None:
        with _lock:
            self._data.pop(key, None)


MEMORY = MemoryTokenCache()
