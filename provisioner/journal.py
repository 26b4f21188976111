"""The local journal of apply operations (``.provisioner/journal/``).

One JSON-lines file per apply run: a ``start`` record (stack, target, planned changes), a ``before``
record per planned change (the object's managed fields before the run, for :mod:`provisioner.undo`),
one record per step as it is attempted and as it ends (``ok`` / ``failed`` with the cause), and an
``end`` record (done / failed / not attempted, or ``interrupted``). It lets an operator see what an
interrupted or failed run did, and ``provisioner undo`` plan the way back; it is never replayed: apply
re-plans from the tenant and converges. Every record passes through the redaction layer: no secret
values, no tokens.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from provisioner import redact

#: Step records are fsynced at most this often (seconds); see :meth:`Journal.record`.
SYNC_INTERVAL = 0.25


class Journal:
    """Append-only JSON-lines journal; thread-safe.

    Every line is flushed to the operating system as it is written, so a killed process loses nothing.
    Against a power loss, ``sync=True`` records (and :meth:`sync`, :meth:`close`) are fsynced before
    they return; other records are fsynced in groups, at most every :data:`SYNC_INTERVAL` seconds, by
    whichever writer comes due, outside the write lock: one fsync per record under the lock serialised
    every worker of an apply behind the disk (about 40 % of a 2,000-write apply's wall time).
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, clock: Callable[[], float] = time.time, run_id: str | None = None
    ) -> None:
        self.directory = Path(directory)
        self._clock = clock
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._synced_at = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
        self.run_id = run_id or f"{stamp}-{os.getpid()}"
        self.path = self.directory / f"apply-{self.run_id}.jsonl"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def record(self, event: str, *, sync: bool = False, **fields: Any) -> None:
        """Append one record: ``{"at": <unix time>, "event": event, ...fields}`` (redacted); with
        ``sync`` it is on disk when this returns."""
        entry = {"at": round(self._clock(), 3), "event": event, **fields}
        line = redact.dumps(entry, sort_keys=True, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
        if sync:
            self.sync()
        elif time.monotonic() - self._synced_at >= SYNC_INTERVAL and self._sync_lock.acquire(blocking=False):
            try:
                self._fsync()
            finally:
                self._sync_lock.release()

    def sync(self) -> None:
        """Put every record written so far on disk."""
        with self._sync_lock:
            self._fsync()

    def _fsync(self) -> None:
        self._synced_at = time.monotonic()
        try:
            os.fsync(self._file.fileno())
        except ValueError:  # closed meanwhile: close() synced it
            pass

    def close(self) -> None:
        with self._sync_lock, self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read(path: str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    """The records of one journal file, in order."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def latest(directory: str | os.PathLike[str]) -> Path | None:
    """The newest journal file in ``directory``, if any."""
    files = sorted(Path(directory).glob("apply-*.jsonl"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None
