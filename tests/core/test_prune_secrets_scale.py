"""Acceptance: prune ownership and caps, secret rotation without leaks, read requests vs object count."""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from tests.core.conftest import AGENT, BOT, DEMO_ENV, Tenant, bot_args, demo_secrets

OAUTH = "/am/oauth2/realms/root/realms/alpha"

EXTRA_APP = """apiVersion: provisioner/v1
kind: Application
metadata: {name: extra-app, realm: alpha}
spec:
  displayName: Extra App
  template: service
  scopes: [extra-read]
"""


def _lookalike(tenant: Tenant) -> None:
    """An OAuth2 client created by someone else (no stack marker)."""
    from provisioner.kinds import application
    from provisioner.kinds.oauth2client import create_document

    body = create_document(
        application.TEMPLATES["service"],
        application.FIELDS,
        {"scopes": ["x"]},
        "alpha",
        stack="ignored",
        secret=None,
        secret_hash=None,
    )
    body["advancedOAuth2ClientConfig"]["customProperties"] = []
    with tenant.admin() as admin:
        admin.client.am("alpha").put("OAuth2Client", "lookalike-app", body)


def _clients(tenant: Tenant) -> set[str]:
    with tenant.admin() as admin:
        return {c["_id"] for c in admin.client.am("alpha").list("OAuth2Client")}


def test_prune_deletes_only_this_stacks_objects_and_respects_the_cap(tenant: Tenant, cli, tmp_path: Path) -> None:
    bigger = tmp_path / "bigger"
    shutil.copytree(BOT, bigger)
    (bigger / "extra.yaml").write_text(EXTRA_APP)
    assert (
        cli("apply", str(bigger), "--tenant", tenant.url, "--env-file", DEMO_ENV, "--stack", "demo", "--auto-approve")[
            0
        ]
        == 0
    )
    _lookalike(tenant)
    assert {"extra-app", "lookalike-app"} <= _clients(tenant)

    code, out, _ = cli("plan", *bot_args(tenant, "--stack", "demo"))
    assert code == 0 and "- delete (needs --prune) Application alpha/extra-app" in out and "--prune" in out
    assert "lookalike" not in out

    tenant.reset_stats()
    code, out, err = cli(
        "apply", *bot_args(tenant, "--stack", "demo", "--prune", "--max-deletes", "0", "--auto-approve")
    )
    assert code == 1 and "more than --max-deletes 0" in out + err
    assert tenant.stats()["writes"] == 0

    code, out, _ = cli("apply", *bot_args(tenant, "--stack", "demo", "--prune", "--auto-approve"))
    assert code == 0, out
    assert "- delete Application alpha/extra-app" in out and "lookalike" not in out
    remaining = _clients(tenant)
    assert "extra-app" not in remaining and "lookalike-app" in remaining
    with tenant.admin() as admin:
        names = {a.get("name") for a in admin.client.idm.query("alpha_application", "true", ("name",))}
    assert "Extra App" not in names

    # A different stack never prunes objects it did not create.
    code, out, _ = cli("plan", *bot_args(tenant, "--stack", "other", "--prune"))
    assert "delete" not in out.split("Plan:")[0].replace("blocked delete", "")


