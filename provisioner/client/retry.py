"""Retry decisions: a small pure function, explicit backoff, testable without HTTP or sleeping.

Policy (reference §9.4, DESIGN §6): idempotent requests (GET, HEAD, PUT, DELETE, and PATCH when the
caller marks it idempotent) are retried on 429, 500, 502, 503, 504 and connection errors, with capped
exponential backoff and full jitter, honouring ``Retry-After``; at most ``max_attempts`` tries and a
shared time budget per run. POST is never retried. A create (``PUT`` + ``If-None-Match: *``) that
failed ambiguously (the request may have been applied) is not retried: the caller re-reads instead.
Other 4xx are logic signals, never retried. 401 is handled by the session (one token refresh).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: ``error`` values for :func:`decide`: the request never left (safe to resend) ...
CONNECT = "connect"
#: ... or it may have reached the server (timeout or drop after sending).
AMBIGUOUS = "ambiguous"


def _jitter() -> float:
    """``random.random()``, the module imported on the first retry (most runs never need it)."""
    import random

    return random.random()


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry. ``random`` returns a float in [0, 1) (inject for deterministic tests)."""

    max_attempts: int = 5
    base: float = 1.0
    cap: float = 16.0
    budget_seconds: float = 120.0
    random: Callable[[], float] = field(default=lambda: _jitter(), compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Full-jitter delay after failed attempt ``attempt`` (1-based): ``U(0, min(cap, base·2^(n-1)))``."""
        ceiling = min(self.cap, self.base * (2 ** max(attempt - 1, 0)))
        return float(self.random() * ceiling)


@dataclass(frozen=True)
class Decision:
    """Whether to retry, after how many seconds, and why (for traces and error messages)."""

    retry: bool
    delay: float
    reason: str


class RetryBudget:
    """The seconds of retry waiting left for the whole run, shared by every request and thread."""

    def __init__(self, seconds: float) -> None:
        self._left = float(seconds)
        self._lock = threading.Lock()

    def remaining(self) -> float:
        with self._lock:
            return self._left

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._left = max(0.0, self._left - max(0.0, seconds))


def parse_retry_after(value: str | float | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); ``None`` if unusable."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return max(0.0, float(value))
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    import email.utils  # an HTTP date: rare, and the email package is slow to import

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def is_idempotent(method: str, idempotent: bool | None = None) -> bool:
    """An explicit mark wins; otherwise GET/HEAD/OPTIONS/PUT/DELETE are idempotent, POST/PATCH are not."""
    return idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS


def decide(
    method: str,
    attempt: int,
    *,
    status: int | None = None,
    error: str | None = None,
    retry_after: float | None = None,
    elapsed: float = 0.0,
    budget: float | None = None,
    policy: RetryPolicy = RetryPolicy(),
    idempotent: bool | None = None,
    create: bool = False,
) -> Decision:
    """Decide whether failed attempt number ``attempt`` (1-based) of ``method`` is tried again.

    ``status``: the HTTP status, or ``None`` with ``error`` = :data:`CONNECT` / :data:`AMBIGUOUS`.
    ``retry_after``: seconds the server asked for. ``elapsed``: seconds this request has taken so far;
    ``budget``: seconds of retry waiting left in the run (default ``policy.budget_seconds``).
    ``create``: the request creates only (``If-None-Match: *``), so an ambiguous failure is not retried.
    """
    method = method.upper()
    what = str(status) if status is not None else (error or "no response")
    if status is not None and status < 400:
        return Decision(False, 0.0, f"{status} is not a failure")
    if error == AMBIGUOUS and create:
        return Decision(False, 0.0, "a create may have been applied; re-read instead of retrying")
    if not is_idempotent(method, idempotent):
        return Decision(False, 0.0, f"{method} is not idempotent; not retried")
    if status is not None and status not in RETRYABLE_STATUSES:
        return Decision(False, 0.0, f"{status} is not retryable")
    if status is None and error not in (CONNECT, AMBIGUOUS):
        return Decision(False, 0.0, f"{what} is not retryable")
    if attempt >= policy.max_attempts:
        return Decision(False, 0.0, f"{what}: gave up after {attempt} attempts")
    if retry_after is not None:
        delay, source = max(0.0, float(retry_after)), "Retry-After"
    else:
        delay, source = policy.backoff(attempt), "backoff"
    left = policy.budget_seconds if budget is None else budget
    if delay > left:
        return Decision(
            False, 0.0, f"{what}: waiting {delay:.1f}s ({source}) exceeds the retry budget left ({left:.1f}s)"
        )
    if elapsed + delay > policy.budget_seconds:
        return Decision(False, 0.0, f"{what}: request would exceed {policy.budget_seconds:.0f}s of retrying")
    return Decision(True, delay, f"{what}: attempt {attempt + 1}/{policy.max_attempts} in {delay:.2f}s ({source})")
