"""Request counters for ``/_emulator/stats`` (benchmarks and tests)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

READ_METHODS = ("GET", "HEAD")


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self._reads = 0
            self._writes = 0
            self._tokens = 0
            self._oauth = 0
            self._by_method: Counter[str] = Counter()
            self._by_route: Counter[str] = Counter()

    def record(self, method: str, route: str, category: str) -> None:
        """``category``: ``api`` (the admin API), ``token`` (token endpoints) or ``oauth`` (other runtime)."""
        with self._lock:
            if category == "token":
                self._tokens += 1
                return
            if category == "oauth":
                self._oauth += 1
                return
            if method in READ_METHODS:
                self._reads += 1
            else:
                self._writes += 1
            self._by_method[method] += 1
            self._by_route[f"{method} {route}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._reads + self._writes,
                "reads": self._reads,
                "writes": self._writes,
                "tokens": self._tokens,
                "oauth": self._oauth,
                "byMethod": dict(sorted(self._by_method.items())),
                "byRoute": dict(sorted(self._by_route.items())),
            }
