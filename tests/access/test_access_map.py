"""``provisioner access``: the agent's edges in text, JSON and Mermaid, offline and from the live tenant."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.core.conftest import AGENT, APP, BOT, ROOT, Tenant, bot_args

ASSISTANT = ROOT / "manifests" / "digital-assistant"

BOT_TEXT = f"""AIAgent alpha/{AGENT}
  own token (client_credentials): scopes [monitor-system]
  exchange → {APP}
      audience: {APP}
      scopes:   [logs-read, logs-search]
      acts for: no one (autonomous: only for itself)

1 agent, 1 exchange (from the manifests)
"""


def test_text_shows_the_own_token_and_the_exchange(cli) -> None:
    code, out, err = cli("access", str(BOT))
    assert code == 0, err
    assert out == BOT_TEXT


def test_json_carries_both_edges(cli) -> None:
    code, out, err = cli("access", str(BOT), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["source"] == "manifests"
    [agent] = data["agents"]
    assert (agent["realm"], agent["agent"]) == ("alpha", AGENT)
    assert agent["ownToken"] == {"grant": "client_credentials", "scopes": ["monitor-system"]}
    assert agent["tokenExchange"] is True
    assert agent["exchanges"] == [
        {
            "application": APP,
            "audience": APP,
            "scopes": ["logs-read", "logs-search"],
            "allScopes": False,
            "actsFor": {"noOne": True, "users": [], "groups": []},
        }
    ]


def test_mermaid_draws_exactly_the_two_edges(cli) -> None:
    code, out, err = cli("access", str(BOT), "--format", "mermaid")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "```mermaid" and lines[1] == "flowchart LR" and lines[-1] == "```"
    edges = [line.strip() for line in lines if "-->" in line]
    assert len(edges) == 2, edges
    node = re.escape("agent0_alpha_bot_traffic_analyzer_agent")
    assert re.fullmatch(node + r' -->\|"client_credentials: monitor-system"\| token\w+', edges[0]), edges[0]
    assert re.fullmatch(
        node + r' -->\|"exchange, aud web-server-logs-api-app: logs-read, logs-search; acts for no '
        r'one \(autonomous: only for itself\)"\| app\w+',
        edges[1],
    ), edges[1]
    assert f'["Application {APP}"]' in out and f'["AIAgent {AGENT}"]' in out


def test_on_behalf_of_agent_acts_for_its_group_and_has_no_own_token(cli) -> None:
    code, out, err = cli("access", str(ASSISTANT), "--env", "dev", "--format", "json")
    assert code == 0, err
    [agent] = json.loads(out)["agents"]
    assert agent["ownToken"] is None
    assert agent["exchanges"][0]["actsFor"] == {"noOne": False, "users": [], "groups": ["digital-assistant-users"]}
    code, text, _ = cli("access", str(ASSISTANT), "--env", "dev")
    assert "own token: none (no client_credentials grant)" in text
    assert "acts for: groups digital-assistant-users" in text
    code, mermaid, _ = cli("access", str(ASSISTANT), "--env", "dev", "--format", "mermaid")
    assert mermaid.count("-->") == 1 and "acts for groups digital-assistant-users" in mermaid


def test_empty_permissions_mean_every_scope_of_the_application(cli, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    shutil.copytree(BOT, stack)
    agent = stack / "agent.yaml"
    agent.write_text(agent.read_text().replace("permissions: [logs-read, logs-search]", "permissions: []"))
    code, out, err = cli("access", str(stack), "--format", "json")
    assert code == 0, err
    edge = json.loads(out)["agents"][0]["exchanges"][0]
    assert edge["allScopes"] is True and edge["scopes"] == ["logs-read", "logs-search"]


def test_invalid_manifests_give_no_map(cli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: provisioner/v1\nkind: AIAgent\nmetadata: {name: a}\nspec: {scope: [x]}\n"
    )
    code, out, err = cli("access", str(tmp_path))
    assert code == 1 and out == ""
    assert "bad.yaml:4:8: spec.scope: unknown field" in err


def test_live_tenant_map_equals_the_manifests_after_apply(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    code, live, err = cli("access", str(BOT), "--tenant", tenant.url, "--format", "json")
    assert code == 0, err
    assert err.startswith("Target: ")
    offline = json.loads(cli("access", str(BOT), "--format", "json")[1])
    live_map = json.loads(live)
    assert live_map["source"] == "tenant"
    assert live_map["agents"] == offline["agents"]
    code, text, _ = cli("access", str(BOT), "--tenant", tenant.url)
    assert text.splitlines()[0].startswith("Target: ") and "\n".join(text.splitlines()[1:]) + "\n" == BOT_TEXT.replace(
        "from the manifests", "from the tenant"
    )


def test_live_map_names_subject_users_and_groups(tenant: Tenant, cli, tmp_path: Path) -> None:
    tenant.seed(
        {
            "realm": "alpha",
            "users": [{"userName": "bob", "password": "Bob-pass-1234"}],
            "groups": [{"_id": "log-readers", "members": ["bob"]}],
        }
    )
    stack = tmp_path / "bot-traffic-analyzer"
    shutil.copytree(BOT, stack)
    agent = stack / "agent.yaml"
    agent.write_text(
        agent.read_text()
        .replace("subjects: []", "subjects: [{userName: bob}]")
        .replace("subjectGroups: []", "subjectGroups: [log-readers]")
    )
    assert (
        cli("apply", str(stack), "--tenant", tenant.url, "--env-file", str(stack / "demo.env"), "--auto-approve")[0]
        == 0
    )
    code, out, err = cli("access", str(stack), "--tenant", tenant.url, "--format", "json")
    assert code == 0, err
    edge = json.loads(out)["agents"][0]["exchanges"][0]
    assert edge["actsFor"] == {"noOne": False, "users": ["bob"], "groups": ["log-readers"]}
