"""Prune: delete objects this stack created that the manifests no longer declare (pure).

Only AM clients and agents carrying ``provisioner.stack=<this stack>`` are candidates; their IDM record
or identity and privileges follow them. Unmarked look-alikes and other stacks' objects are never
touched. Without ``--prune`` the candidates are reported as blocked; with more candidates than
``--max-deletes`` nothing is deleted and the plan carries an error.
"""
from __future__ import annotations

from collections.abc import Iterable
from provisioner.kinds import aiagent, application, privilege
from provisioner.kinds.oauth2client import client_rev, idm_rev, stack_of
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import Blocked, Change, PlanDiagnostic, _plain
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
        ids = {"record": str(record["_id"]) if record else None}
    else:
        identity = snap.identity_of(key)
        observed = {"am": client_rev(snap.agents.get(key)), "idm": idm_rev(identity)}
        ids = {"identity": str(identity["_id"]) if identity else None}
        for priv in snap.privileges_of(str(identity["_id"]) if identity else None, key):
            app = snap.privilege_app(priv) or str(priv.get("_id"))
            pkey = privilege.key_of(key, app)
            changes.append(Change(address=address(privilege.KIND, realm, pkey), kind=privilege.KIND, realm=realm,
                                  key=pkey, action="delete", observed=_plain({"idm": idm_rev(priv)}),
                                  desired={"ids": {"privilege": str(priv.get("_id"))}},
                                  reason=f"its agent {key!r} is pruned"))
    changes.append(Change(address=address(kind, realm, key), kind=kind, realm=realm, key=key, action="delete",
                          observed=_plain(observed), desired=_plain({"ids": ids}), reason=reason))
    return changes


def plan_prune(snapshot: Snapshot, realms: Iterable[str], declared: set[tuple[str, str, str]], stack: str,
               prune: bool, max_deletes: int) -> tuple[list[Change], tuple[Blocked, ...], list[PlanDiagnostic]]:
    """Delete changes (when allowed), blocked deletes, and a diagnostic when the cap is exceeded."""
    candidates = _candidates(snapshot, realms, declared, stack)
    reason = PRUNE_REASON.format(stack=stack)
    if not candidates:
        return [], (), []
    if not prune:
        blocked = tuple(Blocked(address(k, r, n), k, r, n, f"{reason}; pass --prune to delete it")
                        for k, r, n in candidates)
        return [], blocked, []
    if len(candidates) > max_deletes:
        why = f"{reason}; not deleted: {len(candidates)} deletes exceed --max-deletes {max_deletes}"
        blocked = tuple(Blocked(address(k, r, n), k, r, n, why) for k, r, n in candidates)
        diag = PlanDiagnostic("error", f"prune would delete {len(candidates)} objects, more than --max-deletes "
                              f"{max_deletes}; nothing will be deleted (raise --max-deletes to allow it)")
        return [], blocked, [diag]
    changes: list[Change] = []
    for kind, realm, key in candidates:
        changes.extend(_deletes(snapshot, kind, realm, key, reason))
    return changes, (), []


def prune_count(changes: Iterable[Change]) -> int:
    """How many top-level objects (applications, agents) a list of changes deletes by prune."""
    return sum(1 for c in changes if c.action == "delete" and c.kind in (application.KIND, aiagent.KIND))


__all__ = ["plan_prune", "prune_count"]
