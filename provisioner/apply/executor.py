"""Execute a plan: refuse stale or unsafe plans before any write, then run the changes level by level.

A change is one or more steps, each in an apply level (its kind's ``KindSpec.steps``):
AM clients and AM agents first, all in one level (they do not depend on each other), then the IDM
application records and new agents' identity PATCHes, then privileges. Within a level, steps run in
parallel on a bounded thread pool; the next level starts only after the previous one finished. A
change is done when its last step is; a change whose dependency failed is not attempted, nor are the
later steps of a change whose step failed. After the last write the caller's ``replan`` re-reads the
tenant and any remaining difference is reported.

Before a level that updates AM objects, each updated kind is re-read in ONE list request per realm
(unless the snapshot taken at the start of this run is still the latest read) and every update
compares its object's list ``_rev`` with the plan: the staleness check costs one round trip per
level, not one per object.

Two things stop the scheduling of new writes (writes already in flight finish): the caller's ``stop``
event (Ctrl-C) and a conflict (:class:`StaleObject`: another writer changed an object during apply;
carrying on would interleave our writes with theirs). Every step is written to the ``journal``, and,
before the first write, each object's before-image (:mod:`provisioner.kinds.images`) that undo restores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from provisioner import gcmode, redact
from provisioner.apply.operations import ApplyContext, Operation, StaleObject, steps_of
from provisioner.apply.stale import stale_changes
from provisioner.errors import ProvisionerError
from provisioner.kinds import spec_of
from provisioner.kinds.images import capture
from provisioner.kinds.snapshot import ReadScope, Snapshot, read_snapshot
from provisioner.plan.model import Change, Plan, SecretReference
from provisioner.plan.prune import delete_count

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
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


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
        return {
            "ok": self.ok,
            "outcome": self.outcome,
            "results": [r.to_dict() for r in self.results],
            "remaining": list(self.remaining),
        }


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
    deletes = delete_count(plan.changes)
    if deletes > options.max_deletes:
        noun = "object" if deletes == 1 else "objects"
        raise ApplyRefused(
            f"the plan deletes {deletes} {noun}, more than --max-deletes {options.max_deletes}; "
            f"nothing was written (no delete was sent)"
        )
    stale = stale_changes(plan, snapshot)
    if stale:
        lines = "\n".join(f"  {m}" for m in stale)
        raise ApplyRefused(
            f"the plan is stale: the tenant changed since it was made; nothing was written. "
            f"Changed objects:\n{lines}\nRun plan again."
        )


def execute(
    plan: Plan,
    client: Any,
    secret: Callable[[SecretReference], str],
    options: ApplyOptions,
    replan: Callable[[dict[str, str]], Plan] | None = None,
    snapshot: Snapshot | None = None,
) -> ApplyResult:
    """Run ``plan`` against ``client``. ``secret`` resolves a secret reference to its value.

    ``replan(markers)`` plans again after the writes; ``markers`` maps each change address to the secret
    marker this run wrote, so an identical marker on the tenant is confirmed without hashing.

    ``snapshot``: the tenant as read for the plan (plan and apply in one run); when None it is read
    here, before any write, and checked against the plan's revisions.
    """
    run = _Run(options)
    local = {"local": True} if (plan.target or {}).get("local") is True else {}
    run.record(
        "start",
        stack=plan.stack,
        target=(plan.target or {}).get("url"),
        **local,
        changes=[{"address": c.address, "action": c.action} for c in plan.changes if c.action != "no-op"],
    )
    outcome: dict[str, ChangeResult] = {}
    try:
        fresh = snapshot is None  # read just now: it is the re-read before the first level
        if snapshot is None:
            snapshot = read_snapshot(client, plan_scopes(plan), options.parallelism)
        check_plan(plan, snapshot, options)
        if options.journal is not None:
            # Before any write: what each object holds now (secrets excluded), for `provisioner undo`.
            for image in capture(plan.changes, snapshot, client):
                run.record("before", **image)
            run.sync()  # the start and before records are on disk before the first write
        ctx = ApplyContext(client=client, stack=options.stack, secret=secret, snapshot=snapshot)
        for number, (_level, steps) in enumerate(step_levels(plan.changes)):
            runnable = []
            for change, operation, last in steps:
                if change.address in outcome:  # an earlier step of it failed or was not attempted
                    continue
                failed = [d for d in change.depends_on if d in outcome and outcome[d].status != "done"]
                if failed:
                    outcome[change.address] = run.skip(
                        change, "a change it depends on did not complete", "dependency failed"
                    )
                else:
                    runnable.append((change, operation, last))
            if not runnable:
                continue
            _reread_am(
                ctx, [c for c, _, _ in runnable], use_snapshot=fresh and number == 0, parallelism=options.parallelism
            )
            with gcmode.collecting(), ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
                for change, done in pool.map(lambda item: (item[0], run.step(ctx, *item)), runnable):
                    if done is not None:
                        outcome[change.address] = done
        ordered = tuple(outcome[c.address] for c in plan.changes if c.address in outcome)
        interrupted = run.interrupted()
        remaining: tuple[str, ...] = ()
        if replan is not None and ordered and not interrupted and not any(r.status != "done" for r in ordered):
            after = replan(dict(ctx.markers))  # the markers this run wrote need no hashing to confirm
            remaining = tuple(_describe_remaining(after.changes))
        result = ApplyResult(results=ordered, remaining=remaining, interrupted=interrupted)
    except BaseException as exc:
        run.record(
            "end",
            outcome="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
            error=redact.text(f"{type(exc).__name__}: {exc}"),
            **_tally(outcome.values()),
        )
        raise
    run.record("end", outcome=result.outcome, remaining=list(result.remaining), **_tally(result.results))
    return result


Step = tuple[Change, Operation, bool]  # (change, operation, is its last step)


def step_levels(changes: Iterable[Change]) -> list[tuple[int, list[Step]]]:
    """The changes' steps grouped by apply level, in level order (no-ops left out)."""
    groups: dict[int, list[Step]] = {}
    for change in changes:
        if change.action == "no-op":
            continue
        steps = steps_of(change)
        if steps is None:
            groups.setdefault(1, []).append((change, _unknown, True))
            continue
        for index, (level, operation) in enumerate(steps):
            groups.setdefault(level, []).append((change, operation, index == len(steps) - 1))
    return [(level, groups[level]) for level in sorted(groups)]


