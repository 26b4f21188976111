"""The access difference: two access maps as the sentences a reviewer approves (pure).

"agent X gains `logs-delete` on web-app", "agent Z may now act for group G": :func:`diff` compares two
maps agent by agent; :func:`plan_difference` compares the tenant's map now with the map after a plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from provisioner.kinds import aiagent
from provisioner.kinds.access import AccessMap, AgentAccess, Exchange, from_resources, from_snapshot
from provisioner.kinds.snapshot import Snapshot


@dataclass(frozen=True)
class AccessChange:
    """One sentence of the access difference, with what it is about (for JSON consumers)."""

    realm: str
    agent: str
    application: str | None
    change: str  # gains-scope, loses-scope, new-exchange, no-exchange, acts-for, no-longer-acts-for, ...
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "realm": self.realm,
            "agent": self.agent,
            "application": self.application,
            "change": self.change,
            "text": self.text,
        }


def _code(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _scopes_text(scopes: tuple[str, ...] | None, every: bool) -> str:
    if scopes is None:
        return "every scope of the application"
    shown = _code(scopes) if scopes else "no scopes"
    return f"{shown} (every scope of the application)" if every else shown


def _subject_lines(realm: str, agent: str, app: str, before: Exchange | None, after: Exchange) -> list[AccessChange]:
    out = []
    old_users = set(before.users) if before else set()
    old_groups = set(before.groups) if before else set()
    for user in after.users:
        if user not in old_users:
            out.append(
                AccessChange(realm, agent, app, "acts-for", f"agent `{agent}` may now act for user `{user}` on `{app}`")
            )
    for group in after.groups:
        if group not in old_groups:
            out.append(
                AccessChange(
                    realm, agent, app, "acts-for", f"agent `{agent}` may now act for group `{group}` on `{app}`"
                )
            )
    for user in sorted(old_users - set(after.users)):
        out.append(
            AccessChange(
                realm,
                agent,
                app,
                "no-longer-acts-for",
                f"agent `{agent}` may no longer act for user `{user}` on `{app}`",
            )
        )
    for group in sorted(old_groups - set(after.groups)):
        out.append(
            AccessChange(
                realm,
                agent,
                app,
                "no-longer-acts-for",
                f"agent `{agent}` may no longer act for group `{group}` on `{app}`",
            )
        )
    if before is not None and not before.acts_for_no_one and after.acts_for_no_one:
        out.append(
            AccessChange(
                realm,
                agent,
                app,
                "autonomous",
                f"agent `{agent}` now exchanges into `{app}` for itself only (no subjects)",
            )
        )
    return out


def _set_lines(
    realm: str, agent: str, app: str | None, what: str, before: tuple[str, ...] | None, after: tuple[str, ...] | None
) -> list[AccessChange]:
    if before is None or after is None:
        if before != after and after is None:
            return [AccessChange(realm, agent, app, "gains-scope", f"agent `{agent}` gains every scope {what}")]
        return []
    out = []
    gained = [s for s in after if s not in before]
    lost = [s for s in before if s not in after]
    if gained:
        out.append(AccessChange(realm, agent, app, "gains-scope", f"agent `{agent}` gains {_code(gained)} {what}"))
    if lost:
        out.append(AccessChange(realm, agent, app, "loses-scope", f"agent `{agent}` loses {_code(lost)} {what}"))
    return out


def _agent_lines(before: AgentAccess | None, after: AgentAccess | None) -> list[AccessChange]:
    some = after or before
    assert some is not None
    realm, agent = some.realm, some.agent
    if after is None:
        return [
            AccessChange(
                realm,
                agent,
                None,
                "agent-removed",
                f"agent `{agent}` is deleted: every token it could obtain goes with it",
            )
        ]
    out: list[AccessChange] = []
    if before is None:
        if after.has_own_token:
            out.append(
                AccessChange(
                    realm,
                    agent,
                    None,
                    "new-agent",
                    f"new agent `{agent}` may obtain its own token with {_scopes_text(after.scopes, False)}",
                )
            )
        else:
            out.append(AccessChange(realm, agent, None, "new-agent", f"new agent `{agent}` (no token of its own)"))
        before = AgentAccess(realm, agent, (), ())
    if after.has_own_token and not before.has_own_token and before.grant_types != ():
        out.append(
            AccessChange(
                realm,
                agent,
                None,
                "own-token",
                f"agent `{agent}` may now obtain its own token (client_credentials) with "
                f"{_scopes_text(after.scopes, False)}",
            )
        )
    elif before.has_own_token and not after.has_own_token:
        out.append(
            AccessChange(
                realm,
                agent,
                None,
                "no-own-token",
                f"agent `{agent}` may no longer obtain a token of its own (client_credentials)",
            )
        )
    elif after.has_own_token and before.grant_types != ():
        out.extend(_set_lines(realm, agent, None, "in its own token", before.scopes, after.scopes))
    if before.can_exchange and not after.can_exchange:
        out.append(
            AccessChange(
                realm,
                agent,
                None,
                "no-exchange",
                f"agent `{agent}` may no longer exchange tokens (token_exchange grant removed)",
            )
        )
    elif after.can_exchange and not before.can_exchange and before.grant_types != ():
        out.append(
            AccessChange(
                realm, agent, None, "exchange", f"agent `{agent}` may now exchange tokens (token_exchange grant added)"
            )
        )
    for edge in after.exchanges:
        old = before.exchange(edge.application)
        app = edge.application
        if old is None:
            out.append(
                AccessChange(
                    realm,
                    agent,
                    app,
                    "new-exchange",
                    f"agent `{agent}` may now exchange into `{app}` with "
                    f"{_scopes_text(edge.scopes, edge.all_scopes)}, acting for {edge.acts_for()}",
                )
            )
            if not edge.acts_for_no_one:
                out.extend(_subject_lines(realm, agent, app, None, edge))
            continue
        out.extend(_set_lines(realm, agent, app, f"on `{app}`", old.scopes, edge.scopes))
        out.extend(_subject_lines(realm, agent, app, old, edge))
    for old in before.exchanges:
        if after.exchange(old.application) is None:
            out.append(
                AccessChange(
                    realm,
                    agent,
                    old.application,
                    "removed-exchange",
                    f"agent `{agent}` may no longer exchange into `{old.application}`",
                )
            )
    return out


def diff(before: AccessMap, after: AccessMap) -> tuple[AccessChange, ...]:
    """What changes between two maps, agent by agent (sorted; empty when access is the same)."""
    keys = sorted({(a.realm, a.agent) for a in before.agents} | {(a.realm, a.agent) for a in after.agents})
    out: list[AccessChange] = []
    for realm, agent in keys:
        out.extend(_agent_lines(before.get(realm, agent), after.get(realm, agent)))
    return tuple(out)


def planned(
    resources: Iterable[Any],
    snapshot: Snapshot,
    deleted_agents: Iterable[tuple[str, str]] = (),
    deleted_edges: Iterable[tuple[str, str, str]] = (),
) -> tuple[AccessMap, AccessMap]:
    """(the tenant's access now, the access after the plan) for the agents the plan touches.

    Declared agents get the manifests' access (undeclared fields from the snapshot); agents the plan
    deletes lose everything; an undeclared agent that only loses privileges (``deleted_edges``:
    realm, agent, application) keeps the rest.
    """
    resources = list(resources)
    after = from_resources(resources, snapshot)
    live = from_snapshot(snapshot)
    deleted = set(deleted_agents)
    edges_gone = set(deleted_edges)
    touched = {(a.realm, a.agent) for a in after.agents} | deleted | {(r, a) for r, a, _ in edges_gone}
    before = live.only(touched)
    declared = {(a.realm, a.agent) for a in after.agents}
    extra = []
    for agent in before.agents:
        key = (agent.realm, agent.agent)
        if key in declared or key in deleted:
            continue
        kept = tuple(e for e in agent.exchanges if (agent.realm, agent.agent, e.application) not in edges_gone)
        extra.append(replace(agent, exchanges=kept))
    merged = tuple(sorted(after.agents + tuple(extra), key=lambda a: (a.realm, a.agent)))
    return before, AccessMap("plan", merged)


def plan_difference(
    resources: Iterable[Any], snapshot: Snapshot, deletes: Iterable[tuple[str, str, str]] = ()
) -> tuple[AccessChange, ...]:
    """The access difference a plan makes; ``deletes``: the plan's ``(kind, realm, key)`` deletes."""
    from provisioner.kinds import privilege

    deletes = list(deletes)
    agents = [(realm, key) for kind, realm, key in deletes if kind == aiagent.KIND]
    edges = [(realm, *key.split("/", 1)) for kind, realm, key in deletes if kind == privilege.KIND and "/" in key]
    before, after = planned(resources, snapshot, agents, edges)  # type: ignore[arg-type]
    return diff(before, after)
