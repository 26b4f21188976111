"""Fault injection rules for ``/_emulator/faults`` (reference §9.4, §11 row 28).

A rule: ``{"path": regex, "method"?: "PUT", "probability": 0..1, "action": "status"|"drop-before"|
"drop-after"|"latency"|"respond", "status"?: 500|503|429, "retryAfter"?: s, "latencyMs"?: n, "count"?: n,
"seed"?: int}``. Latency rules all apply; then the first other matching rule fires.

``respond`` answers in place of the tenant with a response that is not what the API documents, to
test that clients refuse it: ``"status"`` (default 200), and ``"body"`` (any JSON value, sent as is) or
``"raw"`` (text sent byte for byte, e.g. a truncated document or an HTML error page); ``"handle": true``
runs the real handler first (the write happens) and then answers with the injected response.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

#: Longest accepted ``path`` pattern; request targets are matched on their first 2 KiB only.
MAX_PATTERN = 200
MAX_TARGET = 2048
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_MAXREPEAT = __import__("re")._constants.MAXREPEAT


def _unbounded(items: Any) -> int:
    """How many unbounded repetitions (``*``, ``+``, ``{n,}``) a parsed pattern holds."""
    count = 0
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            count += (arg[1] == _MAXREPEAT) + _unbounded(arg[2])
        elif name == "SUBPATTERN":
            count += _unbounded(arg[-1])
        elif name == "BRANCH":
            count += sum(_unbounded(branch) for branch in arg[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            count += _unbounded(arg[1])
    return count


def _risky(items: Any, inside_repeat: bool) -> str | None:
    """Why a parsed pattern could backtrack exponentially: a repetition (``+``, ``*``, ``{n,}``) that
    contains another repetition or an alternation, as in ``(a+)+$`` or ``(a|a)*``; else None."""
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            unbounded = high > 1
            if inside_repeat and unbounded:
                return "a repetition inside a repetition"
            found = _risky(sub, inside_repeat or unbounded)
            if found:
                return found
        elif name == "BRANCH":
            if inside_repeat:
                return "an alternation inside a repetition"
            for branch in arg[1]:
                found = _risky(branch, inside_repeat)
                if found:
                    return found
        elif name == "SUBPATTERN":
            found = _risky(arg[-1], inside_repeat)
            if found:
                return found
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _risky(arg[1], inside_repeat)
            if found:
                return found
        elif name == "GROUPREF" or name == "GROUPREF_EXISTS":
            return "a back-reference"
    return None


def compile_path(pattern: str) -> re.Pattern[str]:
    """Compile a rule's ``path`` regex, refusing the shapes that backtrack exponentially (the
    emulator matches every request against every rule: ``(a+)+$`` froze it)."""
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's own parser, to inspect the shape

    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"path regex is longer than {MAX_PATTERN} characters")
    try:
        parsed = _parser.parse(pattern)
    except re.error as exc:
        raise ValueError(f"bad path regex: {exc}") from None
    problem = _risky(list(parsed), False)
    if not problem and _unbounded(list(parsed)) > 1:  # '.*a.*b' takes seconds on a 2 KiB path
        problem = "more than one unbounded repetition (*, +)"
    if problem:
        raise ValueError(
            f"path regex {pattern!r} has {problem}, which can take exponential time; "
            "use a literal part of the path or a simpler pattern"
        )
    return re.compile(pattern)


ACTIONS = ("status", "drop-before", "drop-after", "latency", "respond")


@dataclass
class Rule:
    spec: dict[str, Any]
    pattern: re.Pattern[str]
    rng: random.Random
    fired: int = 0

    def matches(self, method: str, target: str) -> bool:
        method_wanted = self.spec.get("method")
        if method_wanted and method_wanted.upper() != method:
            return False
        if not self.pattern.search(target[:MAX_TARGET]):
            return False
        count = self.spec.get("count")
        if count is not None and self.fired >= int(count):
            return False
        return self.rng.random() < float(self.spec.get("probability", 1.0))


@dataclass
class Decision:
    latency_ms: int = 0
    action: str | None = None
    rule: dict[str, Any] = field(default_factory=dict)


def validate(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("a fault rule must be an object")
    if not isinstance(spec.get("path"), str):
        raise ValueError("a fault rule needs a 'path' regex")
    compile_path(spec["path"])
    action = spec.get("action", "status")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    probability = spec.get("probability", 1.0)
    if not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        raise ValueError("probability must be between 0 and 1")
    if action == "status" and int(spec.get("status", 503)) < 400:
        raise ValueError("status must be an HTTP error status")
    if action == "respond":
        if "raw" in spec and not isinstance(spec["raw"], str):
            raise ValueError("raw must be a string")
        if not 100 <= int(spec.get("status", 200)) <= 599:
            raise ValueError("status must be an HTTP status")
    return {**spec, "action": action, "probability": probability}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def set(self, specs: Any) -> list[dict[str, Any]]:
        if isinstance(specs, dict):
            specs = specs.get("rules", [specs])
        if not isinstance(specs, list):
            raise ValueError("expected a list of fault rules")
        rules = []
        for spec in specs:
            spec = validate(spec)
            rules.append(Rule(spec, compile_path(spec["path"]), random.Random(spec.get("seed"))))
        with self._lock:
            self._rules = rules
        return self.list()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**r.spec, "fired": r.fired} for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def decide(self, method: str, target: str) -> Decision:
        decision = Decision()
        with self._lock:
            for rule in self._rules:
                action = rule.spec["action"]
                if action != "latency" and decision.action is not None:
                    continue
                if not rule.matches(method, target):
                    continue
                rule.fired += 1
                if action == "latency":
                    decision.latency_ms += int(rule.spec.get("latencyMs", 0))
                else:
                    decision.action, decision.rule = action, rule.spec
        return decision
