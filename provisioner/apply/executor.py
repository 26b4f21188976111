"""Execute a plan: refuse stale or unsafe plans before any write, then run the changes level by level.

Within a level, writes run in parallel on a bounded thread pool; the next level starts only after the
previous one finished. A change whose dependency failed is not attempted. After the last write the
caller's ``replan`` re-reads the tenant and any remaining difference is reported.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from provisioner import redact
from provisioner.apply.operations import OPERATIONS, ApplyContext
from provisioner.apply.stale import stale_changes
from provisioner.errors import ProvisionerError
from provisioner.kinds.snapshot import ReadScope, Snapshot, read_snapshot
from provisioner.plan.model import Change, Plan
from provisioner.plan.order import levels
from provisioner.plan.prune import prune_count

Progress = Callable[[str], None]


class ApplyRefused(ProvisionerError):
    """Apply did not start: the plan has errors, is stale, or exceeds a safety limit. Nothing was written."""


@dataclass(frozen=True)
class ChangeResult:
    """The outcome of one change: ``done``, ``failed`` (with ``error``) or ``not attempted``."""

    address: str
    action: str
    status: str
    error: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "action": self.action, "status": self.status, "error": self.error,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class ApplyResult:
    """Every change's outcome, plus whatever still differs after apply (``remaining``)."""

    results: tuple[ChangeResult, ...] = ()
    remaining: tuple[str, ...] = ()
    verified: bool = False

    def by_status(self, status: str) -> tuple[ChangeResult, ...]:
        return tuple(r for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return not self.by_status("failed") and not self.by_status("not attempted") and not self.remaining

    def summary(self) -> str:
        done, failed, skipped = (len(self.by_status(s)) for s in ("done", "failed", "not attempted"))
        return f"Apply {'complete' if self.ok else 'incomplete'}: {done} done, {failed} failed, {skipped} not attempted."

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "results": [r.to_dict() for r in self.results], "remaining": list(self.remaining)}


@dataclass
class ApplyOptions:
    """Knobs for :func:`execute`."""

    stack: str = "default"
    parallelism: int = 4
    max_deletes: int = 5
    progress: Progress = field(default=lambda line: None)
    clock: Callable[[], float] = time.monotonic


_SYMBOL = {"done": "✓", "failed": "✗", "not attempted": "-"}


def plan_scopes(plan: Plan) -> list[ReadScope]:
    """The realms a plan touches (no user/group reads are needed to check revisions)."""
    return [ReadScope(realm=r) for r in sorted({c.realm for c in plan.changes})]


def check_plan(plan: Plan, snapshot: Snapshot, options: ApplyOptions) -> None:
    """Refuse, before any write, a plan with errors, too many deletes, or stale objects."""
    if plan.errors:
        lines = "\n".join(f"  {d}" for d in plan.errors)
        raise ApplyRefused(f"the plan has errors; nothing was written:\n{lines}")
    deletes = prune_count(plan.changes)
    if deletes > options.max_deletes:
        raise ApplyRefused(f"the plan deletes {deletes} objects, more than --max-deletes {options.max_deletes}; "
                           f"nothing was written (no delete was sent)")
    stale = stale_changes(plan, snapshot)
    if stale:
        lines = "\n".join(f"  {m}" for m in stale)
        raise ApplyRefused(f"the plan is stale: the tenant changed since it was made; nothing was written. "
                           f"Changed objects:\n{lines}\nRun plan again.")


def execute(plan: Plan, client: Any, secret: Callable[[str], str], options: ApplyOptions,
            replan: Callable[[], Plan] | None = None, snapshot: Snapshot | None = None) -> ApplyResult:
    """Run ``plan`` against ``client``. ``secret`` resolves a reference string to its value."""
    if snapshot is None:
        snapshot = read_snapshot(client, plan_scopes(plan), options.parallelism)
    check_plan(plan, snapshot, options)
    ctx = ApplyContext(client=client, stack=options.stack, secret=secret, snapshot=snapshot)
    outcome: dict[str, ChangeResult] = {}
    for group in levels(plan.changes):
        runnable, blocked = _split(group, outcome)
        for change in blocked:
            outcome[change.address] = ChangeResult(change.address, change.action, "not attempted",
                                                   "a change it depends on did not complete")
            options.progress(f"- {change.action} {change.address}: not attempted (dependency failed)")
        with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
            for result in pool.map(lambda c: _run(ctx, c, options), runnable):
                outcome[result.address] = result
    ordered = tuple(outcome[c.address] for c in plan.changes if c.address in outcome)
    remaining: tuple[str, ...] = ()
    if replan is not None and ordered and not any(r.status != "done" for r in ordered):
        after = replan()
        remaining = tuple(_describe_remaining(after.changes))
    return ApplyResult(results=ordered, remaining=remaining)


def _split(group: list[Change], outcome: dict[str, ChangeResult]) -> tuple[list[Change], list[Change]]:
    runnable, blocked = [], []
    for change in group:
        failed = [d for d in change.depends_on if d in outcome and outcome[d].status != "done"]
        (blocked if failed else runnable).append(change)
    return runnable, blocked


def _run(ctx: ApplyContext, change: Change, options: ApplyOptions) -> ChangeResult:
    started = options.clock()
    operation = OPERATIONS.get((change.kind, change.action))
    try:
        if operation is None:
            raise ProvisionerError(f"no operation for {change.action} {change.kind}")
        operation(ctx, change)
    except ProvisionerError as exc:
        result = ChangeResult(change.address, change.action, "failed", redact.text(str(exc)),
                              options.clock() - started)
    except Exception as exc:  # a bug: keep going with the other changes, report it as a failure
        result = ChangeResult(change.address, change.action, "failed",
                              redact.text(f"internal error ({type(exc).__name__}): {exc}"), options.clock() - started)
    else:
        result = ChangeResult(change.address, change.action, "done", "", options.clock() - started)
    line = f"{_SYMBOL[result.status]} {change.action} {change.address} ({result.seconds:.2f}s)"
    if result.error:
        line += f": {result.error}"
    options.progress(line)
    return result


def _describe_remaining(changes: Iterable[Change]) -> list[str]:
    out = []
    for change in changes:
        if change.action == "no-op":
            continue
        fields = ", ".join(f.path for f in change.fields)
        out.append(f"{change.action} {change.address}" + (f" ({fields})" if fields else ""))
    return out
