"""Execute a plan: refuse stale or unsafe plans before any write, then run the changes level by level.

Within a level, writes run in parallel on a bounded thread pool; the next level starts only after the
previous one finished. A change whose dependency failed is not attempted. After the last write the
caller's ``replan`` re-reads the tenant and any remaining difference is reported.

Two things stop the scheduling of new writes (writes already in flight finish): the caller's ``stop``
event (Ctrl-C) and a conflict (:class:`StaleObject`: another writer changed an object during apply;
carrying on would interleave our writes with theirs). Every step is written to the ``journal``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from provisioner import redact
from provisioner.apply.operations import OPERATIONS, ApplyContext, StaleObject
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
    conflict: bool = False  # failed because another writer changed the object

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "action": self.action, "status": self.status, "error": self.error,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class ApplyResult:
    """Every change's outcome, plus whatever still differs after apply (``remaining``)."""

    results: tuple[ChangeResult, ...] = ()
    remaining: tuple[str, ...] = ()
    verified: bool = False
    interrupted: bool = False
    journal: str | None = None

    def by_status(self, status: str) -> tuple[ChangeResult, ...]:
        return tuple(r for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return not self.by_status("failed") and not self.by_status("not attempted") and not self.remaining

    def summary(self) -> str:
        done, failed, skipped = (len(self.by_status(s)) for s in ("done", "failed", "not attempted"))
        state = "interrupted" if self.interrupted else ("complete" if self.ok else "incomplete")
        return f"Apply {state}: {done} done, {failed} failed, {skipped} not attempted."

    @property
    def outcome(self) -> str:
        """``complete``, ``failed`` or ``interrupted`` (the journal's end record)."""
        return "interrupted" if self.interrupted else ("complete" if self.ok else "failed")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "outcome": self.outcome, "results": [r.to_dict() for r in self.results],
                "remaining": list(self.remaining)}


@dataclass
class ApplyOptions:
    """Knobs for :func:`execute`."""

    stack: str = "default"
    parallelism: int = 4
    max_deletes: int = 5
    progress: Progress = field(default=lambda line: None)
    clock: Callable[[], float] = time.monotonic
    #: Set by the caller (Ctrl-C) to stop scheduling new writes; writes in flight finish.
    stop: threading.Event | None = None
    #: A :class:`provisioner.journal.Journal` (or anything with ``record(event, **fields)``).
    journal: Any = None


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
    run = _Run(options)
    run.record("start", stack=plan.stack, target=(plan.target or {}).get("url"),
               changes=[{"address": c.address, "action": c.action} for c in plan.changes if c.action != "no-op"])
    outcome: dict[str, ChangeResult] = {}
    try:
        if snapshot is None:
            snapshot = read_snapshot(client, plan_scopes(plan), options.parallelism)
        check_plan(plan, snapshot, options)
        ctx = ApplyContext(client=client, stack=options.stack, secret=secret, snapshot=snapshot)
        for group in levels(plan.changes):
            runnable, blocked = _split(group, outcome)
            for change in blocked:
                outcome[change.address] = run.skip(change, "a change it depends on did not complete",
                                                   "dependency failed")
            with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
                for result in pool.map(lambda c: run.step(ctx, c), runnable):
                    outcome[result.address] = result
        ordered = tuple(outcome[c.address] for c in plan.changes if c.address in outcome)
        interrupted = run.interrupted()
        remaining: tuple[str, ...] = ()
        if replan is not None and ordered and not interrupted and not any(r.status != "done" for r in ordered):
            after = replan()
            remaining = tuple(_describe_remaining(after.changes))
        result = ApplyResult(results=ordered, remaining=remaining, interrupted=interrupted)
    except BaseException as exc:
        run.record("end", outcome="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                   error=redact.text(f"{type(exc).__name__}: {exc}"), **_tally(outcome.values()))
        raise
    run.record("end", outcome=result.outcome, remaining=list(result.remaining), **_tally(result.results))
    return result


def _tally(results: Iterable[ChangeResult]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"done": [], "failed": [], "not_attempted": []}
    for r in results:
        out[r.status.replace(" ", "_")].append(r.address)
    return out


class _Run:
    """One execution's shared state: the stop/halt signals, progress lines and journal records."""

    def __init__(self, options: ApplyOptions) -> None:
        self.options = options
        self.halted: str | None = None  # the address of the first conflict: no new writes after it
        self._lock = threading.Lock()

    def record(self, event: str, **fields: Any) -> None:
        if self.options.journal is not None:
            self.options.journal.record(event, **fields)

    def interrupted(self) -> bool:
        return self.options.stop is not None and self.options.stop.is_set()

    def _stopped(self) -> str | None:
        if self.interrupted():
            return "interrupted"
        with self._lock:
            return self.halted

    def skip(self, change: Change, error: str, short: str) -> ChangeResult:
        self.options.progress(f"- {change.action} {change.address}: not attempted ({short})")
        self.record("not attempted", address=change.address, action=change.action, cause=error)
        return ChangeResult(change.address, change.action, "not attempted", error)

    def step(self, ctx: ApplyContext, change: Change) -> ChangeResult:
        stopped = self._stopped()
        if stopped == "interrupted":
            return self.skip(change, "apply was interrupted before it started", "interrupted")
        if stopped:
            return self.skip(change, f"apply stopped after a conflict ({stopped})", "stopped after a conflict")
        self.record("attempt", address=change.address, action=change.action)
        result = _run(ctx, change, self.options)
        if result.status == "done":
            self.record("ok", address=change.address, action=change.action, seconds=round(result.seconds, 3))
        else:
            self.record("failed", address=change.address, action=change.action, cause=result.error,
                        seconds=round(result.seconds, 3))
        if result.conflict:
            with self._lock:
                self.halted = self.halted or change.address
        return result


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
    except StaleObject as exc:
        result = ChangeResult(change.address, change.action, "failed", redact.text(str(exc)),
                              options.clock() - started, conflict=True)
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
