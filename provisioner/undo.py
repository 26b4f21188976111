"""Undo an apply from its journal: a plan that puts every object the run touched back as it was.

Apply journals, before its first write, the before-image of every object it plans to change
(:mod:`provisioner.kinds.images`: the managed fields in manifest terms, never a secret). Undo reads
the journal, keeps the objects the run actually attempted, turns their images back into manifest
records and plans them with the ordinary planner against a fresh read of the tenant, restricted to
those objects; objects the run created become deletes. The result is an ordinary :class:`Plan`: it
is shown, saved and applied like any other, with the same checks (revisions, ``--max-deletes``,
confirmation) and its own journal (so an undo can be undone).

    from provisioner import api, undo
    with api.tenant("local") as t:
        u = undo.plan_undo(".provisioner/journal/apply-....jsonl", t)
        print(u.unrestorable)              # secrets the tenant cannot give back
        result = undo.apply_undo(u, t, journal_dir=".provisioner/journal")
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner import redact
from provisioner.apply import ApplyOptions, ApplyResult
from provisioner.errors import ProvisionerError, UsageError
from provisioner.kinds import spec_of
from provisioner.kinds.images import (
    created_deletes,
    restore_resources,
    restored_addresses,
    touched_user_ids,
)
from provisioner.kinds.snapshot import Snapshot, read_snapshot
from provisioner.manifest.model import Resource, SourceLocation
from provisioner.orchestrate.applying import execute_journaled
from provisioner.orchestrate.planning import read_scopes, target_info
from provisioner.plan import Plan, PlanOptions, make_plan
from provisioner.plan.model import FORMAT_VERSION, Change, Ids, PlanDiagnostic, SecretReference, _plain, summarize
from provisioner.plan.order import sort_changes
from provisioner.plan.prune import prune_count

#: No stack is called this, so the undo plan never proposes prune deletes of its own.
_NO_STACK = "\x00undo"


@dataclass(frozen=True)
class JournalRun:
    """What one apply journal says: its stack, target, outcome and the images of what it attempted."""

    path: str
    stack: str
    target: str | None
    outcome: str | None
    images: tuple[Mapping[str, Any], ...]
    attempted: tuple[str, ...]
    local: bool = False  # against the embedded emulator (``--tenant local``)


@dataclass(frozen=True)
class UndoPlan:
    """The plan that undoes a run, what it cannot restore, and how to re-plan it after applying."""

    plan: Plan
    run: JournalRun
    unrestorable: tuple[str, ...] = ()
    resources: tuple[Any, ...] = field(default=(), repr=False)


def read_run(path: str | os.PathLike[str]) -> JournalRun:
    """Read an apply journal; a clear error (file:line) for anything that is not one."""
    name = os.fspath(path)
    records: list[dict[str, Any]] = []
    from provisioner import safefile

    try:
        text = safefile.read_bytes(name, 256 * 1024 * 1024, what="journal").decode("utf-8", "replace")
    except safefile.FileRefused as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read journal {name}: {exc.strerror}") from None
    for number, line in enumerate(text.split("\n"), 1):  # JSON lines: only \n ends one
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name}:{number}: not a journal record ({exc.msg})") from None
        if not isinstance(record, dict):
            raise UsageError(f"{name}:{number}: not a journal record (expected a JSON object)")
        records.append({**record, "_line": number})
    start = next((r for r in records if r.get("event") == "start"), None)
    if start is None:
        raise UsageError(f"{name}: not an apply journal (no start record)")
    befores = [r for r in records if r.get("event") == "before"]
    if not befores and start.get("changes"):
        raise UsageError(
            f"{name}: the journal has no before-images (written by an older provisioner); it cannot be undone"
        )
    for rec in befores:
        missing = [k for k in ("address", "kind", "realm", "key", "action") if not isinstance(rec.get(k), str)]
        if missing:
            raise UsageError(f"{name}:{rec['_line']}: before record without {', '.join(missing)}")
        if spec_of(rec["kind"]) is None:
            raise UsageError(f"{name}:{rec['_line']}: before record of unknown kind {rec['kind']!r}")
        if rec.get("image") is not None and not isinstance(rec.get("image"), dict):
            raise UsageError(f"{name}:{rec['_line']}: before record's image must be an object or null")
    attempted = [str(r.get("address")) for r in records if r.get("event") == "attempt"]
    end = next((r for r in reversed(records) if r.get("event") == "end"), None)
    touched = set(attempted)
    return JournalRun(
        path=name,
        stack=str(start.get("stack") or ""),
        target=start.get("target"),
        outcome=end.get("outcome") if end else None,
        images=tuple(r for r in befores if r["address"] in touched),
        attempted=tuple(attempted),
        local=start.get("local") is True,
    )


def _resource(run: JournalRun) -> Callable[[str, str, str, dict[str, Any], Mapping[str, Any]], Resource]:
    def make(kind: str, realm: str, name: str, spec: dict[str, Any], record: Mapping[str, Any]) -> Resource:
        return Resource(
            kind=kind,
            name=name,
            realm=realm,
            spec=spec,
            location=SourceLocation(run.path, int(record.get("_line") or 1), 1),
            field_locations={},
        )

    return make


def unrestorable(run: JournalRun) -> tuple[str, ...]:
    """What undo cannot put back, one line per object: secrets the run wrote, and the images' notes."""
    out = []
    for rec in run.images:
        if rec.get("secretChanged"):
            if rec.get("action") == "delete":
                out.append(
                    f"{rec['address']}: re-created without its client secret (the tenant never returns "
                    f"secrets); set it again"
                )
            else:
                out.append(
                    f"{rec['address']}: the run changed its client secret, which cannot be restored (the "
                    f"tenant never returns secrets); set the old one again if you need it"
                )
        for note in rec.get("notes") or []:
            out.append(f"{rec['address']}: {note}")
    return tuple(out)


