"""Acceptance: a tenant built by hand (raw REST) → export → validate → plan shows no changes → apply.

Everything runs against ``EmulatorServer`` over a real socket with the real client and CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli as click_cli
from provisioner.kinds.reverse import secret_env_name
from tests.export.conftest import BOT, LOGS_APP, LOOKALIKE_AGENT, LOOKALIKE_APP, OBO, SECRETS, WEB_APP, Tenant

ALL_FILES = [
    "agents/bot-traffic-analyzer-agent-2.yaml",
    "agents/bot-traffic-analyzer-agent.yaml",
    "agents/digital-assistant-ai-agent.yaml",
    "applications/digital-assistant-web-app.yaml",
    "applications/web-server-logs-api-app-v2.yaml",
    "applications/web-server-logs-api-app.yaml",
    "providers/alpha.yaml",
    "schemas/manifest.schema.json",
    "secrets.env.example",
]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def set_secrets(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    for key in keys or SECRETS:
        monkeypatch.setenv(secret_env_name(key), SECRETS[key])


def export(cli, tenant: Tenant, *args: str) -> tuple[int, str, str]:
    return cli("export", "--tenant", tenant.url, *args)


def test_export_round_trip(populated: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = export(cli, populated, "--out", "adopted")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"Target: {populated.url}"
    assert lines[1:10] == [
        f"wrote adopted/{p}"
        for p in [
            "schemas/manifest.schema.json",
            "providers/alpha.yaml",
            "applications/digital-assistant-web-app.yaml",
            "applications/web-server-logs-api-app.yaml",
            "applications/web-server-logs-api-app-v2.yaml",
            "agents/bot-traffic-analyzer-agent.yaml",
            "agents/bot-traffic-analyzer-agent-2.yaml",
            "agents/digital-assistant-ai-agent.yaml",
            "secrets.env.example",
        ]
    ]
    assert lines[10] == "Exported 7 objects from realm 'alpha' to adopted."
    assert lines[12:18] == [f"  {secret_env_name(k)}  ({k})" for k in sorted(SECRETS, key=secret_env_name)]
    assert files_under(tmp_path / "adopted") == ALL_FILES
    for secret in SECRETS.values():
        assert secret not in out + err

    agent = (tmp_path / "adopted/agents/bot-traffic-analyzer-agent.yaml").read_text()
    assert agent == (
        "# yaml-language-server: $schema=../schemas/manifest.schema.json\n"
        "apiVersion: provisioner/v1\nkind: AIAgent\nmetadata:\n  name: bot-traffic-analyzer-agent\n  realm: alpha\n"
        "spec:\n  displayName: Bot Traffic Analyzer Agent\n  description: Bot Traffic Analyzer Agent.\n"
        "  clientSecret: {fromEnv: BOT_TRAFFIC_ANALYZER_AGENT_SECRET}\n  scopes: [monitor-system]\n"
        "  grantTypes: [client_credentials, token_exchange]\n  tokenEndpointAuthMethod: client_secret_post\n"
        "  providerOverrides: {enabled: true, clientSideTokens: true, acceptAudienceInTokenExchange: true}\n"
        "  applications:\n  - application: web-server-logs-api-app\n    description: read the web server logs\n"
        "    permissions: [logs-read, logs-search]\n"
    )
    obo = (tmp_path / "adopted/agents/digital-assistant-ai-agent.yaml").read_text()
    assert "  owners:\n  - {userName: alice}\n" in obo
    assert (
        "  - application: digital-assistant-web-app\n    subjects:\n    - {userName: bob}\n"
        "    subjectGroups: [digital-assistant-users]\n    permissions: [orders.read]\n"
    ) in obo
    web = (tmp_path / "adopted/applications/digital-assistant-web-app.yaml").read_text()
    assert "  template: web\n" in web and "redirectUris: ['https://assistant.example.com/callback']" in web
    assert "accessTokenLifetime" not in web  # the template default
    assert (
        (tmp_path / "adopted/providers/alpha.yaml")
        .read_text()
        .endswith("spec:\n  grantTypes:\n    ensure: [token_exchange]\n")
    )
    example = (tmp_path / "adopted/secrets.env.example").read_text()
    assert "BOT_TRAFFIC_ANALYZER_AGENT_SECRET=\n" in example and example.startswith("# ")

    assert cli("validate", "adopted", "--skip-secrets")[0] == 0

    set_secrets(monkeypatch)
    # The exported objects carry no secret marker: plan proves their secrets live -> no changes.
    code, out, err = cli("plan", "adopted", "--tenant", populated.url, "--stack", "adopted", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes. The tenant matches the manifests." in out
    assert (
        cli(
            "plan", "adopted", "--tenant", populated.url, "--stack", "adopted", "--check-secrets", "--detailed-exitcode"
        )[0]
        == 0
    )
    # ...and apply writes nothing at all.
    populated.reset_stats()
    code, out, err = cli("apply", "adopted", "--tenant", populated.url, "--stack", "adopted", "--auto-approve")
    assert code == 0, out + err
    assert populated.stats()["writes"] == 0

    # A wrong value for an adopted client's secret is caught by the same live proof.
    monkeypatch.setenv(secret_env_name(BOT), "not-the-secret-the-tenant-holds")
    code, out, err = cli(
        "plan", "adopted", "--tenant", populated.url, "--stack", "adopted", "--format", "json", "--detailed-exitcode"
    )
    assert code == 2, out + err
    changed = [c for c in json.loads(out)["changes"] if c["action"] != "no-op"]
    assert [(c["key"], [(f["path"], f["sensitive"]) for f in c["fields"]]) for c in changed] == [
        (BOT, [("clientSecret", True)])
    ]


def test_export_writes_nothing_to_the_tenant_and_is_deterministic(populated: Tenant, cli, tmp_path: Path) -> None:
    populated.reset_stats()
    assert export(cli, populated, "--out", "one")[0] == 0
    stats = populated.stats()
    assert stats["writes"] == 0
    assert stats["reads"] <= 10  # provider, 2 AM lists, 3 IDM queries, 1 user query (+ token)
    assert export(cli, populated, "--out", "two")[0] == 0
    for name in files_under(tmp_path / "one"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_select_refers_to_other_applications_as_existing(
    populated: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = export(cli, populated, "--out", "bot", "--select", BOT, "--kinds", "Application,AIAgent")
    assert code == 0, out + err
    assert files_under(tmp_path / "bot") == [
        "agents/bot-traffic-analyzer-agent.yaml",
        "schemas/manifest.schema.json",
        "secrets.env.example",
    ]
    text = (tmp_path / "bot/agents/bot-traffic-analyzer-agent.yaml").read_text()
    assert "  - application: web-server-logs-api-app\n    existing: true\n" in text
    assert cli("validate", "bot", "--skip-secrets")[0] == 0
    set_secrets(monkeypatch, BOT)
    code, out, err = cli(
        "plan", "bot", "--tenant", populated.url, "--stack", "bot", "--check-secrets", "--detailed-exitcode"
    )
    assert code == 0, out + err


def test_select_several_and_look_alikes_stay_out(populated: Tenant, cli, tmp_path: Path) -> None:
    code, out, err = export(cli, populated, "--out", "o", "--select", f"{BOT},{LOGS_APP}")
    assert code == 0, out + err
    names = files_under(tmp_path / "o")
    assert "applications/web-server-logs-api-app.yaml" in names and "agents/bot-traffic-analyzer-agent.yaml" in names
    assert not any(LOOKALIKE_APP in n or LOOKALIKE_AGENT in n or WEB_APP in n or OBO in n for n in names)
    assert "existing" not in (tmp_path / "o/agents/bot-traffic-analyzer-agent.yaml").read_text()


def test_select_unknown_client_fails_before_writing(populated: Tenant, cli, tmp_path: Path) -> None:
    code, out, err = export(cli, populated, "--out", "o", "--select", "no-such-agent")
    assert code == 1
    assert (
        "Error: --select: cannot export 'no-such-agent' (no application or AI agent with this client ID) in "
        "realm 'alpha'; nothing was written"
    ) in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "o").exists()


def test_kinds_filter(populated: Tenant, cli, tmp_path: Path) -> None:
    assert export(cli, populated, "--out", "p", "--kinds", "OAuth2Provider")[0] == 0
    assert files_under(tmp_path / "p") == ["providers/alpha.yaml", "schemas/manifest.schema.json"]
    assert export(cli, populated, "--out", "a", "--kinds", "application")[0] == 0
    assert [n for n in files_under(tmp_path / "a") if n.endswith(".yaml")] == [
        "applications/digital-assistant-web-app.yaml",
        "applications/web-server-logs-api-app-v2.yaml",
        "applications/web-server-logs-api-app.yaml",
    ]
    code, _, err = export(cli, populated, "--out", "x", "--kinds", "Agents")
    assert code == 1 and "Error: --kinds: unknown kind(s) 'Agents'" in err


def test_provider_grant_types_exact(populated: Tenant, cli, tmp_path: Path) -> None:
    assert export(cli, populated, "--out", "x", "--kinds", "OAuth2Provider", "--provider-grant-types", "exact")[0] == 0
    text = (tmp_path / "x/providers/alpha.yaml").read_text()
    assert "exact: [authorization_code, ciba, client_credentials, device_code, implicit, jwt_bearer, password," in text
    assert cli("plan", "x", "--tenant", populated.url, "--stack", "x", "--detailed-exitcode")[0] == 0


def test_refuses_to_overwrite_without_force(populated: Tenant, cli, tmp_path: Path) -> None:
    assert export(cli, populated, "--out", "o")[0] == 0
    target = tmp_path / "o/agents/bot-traffic-analyzer-agent.yaml"
    target.write_text("# edited by hand\n")
    code, out, err = export(cli, populated, "--out", "o")
    assert code == 1
    assert (
        "Error: 8 file(s) already exist: o/providers/alpha.yaml, o/applications/digital-assistant-web-app.yaml" in err
    )
    assert "nothing was written (pass --force to overwrite them)" in err
    assert "wrote" not in out
    assert target.read_text() == "# edited by hand\n"
    code, out, err = export(cli, populated, "--out", "o", "--force")
    assert code == 0, err
    assert target.read_text().startswith("# yaml-language-server:")


def test_schema_comment_points_at_the_checkout_schemas(populated: Tenant, cli, tmp_path: Path) -> None:
    (tmp_path / "repo/schemas").mkdir(parents=True)
    (tmp_path / "repo/schemas/manifest.schema.json").write_text("{}")
    assert export(cli, populated, "--out", "repo/manifests/adopted", "--kinds", "OAuth2Provider")[0] == 0
    text = (tmp_path / "repo/manifests/adopted/providers/alpha.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../../schemas/manifest.schema.json\n")
    assert files_under(tmp_path / "repo/manifests/adopted") == ["providers/alpha.yaml"]


def test_stack_marks_exported_objects_for_prune(
    populated: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populated.reset_stats()
    code, out, err = export(cli, populated, "--stack", "adopted", "--select", f"{BOT},{LOGS_APP}", "--auto-approve")
    assert code == 0, out + err
    assert (
        "Will mark 2 objects as owned by stack 'adopted' (customProperties provisioner.stack=adopted):\n"
        "  Application alpha/web-server-logs-api-app\n  AIAgent alpha/bot-traffic-analyzer-agent\n"
    ) in out
    assert "marked AIAgent alpha/bot-traffic-analyzer-agent as owned by stack 'adopted'" in out
    assert populated.stats()["writes"] == 2
    clients, agents = populated.am_list("OAuth2Client"), populated.am_list("AIAgent")
    assert "provisioner.stack=adopted" in clients[LOGS_APP]["advancedOAuth2ClientConfig"]["customProperties"]
    assert "provisioner.stack=adopted" in agents[BOT]["advancedOAuth2ClientConfig"]["customProperties"]
    assert "provisioner.stack=adopted" not in agents[LOOKALIKE_AGENT]["advancedOAuth2ClientConfig"]["customProperties"]
    assert "provisioner.stack=adopted" not in clients[LOOKALIKE_APP]["advancedOAuth2ClientConfig"]["customProperties"]

    # The marked objects now belong to the stack (default --out is the stack name): no changes, no prune.
    set_secrets(monkeypatch, BOT, LOGS_APP)
    code, out, err = cli(
        "plan", "adopted", "--tenant", populated.url, "--prune", "--check-secrets", "--detailed-exitcode"
    )
    assert code == 0, out + err
    # Dropping the agent's file makes it a prune candidate; the unmarked look-alikes never are.
    (tmp_path / "adopted/agents/bot-traffic-analyzer-agent.yaml").unlink()
    code, out, err = cli(
        "plan", "adopted", "--tenant", populated.url, "--prune", "--format", "json", "--detailed-exitcode"
    )
    assert code == 2, out + err
    deletes = [c["address"] for c in json.loads(out)["changes"] if c["action"] == "delete"]
    assert f"AIAgent alpha/{BOT}" in deletes and not any(LOOKALIKE_AGENT in d for d in deletes)

    # A second export with --stack has nothing left to mark.
    populated.reset_stats()
    code, out, _ = export(cli, populated, "--stack", "adopted", "--select", f"{BOT},{LOGS_APP}", "--force")
    assert code == 0 and "Will mark" not in out and populated.stats()["writes"] == 0


def test_stack_without_a_terminal_needs_auto_approve(populated: Tenant, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        click_cli, ["export", "--tenant", populated.url, "--stack", "adopted"], standalone_mode=False
    )
    assert "pass --auto-approve" in str(result.exception)
    assert not (tmp_path / "adopted").exists()
    agents = populated.am_list("AIAgent")
    assert not any(
        "provisioner.stack=adopted" in a["advancedOAuth2ClientConfig"]["customProperties"] for a in agents.values()
    )


def test_no_tenant_in_ci_is_a_clear_error(cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    code, out, err = cli("export", "--out", "o")
    assert code == 1
    assert err.startswith("Error: no tenant configured") and "Traceback" not in err
    assert not os.path.exists("o")
