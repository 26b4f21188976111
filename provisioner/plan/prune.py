"""Prune: delete objects this stack created that the manifests no longer declare (pure).

Only AM clients and agents carrying ``provisioner.stack=<this stack>`` are candidates; their IDM record
or identity and privileges follow them. Unmarked look-alikes and other stacks' objects are never
touched. Without ``--prune`` every delete is reported as blocked (a change the plan shows and counts,
never written); with more deletes than ``--max-deletes`` (every delete counts, privileges included)
nothing is deleted and the plan carries an error. Pruning an application that a privilege this stack
does not manage still points at is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Iterable

from provisioner.kinds import REGISTRY, spec_of
from provisioner.kinds.oauth2client import stack_of
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import Blocked, Change, PlanDiagnostic

PRUNE_REASON = "created by stack {stack!r} and no longer declared"


def _candidates(
    snapshot: Snapshot, realms: Iterable[str], declared: set[tuple[str, str, str]], stack: str
) -> list[tuple[str, str, str]]:
    out = []
    for realm in realms:
        snap = snapshot.realm(realm)
        for spec in REGISTRY:
            if not spec.prunable or spec.am_docs is None:
                continue
            for key, doc in spec.am_docs(snap).items():
                if stack_of(doc) == stack and (spec.name, realm, key) not in declared:
                    out.append((spec.name, realm, key))
    return sorted(out)


def _deletes(snapshot: Snapshot, kind: str, realm: str, key: str, reason: str) -> list[Change]:
    spec = spec_of(kind)
    assert spec is not None and spec.prune_deletes is not None
    return spec.prune_deletes(snapshot.realm(realm), realm, key, reason)


def _dangling(snapshot: Snapshot, changes: list[Change], deleted_privileges: set[str]) -> list[PlanDiagnostic]:
    """A warning for every object this prune leaves pointing at something it deletes."""
    out = []
    for change in changes:
        spec = spec_of(change.kind)
        if spec is None or spec.dangling is None:
            continue
        for message in spec.dangling(snapshot.realm(change.realm), change, deleted_privileges):
            out.append(PlanDiagnostic("warning", message))
    return out


def plan_prune(
    snapshot: Snapshot,
    realms: Iterable[str],
    declared: set[tuple[str, str, str]],
    stack: str,
    prune: bool,
    max_deletes: int,
    other_deletes: Iterable[Change] = (),
) -> tuple[list[Change], tuple[Blocked, ...], list[PlanDiagnostic]]:
    """Delete changes (when allowed), blocked deletes, and diagnostics.

    Every delete counts towards ``max_deletes``: a pruned agent's privileges and the plan's other
    deletes (``other_deletes``: privileges no longer declared on a declared agent) included. Without
    ``prune`` every delete prune would make is returned as :class:`Blocked`: still a change the plan
    reports (``delete (needs --prune)``), never a write.
    """
    other = list(other_deletes)
    candidates = _candidates(snapshot, realms, declared, stack)
    diags: list[PlanDiagnostic] = []
    if len(other) > max_deletes:
        diags.append(
            PlanDiagnostic(
                "error",
                f"the plan deletes {len(other)} privileges no longer declared, more "
                f"than --max-deletes {max_deletes}; nothing will be written (raise "
                f"--max-deletes to allow it)",
            )
        )
    if not candidates:
        return [], (), diags
    reason = PRUNE_REASON.format(stack=stack)
    changes: list[Change] = []
    for kind, realm, key in candidates:
        changes.extend(_deletes(snapshot, kind, realm, key, reason))
    deleted = {str(c.ids.privilege) for c in changes + other if c.ids.privilege}
    diags.extend(_dangling(snapshot, changes, deleted))
    total = len(changes) + len(other)
    if not prune:
        return [], tuple(_blocked(c, "pass --prune to delete it") for c in changes), diags
    if total > max_deletes:
        deletes, exceed, objects = ("delete", "exceeds", "object") if total == 1 else ("deletes", "exceed", "objects")
        why = f"not deleted: {total} {deletes} {exceed} --max-deletes {max_deletes}"
        diags.append(
            PlanDiagnostic(
                "error",
                f"this plan would delete {total} {objects} (privileges included), more "
                f"than --max-deletes {max_deletes}; nothing will be deleted (raise "
                f"--max-deletes to allow it)",
            )
        )
        return [], tuple(_blocked(c, why) for c in changes), diags
    return changes, (), diags


def _blocked(change: Change, why: str) -> Blocked:
    return Blocked(change.address, change.kind, change.realm, change.key, f"{change.reason}; {why}")


def delete_count(changes: Iterable[Change]) -> int:
    """How many deletes a list of changes makes (every object, privileges included)."""
    return sum(1 for c in changes if c.action == "delete")


def prune_count(changes: Iterable[Change]) -> int:
    """How many top-level objects (applications, agents) a list of changes deletes by prune."""
    prunable = {spec.name for spec in REGISTRY if spec.prunable}
    return sum(1 for c in changes if c.action == "delete" and c.kind in prunable)


__all__ = ["delete_count", "plan_prune", "prune_count"]
