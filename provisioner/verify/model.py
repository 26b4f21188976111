"""The verify report: one :class:`Check` per claim or refusal proved, grouped by agent."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS = "pass"
FAIL = "fail"
SKIP = "skip"
STATUSES = (PASS, FAIL, SKIP)


@dataclass(frozen=True)
class Check:
    """One verified fact.

    ``name``: what was checked (``exchange → logs-app: scope``); ``group``: the agent's client id (one
    JUnit test suite per group); ``expected``/``actual``: short human texts; ``status``: pass, fail or
    skip; ``message``: the diagnosis of a failure or the reason of a skip (empty on pass, usually).
    """

    name: str
    group: str
    expected: str
    actual: str
    status: str
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerifyReport:
    """Every check of one run, in execution order, and the target they ran against."""

    target: str
    realm: str
    checks: tuple[Check, ...] = field(default_factory=tuple)
    #: ``--allow-skipped``: a run where nothing failed but nothing passed either is accepted.
    allow_skipped: bool = False

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def passed(self) -> int:
        return self.count(PASS)

    @property
    def failed(self) -> int:
        return self.count(FAIL)

    @property
    def skipped(self) -> int:
        return self.count(SKIP)

    @property
    def proved_nothing(self) -> bool:
        """No check passed (every one skipped, or none at all): the run is no evidence."""
        return self.passed == 0

    @property
    def ok(self) -> bool:
        """True when every check that ran passed and at least one did (unless ``allow_skipped``)."""
        return self.failed == 0 and (not self.proved_nothing or self.allow_skipped)

    @property
    def groups(self) -> list[str]:
        """Group names in first-seen order."""
        seen: list[str] = []
        for check in self.checks:
            if check.group not in seen:
                seen.append(check.group)
        return seen

    def by_group(self, group: str) -> list[Check]:
        return [c for c in self.checks if c.group == group]

    def summary(self) -> str:
        total = len(self.checks)
        text = f"{total} check{'s' if total != 1 else ''}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "realm": self.realm,
            "ok": self.ok,
            "provedNothing": self.proved_nothing,
            "summary": {
                "total": len(self.checks),
                "passed": self.passed,
                "failed": self.failed,
                "skipped": self.skipped,
            },
            "checks": [c.to_dict() for c in self.checks],
        }
