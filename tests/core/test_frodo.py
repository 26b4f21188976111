"""Frodo interop: ``export --format frodo`` writes frodo-lib's export shapes, ``import-frodo`` reads them.

The shapes are those of frodo-lib's ``AgentOps.exportAIAgents`` / ``exportAIAgent`` (``{meta, agent:
{id: AM agent + _aiAgentIdentity {..., _privileges: [...]}}}``), ``OAuth2ClientOps.exportOAuth2Clients``
(``{meta, script, application: {id: AM client + _provider}}``) and ``ApplicationOps.exportApplications``
(``{meta, managedApplication: {_id: IDM record}, application: {...}}``). The agent below is the one in
frodo-lib's own test snapshot of ``exportAIAgent`` (single-object export: wrapped AM values), with an
owner as in its ``exportAIAgents`` snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.conftest import AGENT, APP, Tenant, bot_args, demo_secrets

META_KEYS = {"origin", "originAmVersion", "exportedBy", "exportDate", "exportTool", "exportToolVersion"}
OWNER_ID = "867cbaf7-03cd-487a-9a96-d9769b297037"

#: frodo-lib src/test/snapshots/ops/AgentOps.test.js.snap, "exportAIAgent() 1" (owner added).
FRODO_AGENT = {
    "meta": {"origin": "https://openam-frodo-dev.forgeblocks.com/am", "exportTool": "frodo"},
    "agent": {
        "FrodoOpsTestAIAgent1": {
            "_aiAgentIdentity": {
                "_id": "63d324ec-78c6-4c84-a629-aaaaaaaaaaaa",
                "_privileges": [],
                "_rev": "f90619f5-dd2d-48dd-9107-83847f2351e6-42944",
                "customAttributes": None,
                "description": "Test AI agent 1 for Frodo unit tests.",
                "name": "Frodo Test AI Agent 1",
                "oauth2ClientId": "FrodoOpsTestAIAgent1",
                "owners": [
                    {
                        "_ref": f"managed/alpha_user/{OWNER_ID}",
                        "_refResourceCollection": "managed/alpha_user",
                        "_refResourceId": OWNER_ID,
                    }
                ],
                "privileges": [],
            },
            "_id": "FrodoOpsTestAIAgent1",
            "_rev": "1860053480",
            "_type": {"_id": "AIAgent", "collection": True, "name": "AI Agents"},
            "aiAgentIdentityAttributes": {
                "inherited": False,
                "value": {
                    "_id": "63d324ec-78c6-4c84-a629-aaaaaaaaaaaa",
                    "oauth2ClientId": "FrodoOpsTestAIAgent1",
                    "name": "Frodo Test AI Agent 1",
                    "description": "Test AI agent 1 for Frodo unit tests.",
                },
            },
            "aiAgentIdentityUid": {"inherited": False, "value": "63d324ec-78c6-4c84-a629-aaaaaaaaaaaa"},
            "coreOAuth2ClientConfig": {"scopes": {"inherited": False, "value": ["monitor-system"]}},
            "advancedOAuth2ClientConfig": {"grantTypes": {"inherited": False, "value": ["client_credentials"]}},
        }
    },
}


def _bot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    values = demo_secrets()
    monkeypatch.setenv("BOT_TRAFFIC_ANALYZER_AGENT_SECRET", values["BOT_AGENT_SECRET"])
    monkeypatch.setenv("WEB_SERVER_LOGS_API_APP_SECRET", values["LOGS_API_APP_SECRET"])


def test_frodo_export_imports_into_manifests_whose_plan_is_empty(
    tenant: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    code, out, err = cli("export", "--format", "frodo", "--tenant", tenant.url, "--out", tmp_path / "frodo")
    assert code == 0, out + err
    agents = json.loads((tmp_path / "frodo" / "alpha.agent.json").read_text())
    apps = json.loads((tmp_path / "frodo" / "alpha.application.json").read_text())

    # frodo-lib's AgentExportInterface: {meta, agent}; the AM agent carries _aiAgentIdentity with _privileges.
    assert set(agents) == {"meta", "agent"} and set(agents["meta"]) == META_KEYS
    agent = agents["agent"][AGENT]
    assert agent["_id"] == AGENT and agent["_aiAgentIdentity"]["oauth2ClientId"] == AGENT
    [priv] = agent["_aiAgentIdentity"]["_privileges"]
    assert priv["agentID"] == agent["_aiAgentIdentity"]["_id"]
    assert priv["permissions"] == [{"type": "scopes", "values": ["logs-read", "logs-search"]}]
    # ApplicationExportInterface: managedApplication by IDM _id, its OAuth2 client under application with _provider.
    assert set(apps) == {"meta", "managedApplication", "application", "script"}
    [(record_id, record)] = apps["managedApplication"].items()
    assert record["_id"] == record_id and record["ssoEntities"]["oidcId"] == APP
    client = apps["application"][APP]
    assert (
        client["_id"] == APP
        and "urn:ietf:params:oauth:grant-type:token-exchange"
        in client["_provider"]["advancedOAuth2Config"]["grantTypes"]
    )
    text = (tmp_path / "frodo" / "alpha.agent.json").read_text() + json.dumps(apps)
    assert not any(v in text for v in demo_secrets().values())
    assert client["coreOAuth2ClientConfig"].get("userpassword") is None  # write-only: AM answers null

    files = sorted(str(p) for p in (tmp_path / "frodo").glob("*.json"))
    code, out, err = cli("import-frodo", *files, "--out", tmp_path / "manifests")
    assert code == 0, out + err
    assert "BOT_TRAFFIC_ANALYZER_AGENT_SECRET  (bot-traffic-analyzer-agent)" in out
    agent_yaml = (tmp_path / "manifests" / "agents" / f"{AGENT}.yaml").read_text()
    assert "clientSecret: {fromEnv: BOT_TRAFFIC_ANALYZER_AGENT_SECRET}" in agent_yaml
    assert "permissions: [logs-read, logs-search]" in agent_yaml
    assert "ensure: [token_exchange]" in (tmp_path / "manifests" / "providers" / "alpha.yaml").read_text()

    _bot_env(monkeypatch)
    code, out, err = cli("validate", tmp_path / "manifests")
    assert code == 0, out + err
    # The objects carry the stack's marker (apply above); imported manifests declare no stack of their own.
    code, out, err = cli(
        "plan", tmp_path / "manifests", "--tenant", tenant.url, "--stack", "bot-traffic-analyzer", "--detailed-exitcode"
    )
    assert code == 0 and "No changes." in out, out + err


def test_import_of_frodo_lib_shapes_wrapped_values_and_owner_names(tenant: Tenant, cli, tmp_path: Path) -> None:
    source = tmp_path / "FrodoOpsTestAIAgent1.agent.json"
    source.write_text(json.dumps(FRODO_AGENT, indent=2))
    code, out, err = cli("import-frodo", source, "--out", tmp_path / "offline")
    assert code == 0, out + err
    assert f"owners: user id(s) {OWNER_ID} have no user" in err  # offline: ids cannot be named
    text = (tmp_path / "offline" / "agents" / "FrodoOpsTestAIAgent1.yaml").read_text()
    assert "displayName: Frodo Test AI Agent 1" in text and "scopes: [monitor-system]" in text
    assert "grantTypes: [client_credentials]" in text and "owners" not in text

    tenant.seed(
        {"realm": "alpha", "users": [{"userName": "frodo-owner", "password": "owner-pass-123", "_id": OWNER_ID}]}
    )
    code, out, err = cli("import-frodo", source, "--out", tmp_path / "named", "--tenant", tenant.url)
    assert code == 0, out + err
    named = (tmp_path / "named" / "agents" / "FrodoOpsTestAIAgent1.yaml").read_text()
    assert "owners:\n  - {userName: frodo-owner}" in named
    assert "no _provider" in err  # an agents-only export carries no provider


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"agent": {\n  "x": [1,\n}', "bad.json:3:1: not JSON"),
        ('{"journey": {}}', "not a Frodo export of AI agents, OAuth2 clients or applications"),
        ('{"agent": {"x": 5}}', "bad.json: agent.x: expected a JSON object"),
    ],
)
def test_import_frodo_reports_bad_files_with_where_and_why(cli, tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, out, err = cli("import-frodo", bad, "--out", tmp_path / "out")
    assert code == 1 and message in err and "Traceback" not in err, out + err
    assert not (tmp_path / "out").exists()


def test_export_frodo_refuses_stack(cli, tmp_path: Path) -> None:
    code, _, err = cli("export", "--format", "frodo", "--stack", "s", "--tenant", "http://127.0.0.1:9")
    assert code == 1 and "--stack cannot be used with --format frodo" in err


def test_import_frodo_next_command_runs_as_printed(
    tenant: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 'Next:' line is a command users paste: with --stack it works as printed (provisioner.yaml
    declares the stack); without, it says --stack NAME instead of a plan that refuses for want of one."""
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    assert cli("export", "--format", "frodo", "--tenant", tenant.url, "--out", tmp_path / "frodo")[0] == 0
    files = sorted(str(p) for p in (tmp_path / "frodo").glob("*.json"))
    code, out, err = cli("import-frodo", *files, "--out", tmp_path / "bare")
    assert code == 0 and f"Next: provisioner plan {tmp_path / 'bare'} --stack NAME --detailed-exitcode" in out
    code, out, err = cli("import-frodo", *files, "--out", tmp_path / "owned", "--stack", "bot-traffic-analyzer")
    assert code == 0, out + err
    assert "stack: bot-traffic-analyzer" in (tmp_path / "owned" / "provisioner.yaml").read_text()
    words = out.split("Next: provisioner ", 1)[1].split()
    assert words == ["plan", str(tmp_path / "owned"), "--detailed-exitcode"]
    _bot_env(monkeypatch)
    code, out, err = cli(*words, "--tenant", tenant.url)
    assert code == 0 and "No changes." in out, out + err
    code, out, err = cli("import-frodo", *files, "--out", tmp_path / "x", "--stack", "no spaces")
    assert code == 1 and "not a valid stack name" in out + err
    # The same rule for --stack on plan, apply and destroy: it becomes the marker written on every object.
    for command in (
        ["plan", *bot_args(tenant)],
        ["apply", *bot_args(tenant), "--auto-approve"],
        ["destroy", *bot_args(tenant)[:1], "--tenant", tenant.url, "--auto-approve"],
    ):
        tenant.reset_stats()
        code, out, err = cli(*command, "--stack", "a b")
        assert code == 1 and "Invalid value for '--stack': 'a b' is not a valid stack name" in out + err, command
        assert tenant.stats()["writes"] == 0
