"""Plans read AM lists with ``_fields`` (only what they compare); whatever the tenant does with it, the
plan is the same, and apply still writes whole documents back with every field it does not manage."""

from __future__ import annotations

import json
from typing import Any

import requests

from provisioner.kinds import aiagent, application, privilege
from provisioner.kinds.common import ref_id, resource_id
from tests.core.conftest import AGENT, APP, Tenant, bot_args

AM_LISTS = r"realm-config/agents/(OAuth2Client|AIAgent)\?"


def _faults(tenant: Tenant, rules: list[dict[str, Any]]) -> None:
    response = requests.put(tenant.url + "/_emulator/faults", json=rules, timeout=10)
    assert response.status_code < 300, response.text


def _fired(tenant: Tenant) -> list[int]:
    return [rule["fired"] for rule in requests.get(tenant.url + "/_emulator/faults", timeout=10).json()["rules"]]


def _config(tenant: Tenant, **values: Any) -> None:
    body = {key.replace("_", "."): value for key, value in values.items()}
    response = requests.patch(tenant.url + "/_emulator/config", json=body, timeout=10)
    assert response.status_code < 300, response.text


def _find(client: Any, kind: str, key: str) -> dict[str, Any]:
    found = client.am("alpha").find(kind, key)
    assert found is not None
    return found


def _plan_body(cli: Any, tenant: Tenant) -> str:
    code, out, err = cli("plan", *bot_args(tenant), "--detailed-exitcode")
    assert code == 2, out + err
    return out.split("\n\n", 1)[1]


