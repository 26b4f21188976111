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
from provisioner.kinds import aiagent, application, privilege
from provisioner.kinds.common import ref_id
from provisioner.kinds.oauth2client import client_rev, idm_rev, stack_of
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import Blocked, Change, Ids, PlanDiagnostic, _plain
from provisioner.plan.order import address

PRUNE_REASON = "created by stack {stack!r} and no longer declared"


def _candidates(snapshot: Snapshot, realms: Iterable[str], declared: set[tuple[str, str, str]],
                stack: str) -> list[tuple[str, str, str]]:
    out = []
    for realm in realms:
        snap = snapshot.realm(realm)
        for kind, docs in ((application.KIND, snap.clients), (aiagent.KIND, snap.agents)):
            for key, doc in docs.items():
                if stack_of(doc) == stack and (kind, realm, key) not in declared:
                    out.append((kind, realm, key))
    return sorted(out)


def _deletes(snapshot: Snapshot, kind: str, realm: str, key: str, reason: str) -> list[Change]:
    snap = snapshot.realm(realm)
    changes = []
    if kind == application.KIND:
        record = snap.apps.get(key)
        observed = {"am": client_rev(snap.clients.get(key)), "idm": idm_rev(record)}
        ids = Ids(record=str(record["_id"]) if record else None)
    else:
        identity = snap.identity_of(key)
        observed = {"am": client_rev(snap.agents.get(key)), "idm": idm_rev(identity)}
        ids = Ids(identity=str(identity["_id"]) if identity else None)
        for priv in snap.privileges_of(str(identity["_id"]) if identity else None, key):
            app = snap.privilege_app(priv) or str(priv.get("_id"))
            pkey = privilege.key_of(key, app)
            changes.append(Change(address=address(privilege.KIND, realm, pkey), kind=privilege.KIND, realm=realm,
                                  key=pkey, action="delete", observed=_plain({"idm": idm_rev(priv)}),
                                  ids=Ids(privilege=str(priv.get("_id"))),
                                  reason=f"its agent {key!r} is pruned"))
    changes.append(Change(address=address(kind, realm, key), kind=kind, realm=realm, key=key, action="delete",
                          observed=_plain(observed), ids=ids, reason=reason))
    return changes


def _dangling(snapshot: Snapshot, changes: list[Change], deleted_privileges: set[str]) -> list[PlanDiagnostic]:
    """A warning for every privilege that stays behind pointing at an application this prune deletes."""
    out = []
    for change in changes:
        if change.kind != application.KIND:
            continue
        snap = snapshot.realm(change.realm)
        record = snap.apps.get(change.key)
        record_id = str(record["_id"]) if record else None
        for priv in snap.privileges:
            pid = str(priv.get("_id"))
            if pid in deleted_privileges:
                continue
            if snap.privilege_app(priv) == change.key or (record_id and ref_id(priv.get("resource")) == record_id):
                agent = priv.get("agentOAuth2ClientId") or ref_id(priv.get("agent")) or "?"
                out.append(PlanDiagnostic("warning", f"pruning {change.address} leaves privilege {pid} of agent "
                                          f"{agent!r} (not managed by this stack) pointing at nothing; delete or "
                                          f"re-point that privilege too"))
    return out


def plan_prune(snapshot: Snapshot, realms: Iterable[str], declared: set[tuple[str, str, str]], stack: str,
               prune: bool, max_deletes: int, other_deletes: Iterable[Change] = ()
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
        diags.append(PlanDiagnostic("error", f"the plan deletes {len(other)} privileges no longer declared, more "
                                    f"than --max-deletes {max_deletes}; nothing will be written (raise "
                                    f"--max-deletes to allow it)"))
    if not candidates:
        return [], (), diags
    reason = PRUNE_REASON.format(stack=stack)
    changes: list[Change] = []
    for kind, realm, key in candidates:
        changes.extend(_deletes(snapshot, kind, realm, key, reason))
    deleted = {str(c.ids.privilege) for c in changes + other
               if c.kind == privilege.KIND}
    diags.extend(_dangling(snapshot, changes, deleted))
    total = len(changes) + len(other)
    if not prune:
        return [], tuple(_blocked(c, "pass --prune to delete it") for c in changes), diags
    if total > max_deletes:
        why = f"not deleted: {total} deletes exceed --max-deletes {max_deletes}"
        diags.append(PlanDiagnostic("error", f"this plan would delete {total} objects (privileges included), more "
                                    f"than --max-deletes {max_deletes}; nothing will be deleted (raise "
                                    f"--max-deletes to allow it)"))
        return [], tuple(_blocked(c, why) for c in changes), diags
    return changes, (), diags


def _blocked(change: Change, why: str) -> Blocked:
    return Blocked(change.address, change.kind, change.realm, change.key, f"{change.reason}; {why}")


def delete_count(changes: Iterable[Change]) -> int:
    """How many deletes a list of changes makes (every object, privileges included)."""
    return sum(1 for c in changes if c.action == "delete")


def prune_count(changes: Iterable[Change]) -> int:
    """How many top-level objects (applications, agents) a list of changes deletes by prune."""
    return sum(1 for c in changes if c.action == "delete" and c.kind in (application.KIND, aiagent.KIND))


__all__ = ["plan_prune", "prune_count", "delete_count"]
