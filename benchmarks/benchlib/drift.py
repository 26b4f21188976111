"""Drift injection: change about 10 % of the managed objects directly through REST.

Every tenth application loses a scope on its AM client, every tenth agent gains a scope, and every
tenth privilege gets different permissions (IDM PATCH). The requests are made before the measured
plan and the emulator's counters are reset afterwards, so they are not part of the measurement.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .generate import REALM, BenchModel
from .naive import unwrap
from .tenant import AM_V1, AM_V2, AdminSession, am, idm


def _every_tenth(items: tuple[Any, ...], offset: int) -> list[Any]:
    picked = [x for i, x in enumerate(items) if i % 10 == offset % 10]
    return picked or list(items[:1])


def inject_drift(session: AdminSession, model: BenchModel) -> dict[str, int]:
    """Change ~10 % of applications, agents and privileges; return how many of each."""
    apps = _every_tenth(model.apps, 0)
    for app in apps:
        path = am(REALM, f"realm-config/agents/OAuth2Client/{quote(app.client_id, safe='')}")
        doc = unwrap(session.call("GET", path, api=AM_V1).json())
        doc.pop("_type", None)
        doc["coreOAuth2ClientConfig"]["scopes"] = list(app.scopes[:-1])
        session.call("PUT", path, api=AM_V1, json=doc)

    agents = _every_tenth(model.agents, 5)
    for agent in agents:
        path = am(REALM, f"realm-config/agents/AIAgent/{quote(agent.client_id, safe='')}")
        doc = unwrap(session.call("GET", path, api=AM_V2).json())
        doc.pop("_type", None)
        doc["coreOAuth2ClientConfig"]["scopes"] = list(agent.scopes) + ["drifted-scope"]
        session.call("PUT", path, api=AM_V2, json=doc)

    # Find the privileges by (agent client id, application client id), as the provisioner created them.
    listing = session.call(
        "GET",
        idm(
            f"managed/{REALM}_aiagentprivilege?_queryFilter=true&_pageSize=100000"
            "&_fields=_id,agentOAuth2ClientId,resourceData"
        ),
    ).json()["result"]
    by_key = {
        (p.get("agentOAuth2ClientId"), ((p.get("resourceData") or {}).get("ssoEntities") or {}).get("oidcId")): p["_id"]
        for p in listing
    }
    app_scopes = {a.client_id: a.scopes for a in model.apps}
    privileges = _every_tenth(model.privileges, 3)
    changed = 0
    for p in privileges:
        pid = by_key.get((p.agent, p.application))
        if pid is None:
            continue
        values = [app_scopes[p.application][-1]]
        session.call(
            "PATCH",
            idm(f"managed/{REALM}_aiagentprivilege/{pid}"),
            json=[{"operation": "replace", "field": "/permissions", "value": [{"type": "scopes", "values": values}]}],
        )
        changed += 1
    return {
        "applications": len(apps),
        "agents": len(agents),
        "privileges": changed,
        "privileges_not_found": len(privileges) - changed,
    }