def test_list_with_fields_holds_only_the_named_parts(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    with tenant.admin() as admin:
        am = admin.client.am("alpha")
        whole = {item["_id"]: item for item in am.list("AIAgent")}[AGENT]
        part = {item["_id"]: item for item in am.list("AIAgent", aiagent.PLAN_FIELDS)}[AGENT]
        app_part = {item["_id"]: item for item in am.list("OAuth2Client", application.PLAN_FIELDS)}[APP]
    assert "coreOpenIDClientConfig" in whole and "signEncOAuth2ClientConfig" in whole
    assert set(part) == {
        "_id",
        "_rev",
        "aiAgentIdentityUid",
        "advancedOAuth2ClientConfig",
        "coreOAuth2ClientConfig",
        "overrideOAuth2ClientConfig",
    }
    assert part["_rev"] == whole["_rev"] and part["aiAgentIdentityUid"] == whole["aiAgentIdentityUid"]
    assert part["coreOAuth2ClientConfig"]["scopes"] == whole["coreOAuth2ClientConfig"]["scopes"]
    assert set(part["overrideOAuth2ClientConfig"]) == {
        "providerOverridesEnabled",
        "statelessTokensEnabled",
        "acceptAudienceParametersInTokenExchangeRequests",
    }
    assert "coreOpenIDClientConfig" not in app_part
    assert len(str(part)) * 3 < len(str(whole))


def test_plan_is_the_same_whether_the_tenant_honours_ignores_or_refuses_fields(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    with tenant.admin() as admin:
        am = admin.client.am("alpha")
        agent = _find(admin.client, "AIAgent", AGENT)
        agent["coreOAuth2ClientConfig"]["scopes"] = ["monitor-system", "extra-scope"]
        agent["overrideOAuth2ClientConfig"]["statelessTokensEnabled"] = False
        agent["overrideOAuth2ClientConfig"]["issueRefreshToken"] = False  # not managed: must survive
        agent["coreOpenIDClientConfig"]["jwtTokenLifetime"] = 1234  # not managed: must survive
        am.put("AIAgent", AGENT, aiagent_body(agent))
        app = _find(admin.client, "OAuth2Client", APP)
        app["advancedOAuth2ClientConfig"]["descriptions"] = ["changed by hand"]
        app["signEncOAuth2ClientConfig"]["tokenEndpointAuthSigningAlgorithm"] = "RS384"  # not managed
        am.put("OAuth2Client", APP, aiagent_body(app))

    # The plan's two AM lists ask for fields: a zero-latency rule counts the requests that do.
    _faults(tenant, [{"path": AM_LISTS + ".*_fields=", "action": "latency", "latencyMs": 0}])
    honoured = _plan_body(cli, tenant)
    assert _fired(tenant) == [2]
    assert "statelessTokensEnabled" in honoured or "providerOverrides" in honoured
    assert "extra-scope" in honoured and "changed by hand" in honoured

    _config(tenant, am_list_fields="ignore")  # a tenant that answers whole objects
    assert _plan_body(cli, tenant) == honoured
    _config(tenant, am_list_fields="honor")

    # A tenant that refuses ``_fields`` (400): the plan asks again without it.
    refusal = {"code": 400, "reason": "Bad Request", "message": "Unknown field"}
    _faults(tenant, [{"path": AM_LISTS + ".*_fields=", "action": "respond", "status": 400, "body": refusal}])
    assert _plan_body(cli, tenant) == honoured
    assert _fired(tenant) == [2]

    # A tenant that cuts the objects differently than asked (top-level names only): whole objects again.
    cut = {"resultCount": 1, "pagedResultsCookie": None, "totalPagedResultsPolicy": "EXACT", "totalPagedResults": 1}
    _faults(
        tenant,
        [
            {
                "path": f"agents/{kind}\\?.*_fields=",
                "action": "respond",
                "body": {"result": [{"_id": key, "_rev": "1"}], **cut},
            }
            for kind, key in (("AIAgent", AGENT), ("OAuth2Client", APP))
        ],
    )
    assert _plan_body(cli, tenant) == honoured
    assert _fired(tenant) == [1, 1]

    # A tenant whose cut items carry a revision of the cut representation: the stale checks compare
    # revisions with whole reads, so the plan reads whole lists (one object read whole tells).
    _config(tenant, am_list_fields="rehash")
    _faults(tenant, [{"path": r"realm-config/agents/(OAuth2Client|AIAgent)\?_queryFilter=true$", "action": "latency"}])
    assert _plan_body(cli, tenant) == honoured
    assert _fired(tenant) == [2]  # the two whole lists

    _faults(tenant, [])
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")  # updates: no revision conflict
    assert code == 0, out + err
    _config(tenant, am_list_fields="honor")
    tenant.reset_stats()
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0
    assert tenant.stats()["oauth"] == 0  # the secret markers were read: no live probe of any secret
    with tenant.admin() as admin:
        agent = _find(admin.client, "AIAgent", AGENT)
        app = _find(admin.client, "OAuth2Client", APP)
    # Managed drift restored; everything else the objects held was written back as it was.
    assert sorted(agent["coreOAuth2ClientConfig"]["scopes"]) == ["monitor-system"]
    assert agent["overrideOAuth2ClientConfig"]["statelessTokensEnabled"] is True
    assert agent["overrideOAuth2ClientConfig"]["issueRefreshToken"] is False
    assert agent["coreOpenIDClientConfig"]["jwtTokenLifetime"] == 1234
    assert app["advancedOAuth2ClientConfig"]["descriptions"] != ["changed by hand"]
    assert app["signEncOAuth2ClientConfig"]["tokenEndpointAuthSigningAlgorithm"] == "RS384"


def aiagent_body(doc: dict[str, Any]) -> dict[str, Any]:
    from provisioner.kinds.common import writable_client_doc

    return writable_client_doc(doc)


PRIVILEGE_QUERY = r"managed/alpha_aiagentprivilege\?_queryFilter=true.*_fields="


def test_plan_reads_privileges_without_their_references(tenant: Tenant, cli) -> None:
    """The privileges' ``agent`` and ``resource`` references are half of each item; a plan reads their
    flattenings (``agentID``, ``resourceData``) instead, and reads whole items when one lacks them."""
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    with tenant.admin() as admin:
        cut = privilege.idm_privileges_for_plan(admin.client, "alpha")
        whole = privilege.idm_privileges(admin.client, "alpha")
    assert cut and all("agent" not in item and "resource" not in item for item in cut)
    assert [(item["agentID"], resource_id(item)) for item in cut] == [
        (ref_id(item["agent"]), ref_id(item["resource"])) for item in whole
    ]
    assert len(json.dumps(cut)) * 3 < len(json.dumps(whole)) * 2

    # Zero-latency rules count the plan's privilege queries: the cut one, and the whole one.
    rules = [
        {"path": PRIVILEGE_QUERY + "_id%2C_rev%2CagentID%2C", "action": "latency", "latencyMs": 0},
        {"path": PRIVILEGE_QUERY + "_id%2C_rev%2Cagent%2C", "action": "latency", "latencyMs": 0},
    ]
    _faults(tenant, rules)
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0
    assert _fired(tenant) == [1, 0]

    # A privilege whose application record is gone has no ``resourceData``: the plan reads whole items
    # (one more query) and still finds the agent's orphaned privilege.
    with tenant.admin() as admin:
        record = next(r for r in admin.client.idm.query("alpha_application") if r["ssoEntities"]["oidcId"] == APP)
        admin.client.idm.delete("alpha_application", record["_id"])
        assert not _flattened_all(privilege.idm_privileges(admin.client, "alpha"))
    _faults(tenant, rules)
    code, out, err = cli("plan", *bot_args(tenant), "--detailed-exitcode")
    assert code == 2, out + err
    assert _fired(tenant) == [1, 1]
    assert f"~ update Application alpha/{APP}  # the IDM record is missing" in out
    assert f"- delete AgentPrivilege alpha/{AGENT}/" in out  # the orphan, found by its agent
    assert f"+ create AgentPrivilege alpha/{AGENT}/{APP}" in out


def _flattened_all(items: list[dict[str, Any]]) -> bool:
    return all(isinstance(i.get("agentID"), str) and ref_id(i.get("resourceData")) for i in items)
