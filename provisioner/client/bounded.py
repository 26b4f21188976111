"""The bounds on one HTTP request: a total deadline and a cap on the response body.

A socket timeout is per read: a server that drips one byte every 10 s never trips it, and a 400 MB
body would be read into memory whole. :mod:`.transport` streams the body instead, and stops when the
whole exchange (connect, headers and body) has taken longer than the deadline or the body (after
content decoding: a gzip bomb counts at its real size) grows past the cap. The deadline is kept by a
watchdog (:data:`WATCHDOG`, one thread for all requests) that shuts the request's socket down, so a
read blocked mid-header ends too.

Both bounds are configurable: ``PROVISIONER_HTTP_DEADLINE`` (seconds, default 120) and
``PROVISIONER_HTTP_MAX_BYTES`` (default 64 MiB), read by :func:`limits_from`.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

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


class Watch:
    """One request's watchdog entry: the socket its response arrives on, shut down when time is up."""

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


class Watchdog:
    """ONE thread that fires every request's watch at its deadline (a timer thread per request cost more
    CPU than the rest of the request path): a heap of (deadline, seq, watch); finished requests are
    marked done and dropped when they reach the top."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, when: float, watch: Watch) -> None:
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


WATCHDOG = Watchdog()