def _unknown(ctx: ApplyContext, change: Change) -> None:
    raise ProvisionerError(f"no operation for {change.action} {change.kind}")


def _reread_am(ctx: ApplyContext, changes: list[Change], *, use_snapshot: bool, parallelism: int) -> None:
    """Re-read, once per (realm, AM kind), the AM objects this level updates (see the module docstring)."""
    specs = {c.kind: spec_of(c.kind) for c in changes}
    am_kinds = {kind: spec for kind, spec in specs.items() if spec is not None and spec.am_kind and spec.am_docs}
    wanted = sorted(
        {
            (c.realm, str(am_kinds[c.kind].am_kind))
            for c in changes
            if c.action == "update" and c.kind in am_kinds and c.observed.get("am") is not None
        }
    )
    docs_of = {str(spec.am_kind): spec.am_docs for spec in am_kinds.values()}
    ctx.am_current.clear()
    if not wanted:
        return
    if use_snapshot:
        for realm, kind in wanted:
            snap = ctx.snapshot.realm(realm)
            ctx.am_current[(realm, kind)] = dict(docs_of[kind](snap))  # type: ignore[misc]
        return

    def read(item: tuple[str, str]) -> dict[str, Any]:
        realm, kind = item
        return {str(doc.get("_id")): doc for doc in ctx.client.am(realm).list(kind)}

    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(wanted)))) as pool:
        for item, docs in zip(wanted, pool.map(read, wanted)):
            ctx.am_current[item] = docs


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
        self._elapsed: dict[str, float] = {}  # seconds spent in the finished steps of unfinished changes

    def record(self, event: str, **fields: Any) -> None:
        if self.options.journal is not None:
            self.options.journal.record(event, **fields)

    def sync(self) -> None:
        sync = getattr(self.options.journal, "sync", None)
        if sync is not None:
            sync()

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

    def step(self, ctx: ApplyContext, change: Change, operation: Operation, last: bool) -> ChangeResult | None:
        """Run one step of ``change``; its result when the change finished (failed, or its last step)."""
        with self._lock:
            first = change.address not in self._elapsed
            before = self._elapsed.get(change.address, 0.0)
        # A change whose first step was written is in flight: it finishes (its IDM half) even after a
        # stop, as when a change was one operation, so no application is left without its record.
        stopped = self._stopped() if first else None
        if stopped == "interrupted":
            return self.skip(change, "apply was interrupted before it started", "interrupted")
        if stopped:
            return self.skip(change, f"apply stopped after a conflict ({stopped})", "stopped after a conflict")
        if first:
            self.record("attempt", address=change.address, action=change.action)
        result, seconds = _run(ctx, change, operation, self.options, before, last)
        if result is None:
            with self._lock:
                self._elapsed[change.address] = before + seconds
            return None
        if result.status == "done":
            self.record("ok", address=change.address, action=change.action, seconds=round(result.seconds, 3))
        else:
            self.record(
                "failed",
                address=change.address,
                action=change.action,
                cause=result.error,
                seconds=round(result.seconds, 3),
            )
        if result.conflict:
            with self._lock:
                self.halted = self.halted or change.address
        return result


def _run(
    ctx: ApplyContext, change: Change, operation: Operation, options: ApplyOptions, before: float, last: bool
) -> tuple[ChangeResult | None, float]:
    """One step; returns (the change's result when it finished here, the step's seconds)."""
    started = options.clock()
    try:
        operation(ctx, change)
    except StaleObject as exc:
        seconds = options.clock() - started
        result = ChangeResult(
            change.address, change.action, "failed", redact.text(str(exc)), before + seconds, conflict=True
        )
    except ProvisionerError as exc:
        seconds = options.clock() - started
        result = ChangeResult(change.address, change.action, "failed", redact.text(str(exc)), before + seconds)
    except Exception as exc:  # a bug: keep going with the other changes, report it as a failure
        seconds = options.clock() - started
        result = ChangeResult(
            change.address,
            change.action,
            "failed",
            redact.text(f"internal error ({type(exc).__name__}): {exc}"),
            before + seconds,
        )
    else:
        seconds = options.clock() - started
        if not last:
            return None, seconds
        result = ChangeResult(change.address, change.action, "done", "", before + seconds)
    line = f"{_SYMBOL[result.status]} {change.action} {change.address} ({result.seconds:.2f}s)"
    if result.error:
        line += f": {result.error}"
    options.progress(line)
    return result, seconds


def _describe_remaining(changes: Iterable[Change]) -> list[str]:
    out = []
    for change in changes:
        if change.action == "no-op":
            continue
        fields = ", ".join(f.path for f in change.fields)
        out.append(f"{change.action} {change.address}" + (f" ({fields})" if fields else ""))
    return out
