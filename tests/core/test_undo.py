"""Undo: a failed apply (fault injected half-way) is taken back from its journal, field for field.

The tenant first holds an older version of a stack (agent, application, privilege with owners and
subjects, a legacy application the new version prunes). The new version updates, creates and deletes;
a fault makes one privilege write fail after the other writes landed. ``undo JOURNAL`` (and
``apply --rollback-on-failure`` in one command) must bring back every managed field of every object,
re-create what was deleted and remove what was created.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from provisioner import journal
from provisioner.kinds import aiagent, application, privilege
from provisioner.kinds.common import get_path
from provisioner.kinds.fields import canonical
from provisioner.kinds.provider import AUDIENCE_PATH, current_grants
from provisioner.kinds.snapshot import ReadScope, read_snapshot
from tests import leakcheck
from tests.core.conftest import Tenant

SECRETS = {
    "UNDO_AGENT_SECRET": "undo-agent-secret-value-1",
    "UNDO_APP_SECRET": "undo-app-secret-value-2",
    "UNDO_LEGACY_SECRET": "undo-legacy-secret-value-3",
    "UNDO_NEW_SECRET": "undo-new-agent-secret-4",
}
HEADER = "apiVersion: provisioner/v1\n"


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(HEADER + text)
    return folder


def old_stack(root: Path) -> Path:
    """What the tenant holds before the apply under test."""
    return _write(
        root / "old",
        {
            "provider.yaml": "kind: OAuth2Provider\nmetadata: {realm: alpha}\nspec:\n"
            "  grantTypes: {ensure: [client_credentials]}\n",
            "app.yaml": "kind: Application\nmetadata: {name: undo-logs-app, realm: alpha}\nspec:\n"
            "  displayName: Logs (old)\n  description: old description\n  owners: [{userName: alice}]\n"
            "  clientSecret: {fromEnv: UNDO_APP_SECRET}\n  scopes: [logs-read, logs-search, logs-delete]\n",
            "legacy.yaml": "kind: Application\nmetadata: {name: undo-legacy-app, realm: alpha}\nspec:\n"
            "  displayName: Legacy\n  clientSecret: {fromEnv: UNDO_LEGACY_SECRET}\n  scopes: [legacy]\n",
            "agent.yaml": "kind: AIAgent\nmetadata: {name: undo-agent, realm: alpha}\nspec:\n"
            "  displayName: Agent (old)\n  owners: [{userName: alice}]\n"
            "  clientSecret: {fromEnv: UNDO_AGENT_SECRET}\n  scopes: [monitor-system, admin]\n"
            "  grantTypes: [client_credentials]\n  accessTokenLifetime: 600\n"
            "  applications:\n    - application: undo-logs-app\n      description: old privilege\n"
            "      subjects: [{userName: bob}]\n      permissions: [logs-read, logs-delete]\n",
        },
    )


def new_stack(root: Path) -> Path:
    """The change under test: updates everything, adds an agent, drops the legacy application."""
    return _write(
        root / "new",
        {
            "provider.yaml": "kind: OAuth2Provider\nmetadata: {realm: alpha}\nspec:\n"
            "  grantTypes: {ensure: [client_credentials, token_exchange]}\n"
            "  acceptAudienceInTokenExchange: true\n",
            "app.yaml": "kind: Application\nmetadata: {name: undo-logs-app, realm: alpha}\nspec:\n"
            "  displayName: Logs (new)\n  description: new description\n  owners: [{userName: bob}]\n"
            "  clientSecret: {fromEnv: UNDO_APP_SECRET}\n  scopes: [logs-read, logs-search]\n",
            "agent.yaml": "kind: AIAgent\nmetadata: {name: undo-agent, realm: alpha}\nspec:\n"
            "  displayName: Agent (new)\n  description: now described\n  owners: [{userName: bob}]\n"
            "  clientSecret: {fromEnv: UNDO_AGENT_SECRET}\n  scopes: [monitor-system]\n"
            "  grantTypes: [client_credentials, token_exchange]\n  accessTokenLifetime: 300\n"
            "  providerOverrides: {enabled: true, acceptAudienceInTokenExchange: true}\n"
            "  applications:\n    - application: undo-logs-app\n      description: new privilege\n"
            "      subjects: []\n      permissions: [logs-search]\n",
            "new-agent.yaml": "kind: AIAgent\nmetadata: {name: undo-new-agent, realm: alpha}\nspec:\n"
            "  clientSecret: {fromEnv: UNDO_NEW_SECRET}\n  scopes: [monitor-system]\n"
            "  grantTypes: [client_credentials, token_exchange]\n"
            "  applications:\n    - application: undo-logs-app\n      permissions: [logs-read]\n",
        },
    )


def tenant_state(url: str) -> dict[str, Any]:
    """Every managed field of every object in realm alpha, plus which objects exist (no revisions, no
    secrets): the provider's grant types and audience flag, each application (AM client and IDM
    record), each agent (AM agent and identity), and each privilege by (agent, application)."""
    from provisioner.tenant import open_tenant

    with open_tenant(url, environ=dict(os.environ)) as opened:
        snap = read_snapshot(opened.client, [ReadScope("alpha")]).realm("alpha")
    out: dict[str, Any] = {
        "provider": {
            "grants": sorted(current_grants(snap.provider)),
            "audience": get_path(snap.provider, AUDIENCE_PATH),
        }
    }
    for kind, keys, fields in (
        (application.KIND, sorted(set(snap.clients) | set(snap.apps)), application.FIELDS),
        (aiagent.KIND, sorted(snap.agents), aiagent.FIELDS),
    ):
        for key in keys:
            docs = application.observe(snap, key) if kind == application.KIND else aiagent.observe(snap, key)
            out[f"{kind} {key}"] = {
                f"{fld.name}@{t.remote}": canonical(t, get_path(docs.get(t.remote), t.path))
                for fld in fields
                if not fld.sensitive
                for t in fld.targets
            }
            out[f"{kind} {key}"]["exists"] = {r: docs.get(r) is not None for r in ("am", "idm")}
    for priv in snap.privileges:
        agent = priv.get("agentOAuth2ClientId")
        out[f"privilege {agent}/{snap.privilege_app(priv)}"] = {
            fld.name: canonical(fld.targets[0], priv.get(fld.name)) for fld in privilege.FIELDS
        }
    return out


def _fault_on_privilege(tenant: Tenant) -> None:
    """Every attempt (five) at writing undo-agent's privilege fails with 500; then the fault is spent."""
    target = privilege.privilege_id("alpha", "undo-agent", "undo-logs-app")
    rule = {
        "path": f"managed/alpha_aiagentprivilege/{target}",
        "action": "status",
        "status": 500,
        "retryAfter": 0,
        "count": 5,
    }
    assert requests.put(tenant.url + "/_emulator/faults", json=[rule], timeout=10).status_code == 200