def test_secret_rotation_is_detected_sent_and_never_printed(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    secrets = demo_secrets()
    rotated_env = tmp_path / "rotated.env"
    new_secret = "rotated-bot-agent-secret-77d1e0"
    rotated_env.write_text(f"LOGS_API_APP_SECRET={secrets['LOGS_API_APP_SECRET']}\nBOT_AGENT_SECRET={new_secret}\n")
    args = [str(BOT), "--tenant", tenant.url, "--env-file", str(rotated_env)]
    plan_file = tmp_path / "rotated-plan.json"
    code, out, err = cli("plan", *args, "--detailed-exitcode", "--out", plan_file)
    assert code == 2
    body = out.split("\n\n", 1)[1]
    assert f"~ update AIAgent alpha/{AGENT}\n    clientSecret: (sensitive, changed)\n" in body
    assert "Plan: 0 to create, 1 to update, 0 to delete." in body

    code, out2, err2 = cli("apply", *args, "--auto-approve")
    assert code == 0
    form = {"grant_type": "client_credentials", "client_id": AGENT, "scope": "monitor-system"}
    new = requests.post(tenant.url + OAUTH + "/access_token", data={**form, "client_secret": new_secret}, timeout=10)
    old = requests.post(
        tenant.url + OAUTH + "/access_token", data={**form, "client_secret": secrets["BOT_AGENT_SECRET"]}, timeout=10
    )
    assert new.status_code == 200 and old.status_code in (400, 401)

    tenant.reset_stats()
    assert cli("apply", *args, "--auto-approve")[0] == 0
    assert tenant.stats()["writes"] == 0  # without rotation no secret is sent

    code, out3, err3 = cli("plan", *args, "--check-secrets", "--detailed-exitcode")
    assert code == 0
    everything = out + err + out2 + err2 + out3 + err3 + plan_file.read_text()
    for value in (new_secret, *secrets.values()):
        assert value not in everything


def _write_stack(directory: Path, count: int) -> None:
    directory.mkdir()
    docs = [
        "apiVersion: provisioner/v1\nkind: OAuth2Provider\nmetadata: {realm: alpha}\n"
        "spec:\n  grantTypes: {ensure: [client_credentials, token_exchange]}\n"
    ]
    for i in range(count):
        docs.append(
            f"apiVersion: provisioner/v1\nkind: Application\nmetadata: {{name: app-{count}-{i}, realm: alpha}}\n"
            f"spec:\n  displayName: App {count} {i}\n  template: service\n  scopes: [read, write]\n"
        )
        docs.append(
            f"apiVersion: provisioner/v1\nkind: AIAgent\nmetadata: {{name: agent-{count}-{i}, realm: alpha}}\n"
            f"spec:\n  displayName: Agent {count} {i}\n  scopes: [monitor]\n"
            f"  grantTypes: [client_credentials, token_exchange]\n"
            f"  applications:\n    - application: app-{count}-{i}\n      permissions: [read]\n"
        )
    (directory / "stack.yaml").write_text("---\n".join(docs))
    (directory / "provisioner.yaml").write_text(f"stack: scale-{count}\n")


def test_plan_reads_do_not_grow_with_objects(tenant: Tenant, cli, tmp_path: Path) -> None:
    counts = {}
    for size in (5, 50):
        stack = tmp_path / f"stack{size}"
        _write_stack(stack, size)
        code, out, err = cli("apply", stack, "--tenant", tenant.url, "--auto-approve", "--parallelism", "8")
        assert code == 0, out + err
        tenant.reset_stats()
        code, out, err = cli("plan", stack, "--tenant", tenant.url, "--detailed-exitcode")
        assert code == 0, out + err
        stats = tenant.stats()
        assert stats["writes"] == 0
        counts[size] = stats["reads"]
    assert counts[5] == counts[50] <= 10, counts


def test_check_secrets_proves_the_live_secret(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    from tests.core.test_apply_flow import _am_find, _strip

    with tenant.admin() as admin:  # someone resets the secret by hand; the hash marker still matches
        doc = _strip(_am_find(admin.client, "AIAgent", AGENT))
        doc["coreOAuth2ClientConfig"]["userpassword"] = "changed-by-hand-0a9f3c"
        admin.client.am("alpha").put("AIAgent", AGENT, doc)
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0
    code, out, _ = cli("plan", *bot_args(tenant), "--check-secrets", "--detailed-exitcode")
    assert code == 2 and f"~ update AIAgent alpha/{AGENT}\n    clientSecret: (sensitive, changed)" in out
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0, out + err  # plans without the probe: the marker matches, nothing to send
    assert cli("plan", *bot_args(tenant), "--check-secrets", "--detailed-exitcode")[0] == 2
    from provisioner.plan import Plan

    saved = Path("probe-plan.json")
    assert cli("plan", *bot_args(tenant), "--check-secrets", "--out", saved)[0] == 0
    assert Plan.from_json(saved.read_text()).changes[2].send_secret is True
    code, out, err = cli(
        "apply", "--plan", saved, str(BOT), "--tenant", tenant.url, "--env-file", DEMO_ENV, "--auto-approve"
    )
    assert code == 0, out + err
    assert cli("plan", *bot_args(tenant), "--check-secrets", "--detailed-exitcode")[0] == 0
