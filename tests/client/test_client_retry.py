"""Retry decisions: table-driven, pure (no HTTP, no sleeping)."""

from __future__ import annotations

import pytest

from provisioner.client.retry import (
    AMBIGUOUS,
    CONNECT,
    Decision,
    RetryBudget,
    RetryPolicy,
    decide,
    parse_retry_after,
)

HALF = RetryPolicy(random=lambda: 0.5)  # deterministic jitter: half the ceiling

# (method, attempt, kwargs, retry?, delay, reason fragment)
CASES = [
    ("GET", 1, dict(status=503), True, 0.5, "503: attempt 2/5 in 0.50s (backoff)"),
    ("GET", 2, dict(status=502), True, 1.0, "attempt 3/5"),
    ("GET", 3, dict(status=500), True, 2.0, "backoff"),
    ("GET", 4, dict(status=504), True, 4.0, "attempt 5/5"),
    ("GET", 5, dict(status=503), False, 0.0, "503: gave up after 5 attempts"),
    ("PUT", 1, dict(status=429, retry_after=7.0), True, 7.0, "(Retry-After)"),
    ("DELETE", 1, dict(status=429), True, 0.5, "429"),
    ("GET", 1, dict(error=CONNECT), True, 0.5, "connect"),
    ("GET", 1, dict(error=AMBIGUOUS), True, 0.5, "ambiguous"),
    ("PUT", 1, dict(error=AMBIGUOUS), True, 0.5, "ambiguous"),  # a replace is idempotent
    ("PUT", 1, dict(error=AMBIGUOUS, create=True), False, 0.0, "a create may have been applied"),
    ("PUT", 1, dict(error=CONNECT, create=True), True, 0.5, "connect"),  # never reached the server
    ("PUT", 1, dict(status=503, create=True), True, 0.5, "503"),  # the server answered: not applied
    ("POST", 1, dict(status=503), False, 0.0, "POST is not idempotent; not retried"),
    ("POST", 1, dict(error=CONNECT), False, 0.0, "POST is not idempotent"),
    ("POST", 1, dict(status=503, idempotent=True), True, 0.5, "503"),
    ("PATCH", 1, dict(status=503), False, 0.0, "PATCH is not idempotent"),
    ("PATCH", 1, dict(status=503, idempotent=True), True, 0.5, "503"),
    ("GET", 1, dict(status=400), False, 0.0, "400 is not retryable"),
    ("GET", 1, dict(status=401), False, 0.0, "401 is not retryable"),
    ("PUT", 1, dict(status=409), False, 0.0, "409 is not retryable"),
    ("PUT", 1, dict(status=412), False, 0.0, "412 is not retryable"),
    ("GET", 1, dict(status=501), False, 0.0, "501 is not retryable"),
    ("GET", 1, dict(status=200), False, 0.0, "200 is not a failure"),
    ("GET", 1, dict(error="tls"), False, 0.0, "tls is not retryable"),
    (
        "GET",
        1,
        dict(status=429, retry_after=30.0, budget=10.0),
        False,
        0.0,
        "waiting 30.0s (Retry-After) exceeds the retry budget left (10.0s)",
    ),
    ("GET", 2, dict(status=503, elapsed=119.5), False, 0.0, "would exceed 120s"),
    ("get", 1, dict(status=503), True, 0.5, "503"),  # method case does not matter
]


@pytest.mark.parametrize("method,attempt,kwargs,retry,delay,reason", CASES)
def test_decide(method: str, attempt: int, kwargs: dict, retry: bool, delay: float, reason: str) -> None:
    decision = decide(method, attempt, policy=HALF, **kwargs)
    assert isinstance(decision, Decision)
    assert (decision.retry, decision.delay) == (retry, pytest.approx(delay))
    assert reason in decision.reason


def test_backoff_is_capped_full_jitter() -> None:
    top = RetryPolicy(base=1.0, cap=16.0, random=lambda: 0.999999)
    assert [round(top.backoff(n)) for n in range(1, 8)] == [1, 2, 4, 8, 16, 16, 16]
    zero = RetryPolicy(random=lambda: 0.0)
    assert zero.backoff(5) == 0.0


def test_max_attempts_from_policy() -> None:
    policy = RetryPolicy(max_attempts=2, random=lambda: 0.0)
    assert decide("GET", 1, status=503, policy=policy).retry
    assert not decide("GET", 2, status=503, policy=policy).retry


@pytest.mark.parametrize(
    "value,expected",
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        (3, 3.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: object, expected: float | None) -> None:
    now = 1445412470.0  # 2015-10-21 07:27:50 UTC
    assert parse_retry_after(value, now=now) == expected  # type: ignore[arg-type]


def test_budget_is_shared_and_never_negative() -> None:
    budget = RetryBudget(5.0)
    budget.spend(2.0)
    budget.spend(-1.0)
    assert budget.remaining() == 3.0
    budget.spend(10.0)
    assert budget.remaining() == 0.0
    assert not decide("GET", 1, status=503, policy=HALF, budget=budget.remaining()).retry