@pytest.fixture
def prepared(tenant: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    leakcheck.add_secret(*SECRETS.values())
    tenant.seed(
        {
            "realm": "alpha",
            "users": [
                {"userName": "alice", "password": "alice-password-1"},
                {"userName": "bob", "password": "bob-password-22"},
            ],
        }
    )
    old = old_stack(tmp_path)
    code, out, err = cli("apply", old, "--tenant", tenant.url, "--stack", "undo", "--auto-approve")
    assert code == 0, out + err
    before = tenant_state(tenant.url)
    assert "Application undo-legacy-app" in before and "AIAgent undo-new-agent" not in before
    _fault_on_privilege(tenant)
    return {"before": before, "new": new_stack(tmp_path)}


def _journals(directory: Path) -> list[Path]:
    return sorted(directory.glob("apply-*.jsonl"), key=lambda p: p.stat().st_mtime_ns)


def test_undo_restores_every_managed_field_after_a_failed_apply(
    tenant: Tenant, cli, prepared: dict[str, Any], tmp_path: Path
) -> None:
    journals = tmp_path / ".provisioner" / "journal"
    known = set(_journals(journals))
    code, out, err = cli(
        "apply", prepared["new"], "--tenant", tenant.url, "--stack", "undo", "--prune", "--auto-approve"
    )
    assert code == 1, out + err
    assert "failed: update AgentPrivilege alpha/undo-agent/undo-logs-app" in err
    assert "done: create AIAgent alpha/undo-new-agent" in err
    assert "done: delete Application alpha/undo-legacy-app" in err
    changed = tenant_state(tenant.url)
    assert changed != prepared["before"] and "Application undo-legacy-app" not in changed
    [run] = [p for p in _journals(journals) if p not in known]
    befores = [r for r in journal.read(run) if r["event"] == "before"]
    assert {r["address"] for r in befores} >= {"AIAgent alpha/undo-agent", "Application alpha/undo-legacy-app"}
    text = run.read_text()
    assert not any(v in text for v in SECRETS.values()) and "userpassword" not in text

    code, out, err = cli("undo", run, "--tenant", tenant.url, "--max-deletes", "0")
    assert code == 1 and "more than --max-deletes 0" in err, out + err  # deletes what it created: capped
    assert tenant_state(tenant.url) == changed  # refused before any write

    code, out, err = cli("undo", run, "--tenant", tenant.url, "--auto-approve")
    assert code == 0, out + err
    assert "~ update AIAgent alpha/undo-agent" in out and "+ create Application alpha/undo-legacy-app" in out
    assert "- delete AIAgent alpha/undo-new-agent" in out
    assert "owners: [bob] → [alice]" in out  # users by name on both sides
    assert "Undo complete" in out
    assert "Application alpha/undo-legacy-app: re-created without its client secret" in err
    assert tenant_state(tenant.url) == prepared["before"]

    # Nothing is left to undo; and the undo wrote its own journal, so undoing the undo is possible.
    code, out, err = cli("undo", run, "--tenant", tenant.url, "--auto-approve")
    assert code == 0 and "No changes." in out, out + err
    [undo_run] = [p for p in _journals(journals) if p not in known | {run}]
    code, out, err = cli("undo", undo_run, "--tenant", tenant.url, "--auto-approve")
    assert code == 0, out + err
    assert tenant_state(tenant.url) == changed


def test_rollback_on_failure_undoes_in_the_same_command(tenant: Tenant, cli, prepared: dict[str, Any]) -> None:
    code, out, err = cli(
        "apply",
        prepared["new"],
        "--tenant",
        tenant.url,
        "--stack",
        "undo",
        "--prune",
        "--auto-approve",
        "--rollback-on-failure",
    )
    assert code == 1, out + err  # the apply failed, whatever the rollback did
    assert "Apply incomplete" in out and "failed: update AgentPrivilege alpha/undo-agent/undo-logs-app" in err
    assert "Rolling back: undoing what this apply wrote" in out
    assert "Undo complete" in out and "Rolled back:" in out
    assert tenant_state(tenant.url) == prepared["before"]


def test_undo_of_a_run_from_an_empty_tenant_deletes_what_it_created(
    tenant: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.core.conftest import bot_args

    before = tenant_state(tenant.url)
    rule = {
        "path": "managed/alpha_application/",
        "method": "PUT",
        "action": "status",
        "status": 500,
        "retryAfter": 0,
        "count": 5,
    }
    assert requests.put(tenant.url + "/_emulator/faults", json=[rule], timeout=10).status_code == 200
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve", "--rollback-on-failure")
    assert code == 1 and "Rolled back:" in out, out + err
    assert "delete Application alpha/web-server-logs-api-app" in out  # its AM half was written
    assert tenant_state(tenant.url) == before


def test_undo_refuses_other_tenants_and_bad_journals(tenant: Tenant, cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "start", "stack": "s", "target": "http://127.0.0.1:1", "changes": []}\nnot json\n')
    code, _, err = cli("undo", bad, "--tenant", tenant.url)
    assert code == 1 and f"{bad}:2: not a journal record" in err and "Traceback" not in err
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"event": "start", "stack": "s", "target": "http://127.0.0.1:1", "changes": []}) + "\n")
    code, _, err = cli("undo", other, "--tenant", tenant.url)
    assert code == 1 and "records a run against http://127.0.0.1:1" in err
    code, _, err = cli("undo", tmp_path / "missing.jsonl", "--tenant", tenant.url)
    assert code == 1 and "cannot read journal" in err


