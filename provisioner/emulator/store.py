"""SQLite persistence: JSON documents by (namespace, id), plus a small key/value table.

Writes and lookups cost O(log n): ``seq`` has its own index (``MAX(seq)`` on every insert scanned
the table), and the two unique IDM properties (``name``, ``userName``) have expression indexes for
:meth:`Store.items_where`.

One connection. A request that may write runs inside :meth:`Store.transaction` (exclusive, one SQLite
transaction, committed at the end, rolled back on error); a read runs inside
:meth:`Store.read_transaction` (shared with other reads). ``path=None`` is in-memory.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (ns TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
                                    doc TEXT NOT NULL, PRIMARY KEY (ns, id));
CREATE INDEX IF NOT EXISTS objects_by_seq ON objects (ns, seq);
CREATE INDEX IF NOT EXISTS objects_seq ON objects (seq);
CREATE INDEX IF NOT EXISTS objects_name ON objects (ns, json_extract(doc, '$.name'));
CREATE INDEX IF NOT EXISTS objects_user_name ON objects (ns, json_extract(doc, '$.userName'));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_PROP = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _private_file(path: str) -> None:
    """Create ``path`` (and its WAL side files) readable by the owner only, or tighten it to 0600.
    SQLite gives ``-wal`` and ``-shm`` files the main database file's mode."""
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        if name == path or os.path.exists(name):
            os.close(os.open(name, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(name, 0o600)


class NeedsWrite(Exception):
    """A write was attempted inside :meth:`Store.read_transaction` (nothing was written): the caller
    runs the request again inside :meth:`Store.transaction`."""


class Store:
    """Transactional document store (thread-safe): many readers at once, or one writer.

    :meth:`transaction` is exclusive (one SQLite transaction, committed at the end, rolled back on error);
    :meth:`read_transaction` is shared: reads run side by side and never wait for each other, only for
    a writer. Any write inside a read transaction raises :class:`NeedsWrite` before it happens.
    ``generation`` grows with every write: a cache key for whatever is rendered from the state.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._conn = threading.RLock()  # the one SQLite connection: each statement, briefly
        self._rw = threading.Condition(threading.Lock())
        self._readers = 0
        self._waiting_readers = 0
        self._writer: int | None = None  # the thread id of the writer
        self._depth = 0
        self._local = threading.local()  # .mode: "r" inside a read transaction
        self.generation = 0
        # Meta values (JSON text) as committed, and as written by the running transaction until it
        # commits: most requests read a few (the revision counter, the feature switch), and each read
        # was a query. Filled only while no transaction can commit under it (the read lock or the
        # writer role is held).
        self._meta: dict[str, str] = {}
        self._meta_pending: dict[str, str] = {}
        self._meta_scalar: dict[str, tuple[str, Any]] = {}  # key → (text, its decoded immutable value)
        if path:
            _private_file(path)  # the store holds client secrets in clear: owner-only, like a key file
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Serialise with every other request; commit on success, roll back on any exception.

        Inside a read transaction of the same thread it stays a read (writes raise :class:`NeedsWrite`).
        """
        if getattr(self._local, "mode", None) == "r":
            yield self
            return
        me = threading.get_ident()
        with self._rw:
            while self._readers or (self._writer is not None and self._writer != me):
                self._rw.wait()
            self._writer = me
        outermost = self._depth == 0
        try:
            if outermost:
                with self._conn:
                    self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    with self._conn:
                        self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                with self._conn:
                    self._flush_meta()
                    self._db.execute("COMMIT")
                self._meta.update(self._meta_pending)
        finally:
            if outermost:
                self._meta_pending.clear()
                with self._rw:
                    self._writer = None
                    self._wake()

    @contextmanager
    def read_transaction(self) -> Iterator[Store]:
        """A shared, read-only section: other readers run at the same time; writers wait for it."""
        if getattr(self._local, "mode", None) == "r" or self._writer == threading.get_ident():
            yield self
            return
        with self._rw:
            if self._writer is not None:
                self._waiting_readers += 1
                while self._writer is not None:
                    self._rw.wait()
                self._waiting_readers -= 1
            self._readers += 1
        self._local.mode = "r"
        try:
            yield self
        finally:
            self._local.mode = None
            with self._rw:
                self._readers -= 1
                if not self._readers:
                    self._wake()

    def _wake(self) -> None:
        """The lock is free: wake every waiting reader (they share it), else ONE writer. Waking every
        writer on each release made the others wake and sleep again: an eighth of the emulator's CPU
        under eight parallel writes. A woken writer always finds the lock free unless a new arrival
        took it first, and that one wakes the next when it is done, so no waiter is forgotten."""
        if self._waiting_readers:
            self._rw.notify_all()
        else:
            self._rw.notify()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        if self._writer == threading.get_ident() or getattr(self._local, "mode", None) == "r":
            with self._conn:
                yield
            return
        with self.read_transaction(), self._conn:
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if getattr(self._local, "mode", None) == "r":
            raise NeedsWrite()
        with self.transaction(), self._conn:
            self.generation += 1
            yield

    # -- documents ---------------------------------------------------------------------------------

    def get(self, ns: str, id: str) -> Any:
        with self._reading():
            row = self._db.execute("SELECT doc FROM objects WHERE ns=? AND id=?", (ns, id)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, ns: str, id: str, doc: Any) -> None:
        text = json.dumps(doc, separators=(",", ":"), check_circular=False)
        with self._writing():
            self._db.execute(
                "INSERT INTO objects (ns, id, seq, doc) VALUES (?, ?, "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM objects), ?) "
                "ON CONFLICT (ns, id) DO UPDATE SET doc = excluded.doc",
                (ns, id, text),
            )

    def delete(self, ns: str, id: str) -> bool:
        with self._writing():
            return self._db.execute("DELETE FROM objects WHERE ns=? AND id=?", (ns, id)).rowcount > 0

    def items(self, ns: str) -> list[tuple[str, Any]]:
        """``(id, doc)`` pairs of a namespace in creation order."""
        with self._reading():
            rows = self._db.execute("SELECT id, doc FROM objects WHERE ns=? ORDER BY seq", (ns,)).fetchall()
        return [(row[0], json.loads(row[1])) for row in rows]

    def items_text(self, ns: str) -> list[tuple[str, str]]:
        """``(id, stored JSON text)`` pairs of a namespace in creation order (callers that memoise what
        they derive from a document key it by this text)."""
        with self._reading():
            rows = self._db.execute("SELECT id, doc FROM objects WHERE ns=? ORDER BY seq", (ns,)).fetchall()
        return [(row[0], row[1]) for row in rows]

    def items_where(self, ns: str, prop: str, value: str) -> list[tuple[str, Any]]:
        """``(id, doc)`` pairs whose top-level string ``prop`` may equal ``value``, in creation order.

        A superset (callers compare the decoded documents): also matches a non-string JSON value
        whose SQL form equals ``value``.
        """
        if not _PROP.fullmatch(prop):
            raise ValueError(f"not a property name: {prop!r}")
        with self._reading():
            # Sorted here, not by SQL: ORDER BY seq makes SQLite walk the (ns, seq) index instead.
            rows = self._db.execute(
                f"SELECT id, doc, seq FROM objects WHERE ns=? AND json_extract(doc, '$.{prop}') = ?", (ns, value)
            ).fetchall()
        return [(row[0], json.loads(row[1])) for row in sorted(rows, key=lambda row: row[2])]

    def items_containing(self, ns: str, value: str) -> list[tuple[str, Any]]:
        """``(id, doc)`` pairs whose stored JSON contains the string ``value`` anywhere, in creation order.

        A superset for "some string in the document equals ``value``" (callers compare the decoded
        documents); it saves decoding every document of a namespace.
        """
        needle = json.dumps(value)  # as put() encodes it (same escaping), quotes included
        with self._reading():
            rows = self._db.execute(
                "SELECT id, doc FROM objects WHERE ns=? AND instr(doc, ?) > 0 ORDER BY seq", (ns, needle)
            ).fetchall()
        return [(row[0], json.loads(row[1])) for row in rows]

    def namespaces(self) -> list[str]:
        with self._reading():
            return [r[0] for r in self._db.execute("SELECT DISTINCT ns FROM objects ORDER BY ns")]

    # -- meta --------------------------------------------------------------------------------------

    def meta(self, key: str, default: Any = None) -> Any:
        text = self._meta_pending.get(key) if self._writer == threading.get_ident() else None
        if text is None:
            text = self._meta.get(key)
        if text is None:
            with self._reading():
                row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
                if row is None:
                    return default
                text = row[0]
                if key not in self._meta_pending:  # committed: no write of this transaction in it
                    self._meta[key] = text
        known = self._meta_scalar.get(key)
        if known is not None and known[0] == text:
            return known[1]
        value = json.loads(text)  # a fresh value every time: callers may change what they get
        if isinstance(value, (str, int, float, bool)):
            self._meta_scalar[key] = (text, value)  # immutable: decoded once per version of the text
        return value

    def set_meta(self, key: str, value: Any) -> None:
        """Set a meta value; it is written to the database when the transaction commits (a request
        that takes several revisions writes the counter once)."""
        text = json.dumps(value)
        with self._writing():
            self._meta_pending[key] = text

    def _flush_meta(self) -> None:
        if self._meta_pending:
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(self._meta_pending.items()),
            )

    def clear(self, keep_meta: tuple[str, ...] = ()) -> None:
        """Delete every document and every meta key not in ``keep_meta``."""
        with self._writing():
            self._db.execute("DELETE FROM objects")
            marks = ",".join("?" * len(keep_meta)) or "''"
            self._flush_meta()  # values set earlier in this transaction: kept ones stay
            self._db.execute(f"DELETE FROM meta WHERE key NOT IN ({marks})", keep_meta)
            self._meta.clear()  # misses read the database again (and wait for this transaction)
            # What this transaction set of the kept keys is still its own (uncommitted) until it commits.
            self._meta_pending = {k: v for k, v in self._meta_pending.items() if k in keep_meta}

    def close(self) -> None:
        with self._conn:
            self._db.close()
