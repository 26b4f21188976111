"""Sending one HTTP request with a total deadline and a cap on the response body.

``requests``' timeout is per socket read: a server that drips one byte every 10 s never trips it, and
a 400 MB body is read into memory whole. :func:`send` streams the body instead, and stops when the
whole exchange (connect, headers and body) has taken longer than the deadline or the body (after
content decoding: a gzip bomb counts at its real size) grows past the cap. The deadline is kept by a
watchdog (one thread for all requests) that shuts the request's socket down, so a read blocked mid-header ends too; it needs
the session to use :class:`BoundedAdapter` (which records each request's connection).

Both bounds are configurable: ``PROVISIONER_HTTP_DEADLINE`` (seconds, default 120) and
``PROVISIONER_HTTP_MAX_BYTES`` (default 64 MiB), read by :func:`limits_from`.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEADLINE_VARIABLE = "PROVISIONER_HTTP_DEADLINE"
MAX_BYTES_VARIABLE = "PROVISIONER_HTTP_MAX_BYTES"


@dataclass(frozen=True)
class HttpLimits:
    """The bounds on one request: ``deadline`` seconds in all, at most ``max_bytes`` of body."""

    deadline: float = 120.0
    max_bytes: int = 64 * 1024 * 1024


class LimitExceeded(Exception):
    """The response took too long in all or was too large; ``str()`` says which (no URL, no body)."""


def limits_from(environ: Mapping[str, str]) -> HttpLimits:
    """:class:`HttpLimits` from the environment; a bad value is a :class:`ValueError` naming the variable."""
    defaults = HttpLimits()
    out = {}
    for name, field, kind in ((DEADLINE_VARIABLE, "deadline", float), (MAX_BYTES_VARIABLE, "max_bytes", int)):
        raw = (environ.get(name) or "").strip()
        if not raw:
            out[field] = getattr(defaults, field)
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"{name} must be a positive number, not {raw!r}") from None
        if not value > 0:
            raise ValueError(f"{name} must be a positive number, not {raw!r}")
        out[field] = value
    return HttpLimits(**out)


class _Watch:
    """One request's watchdog: the socket its response arrives on, shut down when time is up."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.fired = False
        self.done = False  # the request finished: the watchdog drops it

    def attach(self, sock: socket.socket | None) -> None:
        with self.lock:
            self.sock = sock
            fire = self.fired
        if fire:
            self.fire()

    def fire(self) -> None:
        with self.lock:
            self.fired = True
            sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Watchdog:
    """ONE thread that fires every request's watch at its deadline (a timer thread per request cost more
    CPU than the rest of the request path): a heap of (deadline, seq, watch); finished requests are
    marked done and dropped when they reach the top."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, when: float, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="provisioner-http-deadline", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    when = self._heap[0][0]
                    now = time.monotonic()
                    if when <= now:
                        watch = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(when - now)
            watch.fire()


_WATCHDOG = _Watchdog()
_current = threading.local()


class _Tracked:
    """Connection mixin: tells the calling thread's watch which socket the response comes on."""

    sock: Any

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _TrackedHTTPConnection(_Tracked, HTTPConnection):
    pass


class _TrackedHTTPSConnection(_Tracked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class BoundedAdapter(HTTPAdapter):
    """An :class:`HTTPAdapter` whose connections report to :func:`send`'s watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _per_read(timeout: Any, remaining: float) -> Any:
    if isinstance(timeout, tuple):
        connect, read = timeout
        return (min(connect, remaining), min(read, remaining))
    return min(timeout, remaining) if timeout is not None else remaining


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    limits: HttpLimits,
    timeout: Any = None,
    clock: Callable[[], float] = time.monotonic,
    **kwargs: Any,
) -> requests.Response:
    """``session.request(...)`` whose response body is read within ``limits``; :class:`LimitExceeded`
    otherwise (transport errors are ``requests`` exceptions, as usual)."""
    started = clock()
    watch = _Watch()
    _current.watch = watch
    _WATCHDOG.add(time.monotonic() + limits.deadline, watch)
    try:
        return _exchange(session, method, url, limits, timeout, clock, started, watch, kwargs)
    finally:
        watch.done = True
        _current.watch = None


def _exchange(
    session: requests.Session,
    method: str,
    url: str,
    limits: HttpLimits,
    timeout: Any,
    clock: Callable[[], float],
    started: float,
    watch: _Watch,
    kwargs: dict[str, Any],
) -> requests.Response:
    late = f"no complete response within the {limits.deadline:g} s deadline"
    try:
        raw = session.request(method, url, stream=True, timeout=_per_read(timeout, limits.deadline), **kwargs)
    except requests.exceptions.RequestException:
        if watch.fired:
            raise LimitExceeded(late) from None
        raise
    try:
        declared = raw.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise LimitExceeded(f"the response is larger than {limits.max_bytes} bytes ({declared} declared)")
        chunks, size = [], 0
        while True:
            if watch.fired or clock() - started >= limits.deadline:
                raise LimitExceeded(late)
            try:
                chunk = raw.raw.read1(65536, decode_content=True)
            except Exception as exc:  # urllib3 wraps socket errors; after the watchdog fired they are ours
                if watch.fired:
                    raise LimitExceeded(late) from None
                raise requests.exceptions.ConnectionError(exc) from None
            if not chunk:
                if watch.fired:  # the shut-down socket reads as end of file
                    raise LimitExceeded(late)
                break
            size += len(chunk)
            if size > limits.max_bytes:
                raise LimitExceeded(f"the response is larger than {limits.max_bytes} bytes")
            chunks.append(chunk)
        raw._content = b"".join(chunks)
        raw._content_consumed = True  # type: ignore[attr-defined]
    except BaseException:
        raw.close()
        raise
    return raw