def _with_user_names(snapshot: Snapshot, run: JournalRun, tenant: Any) -> Snapshot:
    """The snapshot, also knowing the users the touched objects name now (one query per realm), so the
    undo plan shows owners and subjects by name on both sides."""
    from provisioner.export.read import user_names

    realms = dict(snapshot.realms)
    for realm, ids in touched_user_ids(run.images, snapshot).items():
        snap = snapshot.realm(realm)
        unknown = ids - set(snap.users.values())
        if unknown and realm in realms:
            named = user_names(tenant.client, realm, unknown)
            realms[realm] = dataclasses.replace(
                snap, users={**snap.users, **{n: i for i, n in named.items() if n not in snap.users}}
            )
    return Snapshot(realms=realms)


def _build(
    run: JournalRun, tenant: Any, resources: Sequence[Resource], max_deletes: int, parallelism: int
) -> tuple[Plan, Snapshot]:
    realms = sorted({str(r["realm"]) for r in run.images})
    snapshot = _with_user_names(read_snapshot(tenant.client, read_scopes(resources, realms), parallelism), run, tenant)
    options = PlanOptions(stack=_NO_STACK, target=target_info(tenant), max_deletes=max_deletes, check_ownership=False)
    planned = make_plan(resources, snapshot, options)
    keep = restored_addresses(run.images)
    changes: dict[str, Change] = {c.address: c for c in planned.changes if c.address in keep}
    reason = f"created by the apply recorded in {os.path.basename(run.path)}"
    for delete in created_deletes(run.images, snapshot, reason):
        changes[delete["address"]] = Change(
            **{**delete, "observed": _plain(delete["observed"]), "ids": Ids(**{k: v for k, v in delete["ids"].items()})}
        )
    ordered = sort_changes(changes.values())
    diagnostics = list(planned.diagnostics)
    deletes = prune_count(ordered)
    if deletes > max_deletes:
        noun = "object" if deletes == 1 else "objects"
        diagnostics.append(
            PlanDiagnostic(
                "error",
                f"undo would delete {deletes} {noun} the run created, more "
                f"than --max-deletes {max_deletes}; nothing will be written (raise "
                f"--max-deletes to allow it)",
            )
        )
    plan = Plan(
        format_version=FORMAT_VERSION,
        stack=run.stack,
        target=_plain(options.target),
        environment=None,
        changes=ordered,
        diagnostics=tuple(diagnostics),
        summary=summarize(ordered, ()),
        options={"prune": False, "max_deletes": max_deletes, "undo": run.path},
    )
    return plan, snapshot


def plan_undo(
    journal: str | os.PathLike[str] | JournalRun, tenant: Any, *, max_deletes: int = 5, parallelism: int = 4
) -> UndoPlan:
    """Read the tenant and plan the undo of the run recorded in ``journal``."""
    run = journal if isinstance(journal, JournalRun) else read_run(journal)
    try:
        resources = tuple(restore_resources(run.images, _resource(run)))
        plan, _ = _build(run, tenant, resources, max_deletes, parallelism)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a hand-edited or damaged journal
        raise UsageError(
            f"{run.path}: a before record is malformed ({type(exc).__name__}: {exc}); it cannot be undone"
        ) from None
    return UndoPlan(plan=plan, run=run, unrestorable=unrestorable(run), resources=resources)


def check_target(run: JournalRun, tenant: Any) -> None:
    """Refuse to undo a run on a tenant other than the one it wrote to."""
    url = getattr(tenant, "url", None)
    local = getattr(getattr(tenant, "target", None), "is_local", False) is True
    if run.local or local:
        # The embedded emulator listens on a new port every run; its state folder is what identifies it.
        if not (run.local and local):
            where = "the local emulator" if run.local else run.target
            here = "the local emulator" if local else url
            raise UsageError(f"the journal records a run against {where}, not {here}; nothing was written")
        return
    if run.target and url and run.target != url:
        raise UsageError(f"the journal records a run against {run.target}, not {url}; nothing was written")


def apply_undo(
    undo: UndoPlan,
    tenant: Any,
    *,
    confirm: Callable[[Plan], bool] | None = None,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    journal_dir: str | os.PathLike[str] | None = None,
    max_deletes: int = 5,
    parallelism: int = 4,
) -> ApplyResult:
    """Apply an undo plan like any plan; afterwards the undo is planned again and what still differs
    is reported as ``remaining``."""
    plan = undo.plan
    approved = confirm is None or confirm(plan)  # shows the plan, errors included
    if plan.errors:
        lines = "\n".join(f"  {d}" for d in plan.errors)
        raise ProvisionerError(f"the undo plan has errors; nothing was written:\n{lines}")
    if not approved:
        raise ProvisionerError("Undo cancelled; nothing was written.")

    def replan(markers: Mapping[str, str] | None = None) -> Plan:
        return _build(undo.run, tenant, undo.resources, max_deletes, parallelism)[0]

    def no_secret(ref: SecretReference) -> str:
        raise ProvisionerError(f"undo cannot send secret {redact.text(str(ref))}")

    options = ApplyOptions(
        stack=plan.stack or "default",
        parallelism=parallelism,
        max_deletes=max_deletes,
        progress=progress or (lambda line: None),
        stop=stop,
    )
    return execute_journaled(
        plan, tenant.client, no_secret, options, journal_dir if plan.has_changes else None, replan=replan
    )


__all__ = ["JournalRun", "UndoPlan", "apply_undo", "check_target", "plan_undo", "read_run", "unrestorable"]