def test_rollback_is_not_run_after_a_conflict(tenant: Tenant, cli, prepared: dict[str, Any]) -> None:
    # A 412 on the privilege's PATCH: its revision moved under us, i.e. another writer is at work.
    target = privilege.privilege_id("alpha", "undo-agent", "undo-logs-app")
    rule = {
        "path": f"managed/alpha_aiagentprivilege/{target}",
        "method": "PATCH",
        "action": "status",
        "status": 412,
        "count": 1,
    }
    assert requests.put(tenant.url + "/_emulator/faults", json=[rule], timeout=10).status_code == 200
    code, out, err = cli(
        "apply",
        prepared["new"],
        "--tenant",
        tenant.url,
        "--stack",
        "undo",
        "--prune",
        "--auto-approve",
        "--rollback-on-failure",
    )
    assert code == 1, out + err
    assert "conflict:" in err and "Not rolling back: another writer changed" in err, out + err
    assert "Rolling back" not in out


def test_saved_undo_plan_is_refused_when_stale_then_applies(
    tenant: Tenant, cli, prepared: dict[str, Any], tmp_path: Path
) -> None:
    from tests.support import admin_token

    journals = tmp_path / ".provisioner" / "journal"
    known = set(_journals(journals))
    assert cli("apply", prepared["new"], "--tenant", tenant.url, "--stack", "undo", "--prune", "--auto-approve")[0] == 1
    [run] = [p for p in _journals(journals) if p not in known]
    code, out, err = cli("undo", run, "--tenant", tenant.url, "--out", tmp_path / "undo.json", "--format", "json")
    assert code == 0 and "Saved the undo plan" in err, out + err
    assert json.loads(out)["options"]["undo"] == str(run)

    # Someone edits an object the undo plan covers: the saved plan is stale and nothing is written.
    token = admin_token(tenant.url, tenant.server.service_account)
    record = requests.get(
        f"{tenant.url}/openidm/managed/alpha_application?_queryFilter=true&_fields=_id,ssoEntities",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["result"]
    [app_id] = [r["_id"] for r in record if r["ssoEntities"]["oidcId"] == "undo-logs-app"]
    edit = requests.patch(
        f"{tenant.url}/openidm/managed/alpha_application/{app_id}",
        json=[{"operation": "replace", "field": "/description", "value": "edited by hand"}],
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert edit.status_code == 200, edit.text
    edited = tenant_state(tenant.url)
    code, out, err = cli("apply", "--plan", tmp_path / "undo.json", "--auto-approve")
    assert code == 1 and "the plan is stale" in err and "Application alpha/undo-logs-app" in err, out + err
    assert tenant_state(tenant.url) == edited

    code, out, err = cli("undo", run, "--tenant", tenant.url, "--out", tmp_path / "undo2.json")
    assert code == 0 and 'description: "edited by hand" → "old description"' in out, out + err
    code, out, err = cli("apply", "--plan", tmp_path / "undo2.json", "--auto-approve")
    assert code == 0, out + err
    assert tenant_state(tenant.url) == prepared["before"]


def test_undo_refuses_a_damaged_journal_with_where_and_why(tenant: Tenant, cli, tmp_path: Path) -> None:
    start = {"event": "start", "stack": "s", "target": tenant.url, "changes": [{"address": "x", "action": "update"}]}
    cases = [
        (
            {
                "event": "before",
                "address": "X alpha/a",
                "kind": "Nope",
                "realm": "alpha",
                "key": "a",
                "action": "update",
                "image": {},
            },
            "before record of unknown kind 'Nope'",
        ),
        (
            {
                "event": "before",
                "address": "Application alpha/a",
                "kind": "Application",
                "realm": "alpha",
                "key": "a",
                "action": "update",
                "image": [1],
            },
            "image must be an object or null",
        ),
        (
            {
                "event": "before",
                "address": "AIAgent alpha/a",
                "kind": "AIAgent",
                "realm": "alpha",
                "key": "a",
                "action": "update",
                "image": {"applications": 5},
            },
            "a before record is malformed",
        ),
    ]
    for number, (before, message) in enumerate(cases):
        path = tmp_path / f"damaged-{number}.jsonl"
        attempt = {"event": "attempt", "address": before["address"], "action": "update"}
        path.write_text("\n".join(json.dumps(r) for r in (start, before, attempt)) + "\n")
        code, out, err = cli("undo", path, "--tenant", tenant.url)
        assert code == 1 and message in err and "Internal error" not in err, out + err


def test_undo_of_a_run_on_the_embedded_local_emulator(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The embedded emulator listens on a new port each run; its state folder is what identifies it.
    from tests.core.conftest import BOT, DEMO_ENV

    monkeypatch.chdir(tmp_path)
    args = [BOT, "--tenant", "local", "--env-file", DEMO_ENV]
    assert cli("apply", *args, "--auto-approve")[0] == 0
    [run] = _journals(tmp_path / ".provisioner" / "journal")
    code, out, err = cli("undo", run, "--tenant", "local", "--auto-approve")
    assert code == 0 and "Undo complete: 4 done" in out, out + err
    code, out, err = cli("plan", *args)
    assert code == 0 and "Plan: 3 to create, 1 to update, 0 to delete." in out, out + err


def test_undo_and_rollback_format_json_print_one_document(tenant: Tenant, cli, tmp_path: Path) -> None:
    """``undo --format json`` and ``apply --format json --rollback-on-failure``: stdout is exactly one
    JSON document (progress and summaries on stderr), as apply's --format json promises."""
    from tests.core.conftest import bot_args

    before = tenant_state(tenant.url)
    rule = {
        "path": "managed/alpha_application/",
        "method": "PUT",
        "action": "status",
        "status": 500,
        "retryAfter": 0,
        "count": 5,
    }
    assert requests.put(tenant.url + "/_emulator/faults", json=[rule], timeout=10).status_code == 200
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve", "--rollback-on-failure", "--format", "json")
    assert code == 1, out + err
    document = json.loads(out)
    assert document["result"]["ok"] is False and document["rollback"]["result"]["ok"] is True
    assert "Rolled back:" in err and "Undo complete" in err
    assert tenant_state(tenant.url) == before
    assert requests.delete(tenant.url + "/_emulator/faults", timeout=10).status_code < 300
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    code, out, err = cli(
        "undo",
        _journals(tmp_path / ".provisioner" / "journal")[-1],
        "--tenant",
        tenant.url,
        "--auto-approve",
        "--format",
        "json",
    )
    assert code == 0, out + err
    document = json.loads(out)
    assert document["result"]["ok"] is True and len(document["plan"]["changes"]) >= 3
    assert "Undo complete" in err
    assert tenant_state(tenant.url) == before
