"""Run the declared OAuth flows against the tenant and turn what happened into checks.

For each agent (``KindSpec.verify == "agent"``: the AIAgent documents), in load order:

* autonomous (client-credentials grant): agent token with its scopes + tokeninfo; for each privilege
  without subjects, exchange towards the application with the permitted scopes + tokeninfo;
* on-behalf-of (privileges with subjects or subject groups): a configured test user's token from the
  application (password grant) + tokeninfo, exchanged by the agent + tokeninfo; no test user → skip;
* least privilege: a scope outside the permissions is not granted; an application without a privilege
  is refused; an exchange without ``audience`` does not reach any application.

The set of checks depends only on the stack, never on what the tenant answers: a check whose
prerequisite failed is reported ``skip`` (with the reason), so reports of two runs line up.
"""

from __future__ import annotations

from typing import Any

from provisioner import redact
from provisioner.client.oauth import OAuthEndpoints
from provisioner.errors import ProvisionerError
from provisioner.verify.agentrun import AgentRun
from provisioner.verify.cases import (
    AGENT,
    AUDIENCE,
    Agent,
    App,
    agent_of,
    am_kinds,
    application_of,
    declared,
    test_users,
)
from provisioner.verify.flows import agent_checks
from provisioner.verify.model import FAIL, Check, VerifyReport
from provisioner.verify.tenantread import read_application

DEFAULT_REALM = "alpha"


def _target_of(tenant: Any) -> tuple[str, Any]:
    """(base URL, admin client or None) from a URL, a ``Tenant`` or a ``TenantClient``."""
    if isinstance(tenant, str):
        return tenant.rstrip("/"), None
    inner = getattr(tenant, "client", None)
    if inner is not None and not callable(inner):
        url = getattr(tenant, "url", None) or getattr(inner, "base_url", "")
        return str(url).rstrip("/"), inner
    return str(getattr(tenant, "base_url", "")).rstrip("/"), tenant


def run_verify(
    stack: Any, secrets: Any, tenant_url_or_client: Any, *, realm: str | None = None, allow_skipped: bool = False
) -> VerifyReport:
    """Run every declared flow against the tenant and return the report (never raises for a refusal).

    ``tenant_url_or_client``: a base URL (no admin reads: an ``existing`` application's scopes then
    cannot be read), a ``Tenant`` or a ``TenantClient``. ``realm`` overrides the environment's and
    the resources' realm. :mod:`.flows` runs each agent's checks.
    """
    base_url, admin = _target_of(tenant_url_or_client)
    env = getattr(stack, "environment", None)
    agents_res = declared(stack, AGENT)
    realm = (
        realm
        or (getattr(env, "realm", None) if env is not None else None)
        or (agents_res[0].realm if agents_res else DEFAULT_REALM)
    )
    apps: dict[str, App] = {r.name: application_of(r) for r in declared(stack, AUDIENCE)}
    agents = [agent_of(r, realm) for r in agents_res]
    app_errors: dict[str, str] = {}
    for agent in agents:
        for priv in agent.privileges:
            app = apps.get(priv.application)
            if app is None:
                app = App(priv.application, None, existing=True, declared=False)
            if app.scopes is None:
                app, why = read_application(admin, realm, app)
                if why:
                    app_errors[app.client_id] = why
            apps[app.client_id] = app
    endpoints = OAuthEndpoints(admin if admin is not None else base_url, realm)
    users = test_users(stack)
    checks: list[Check] = []
    missing = _missing_agents(admin, realm, agents)
    for agent in agents:
        if agent.client_id in missing:
            checks.append(
                Check(
                    "client exists",
                    agent.client_id,
                    f"{agent.kind} {agent.client_id}",
                    "not in the tenant",
                    FAIL,
                    f"the agent {agent.client_id} does not exist in realm {realm} "
                    f"(run provisioner apply first); no flow of it was run",
                )
            )
            continue
        checks.extend(agent_checks(AgentRun(endpoints, secrets, agent, apps, app_errors, users)))
    return VerifyReport(target=redact.text(base_url), realm=realm, checks=tuple(checks), allow_skipped=allow_skipped)


def _missing_agents(admin: Any, realm: str, agents: list[Agent]) -> set[str]:
    """The agents the tenant does not have (one list read; empty without admin access)."""
    if admin is None or not agents:
        return set()
    try:
        present = {str(doc.get("_id")) for kind in am_kinds(AGENT) for doc in admin.am(realm).list(kind)}
    except ProvisionerError:
        return set()  # cannot tell: the flows will say what they find
    return {a.client_id for a in agents if a.client_id not in present}
