"""``verify --access``: the live tenant's access map against the manifests' (every edge, and no other).

Per declared agent: its own token's scopes, then per application of the map the audience, permitted
scopes and subjects as the tenant holds them, then "no edge the map lacks" (a privilege in the tenant
that the manifests do not declare). The OAuth flow checks of ``verify`` prove that each edge works;
these prove the tenant grants nothing beyond the map.
"""

from __future__ import annotations

from typing import Any

from provisioner import redact
from provisioner.kinds.access import AgentAccess, Exchange, from_resources, read_tenant
from provisioner.verify.model import FAIL, PASS, Check


def _scopes(values: tuple[str, ...] | None) -> str:
    return "[" + ", ".join(values) + "]" if values is not None else "(unknown)"


def _edge(edge: Exchange | None) -> str:
    if edge is None:
        return "no privilege"
    every = " (every scope of the application)" if edge.all_scopes else ""
    return f"aud {edge.audience}, scopes {_scopes(edge.scopes)}{every}, acts for {edge.acts_for()}"


def _own(agent: AgentAccess | None) -> str:
    if agent is None:
        return "agent missing"
    return f"client_credentials, scopes {_scopes(agent.scopes)}" if agent.has_own_token else "no own token"


def _check(name: str, group: str, expected: str, actual: str, message: str) -> Check:
    ok = expected == actual
    return Check(
        name,
        group,
        redact.text(expected),
        redact.text(actual),
        PASS if ok else FAIL,
        "" if ok else redact.text(message),
    )


def agent_checks(expected: AgentAccess, live: AgentAccess | None) -> list[Check]:
    """The access checks of one agent (pure)."""
    group = expected.agent
    drift = "the tenant differs from the manifests; run provisioner plan to see the change that restores the map"
    checks = [_check("access: own token", group, _own(expected), _own(live), drift)]
    for edge in expected.exchanges:
        actual = live.exchange(edge.application) if live is not None else None
        checks.append(_check(f"access: exchange → {edge.application}", group, _edge(edge), _edge(actual), drift))
    extra = [e for e in (live.exchanges if live is not None else ()) if expected.exchange(e.application) is None]
    shown = "; ".join(f"{e.application} ({_edge(e)})" for e in extra)
    checks.append(
        Check(
            "access: no edge beyond the map",
            group,
            "none",
            redact.text(shown or "none"),
            FAIL if extra else PASS,
            redact.text(
                f"the tenant lets {expected.agent} exchange into applications the manifests do not "
                "declare; plan deletes these privileges"
            )
            if extra
            else "",
        )
    )
    return checks


def access_checks(stack: Any, client: Any, realm: str | None = None, parallelism: int = 4) -> list[Check]:
    """Read the tenant and compare its access map with the manifests', agent by agent."""
    resources = list(stack.resources)
    if realm:
        from dataclasses import replace

        resources = [replace(r, realm=realm) for r in resources]
    realms = {r.realm for r in resources}
    if not realms:
        return []
    live, snapshot = read_tenant(client, realms, parallelism)
    expected = from_resources(resources, snapshot)
    checks: list[Check] = []
    for agent in expected.agents:
        checks.extend(agent_checks(agent, live.get(agent.realm, agent.agent)))
    return checks
