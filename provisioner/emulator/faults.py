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
        if not self.pattern.search(target):
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
    try:
        re.compile(spec["path"])
    except re.error as exc:
        raise ValueError(f"bad path regex: {exc}") from None
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
            rules.append(Rule(spec, re.compile(spec["path"]), random.Random(spec.get("seed"))))
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
