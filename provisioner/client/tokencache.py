"""An on-disk cache of service-account access tokens, shared by consecutive runs.

Every token request opens an AM session and a service account may hold at most five at once
(reference §2.3), while a token lives about 15 minutes. A pipeline that runs validate, plan, apply,
verify and a drift plan in one job would otherwise open a session per command and hit the limit.
frodo-lib solves this the same way: keep the token on disk and reuse it until shortly before it
expires.

The file holds live bearer tokens, so it is created with mode 0600 in ``.provisioner/`` and refused
when it is readable by others. Entries are keyed by a hash of (token URL, service-account id, scopes);
expired entries are dropped on write. ``PROVISIONER_TOKEN_CACHE=off`` disables it.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from pathlib import Path

from provisioner import redact

_lock = threading.Lock()


class TokenCache:
    """A JSON file ``{key: {"token": ..., "expiresAt": epoch seconds}}`` with mode 0600."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
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
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
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
            data = {k: v for k, v in self._read().items()
                    if isinstance(v, dict) and isinstance(v.get("expiresAt"), (int, float))
                    and float(v["expiresAt"]) > now}  # type: ignore[arg-type]
            data[key] = {"token": token, "expiresAt": expires_at}
            self._write(data)

    def drop(self, key: str) -> None:
        with _lock:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    def _write(self, data: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, sort_keys=True)
        os.replace(tmp, self.path)
