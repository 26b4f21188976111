"""Acceptance tests against the emulator over a real socket, with the real client and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from provisioner.grants import TOKEN_EXCHANGE
from provisioner.plan import Plan
from provisioner.render import render_markdown, render_text
from tests.core.conftest import AGENT, APP, BOT, Tenant, bot_args, demo_secrets

OAUTH = "/am/oauth2/realms/root/realms/alpha"


def token(tenant: Tenant, client_id: str, secret: str, **form: str) -> requests.Response:
    data = {"client_id": client_id, "client_secret": secret, **form}
    return requests.post(tenant.url + OAUTH + "/access_token", data=data, timeout=10)


def seed_flow(tenant: Tenant, agent_secret: str) -> dict:
    first = token(tenant, AGENT, agent_secret, grant_type="client_credentials", scope="monitor-system")
    assert first.status_code == 200, first.text
    exchanged = token(
        tenant,
        AGENT,
        agent_secret,
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token=first.json()["access_token"],
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        audience=APP,
        scope="logs-read logs-search",
    )
    assert exchanged.status_code == 200, exchanged.text
    info = requests.get(
        tenant.url + OAUTH + "/tokeninfo", params={"access_token": exchanged.json()["access_token"]}, timeout=10
    )
    assert info.status_code == 200, info.text
    return info.json()


def test_apply_on_empty_tenant_then_seed_flow_works(tenant: Tenant, cli) -> None:
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0, out + err
    assert out.startswith(f"Target: {tenant.url}")
    assert "Plan: 3 to create, 1 to update, 0 to delete." in out
    assert f"✓ create AIAgent alpha/{AGENT}" in out
    assert "Apply complete: 4 done, 0 failed, 0 not attempted." in out
    claims = seed_flow(tenant, demo_secrets()["BOT_AGENT_SECRET"])
    assert claims["sub"] == AGENT and claims["act"]["sub"] == AGENT
    assert sorted(claims["aud"]) == sorted([AGENT, APP])
    assert sorted(claims["scope"]) == ["logs-read", "logs-search"]


def test_second_run_is_a_no_op(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    code, out, _ = cli("plan", *bot_args(tenant), "--detailed-exitcode")
    assert code == 0 and "No changes. The tenant matches the manifests." in out
    tenant.reset_stats()
    code, out, _ = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0
    assert tenant.stats()["writes"] == 0


def test_first_plan_exit_code_is_2_and_validation_errors_exit_1(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: 'x y', realm: alpha}\nspec: {scopes: 5}\n"
    )
    tenant.reset_stats()
    code, _, err = cli("plan", str(bad), "--tenant", tenant.url)
    assert code == 1 and "bad.yaml:" in err
    assert tenant.stats()["total"] == 0  # no network before validation passed


def _am_find(client, kind: str, key: str) -> dict:
    body = client.request(
        "GET",
        f"/am/json/realms/root/realms/alpha/realm-config/agents/{kind}",
        params={"_queryFilter": f"_id eq '{key}'"},
    ).body
    return body["result"][0]


def _strip(doc: dict) -> dict:
    from provisioner.kinds.common import writable_client_doc

    return writable_client_doc(doc)


def test_drift_is_shown_field_by_field_and_restored(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    with tenant.admin() as admin:
        client = admin.client
        am = client.am("alpha")
        # Someone else's unmanaged settings on the application's client: must survive byte for byte.
        app_doc = _strip(_am_find(client, "OAuth2Client", APP))
        app_doc["coreOAuth2ClientConfig"]["redirectionUris"] = ["https://someone.example/cb"]
        app_doc["advancedOAuth2ClientConfig"]["customProperties"].insert(0, "team=observability")
        am.put("OAuth2Client", APP, app_doc)
        # Drift in managed fields.
        agent_doc = _strip(_am_find(client, "AIAgent", AGENT))
        agent_doc["coreOAuth2ClientConfig"]["scopes"] = ["monitor-system", "extra-scope"]
        am.put("AIAgent", AGENT, agent_doc)
        provider_doc, _ = am.get_provider()
        grants = provider_doc["advancedOAuth2Config"]["grantTypes"]
        provider_doc["advancedOAuth2Config"]["grantTypes"] = [g for g in grants if g != TOKEN_EXCHANGE]
        am.put_provider(provider_doc)
        privs = client.idm.query("alpha_aiagentprivilege", "true", ("_id", "_rev"))
        client.idm.patch(
            "alpha_aiagentprivilege",
            privs[0]["_id"],
            [{"operation": "replace", "field": "/permissions", "value": [{"type": "scopes", "values": ["logs-read"]}]}],
        )
        record = client.idm.query("alpha_application", "true", ("_id", "name", "ssoEntities"))[0]
        client.idm.patch(
            "alpha_application", record["_id"], [{"operation": "replace", "field": "/name", "value": "Renamed by hand"}]
        )
        unmanaged_before = _strip(_am_find(client, "OAuth2Client", APP))

    code, out, _ = cli("plan", *bot_args(tenant), "--detailed-exitcode")
    assert code == 2
    body = out.split("\n\n", 1)[1]
    assert "~ update OAuth2Provider alpha" in body
    assert f"~ update AIAgent alpha/{AGENT}\n    scopes: [extra-scope, monitor-system] → [monitor-system]\n" in body
    assert (
        f"~ update AgentPrivilege alpha/{AGENT}/{APP}\n    permissions: [logs-read] → [logs-read, logs-search]\n"
        in body
    )
    assert f'~ update Application alpha/{APP}\n    displayName: "Renamed by hand" → "Web Server Logs API App"\n' in body
    field_lines = [line for line in body.splitlines() if line.startswith("    ")]
    assert len(field_lines) == 4, body
    assert "Plan: 0 to create, 4 to update, 0 to delete." in body

    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0
    with tenant.admin() as admin:
        after = _strip(_am_find(admin.client, "OAuth2Client", APP))
    assert after == unmanaged_before  # the application client was never rewritten
    assert after["coreOAuth2ClientConfig"]["redirectionUris"] == ["https://someone.example/cb"]
    assert after["advancedOAuth2ClientConfig"]["customProperties"][0] == "team=observability"


def test_stale_plan_is_refused_before_any_write(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    with tenant.admin() as admin:
        doc = _strip(_am_find(admin.client, "AIAgent", AGENT))
        doc["coreOAuth2ClientConfig"]["scopes"] = ["other"]
        admin.client.am("alpha").put("AIAgent", AGENT, doc)
    plan_file = tmp_path / "p.json"
    assert cli("plan", *bot_args(tenant), "--out", plan_file)[0] == 0
    with tenant.admin() as admin:
        record = admin.client.idm.query("alpha_application", "true", ("_id",))[0]
        admin.client.idm.patch(
            "alpha_application", record["_id"], [{"operation": "replace", "field": "/description", "value": "changed"}]
        )
    tenant.reset_stats()
    code, out, err = cli(
        "apply", "--plan", plan_file, "--tenant", tenant.url, "--env-file", str(BOT / "demo.env"), "--auto-approve"
    )
    assert code == 1
    assert "stale" in err and f"Application alpha/{APP}: IDM revision" in err
    assert tenant.stats()["writes"] == 0


def test_json_plan_round_trips_and_renderings_agree(tenant: Tenant, cli, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    code, text_out, _ = cli("plan", *bot_args(tenant), "--out", plan_file, "--no-color")
    assert code == 0
    saved = Plan.from_json(plan_file.read_text())
    assert Plan.from_json(saved.to_json()) == saved
    assert plan_file.read_text() == saved.to_json()
    code, json_out, err = cli("plan", *bot_args(tenant), "--format", "json")
    assert json.loads(json_out) == saved.to_dict() and err.startswith("Target:")
    code, md_out, _ = cli("plan", *bot_args(tenant), "--format", "markdown")
    assert md_out == render_markdown(saved.to_dict())
    assert text_out == render_text(saved.to_dict())  # same JSON → same text (target line included)
    for change in saved.changes:
        if change.action != "no-op":
            assert change.address in text_out and change.address in md_out
    for secret in demo_secrets().values():
        assert secret not in plan_file.read_text() + text_out + json_out + md_out
