"""Items 1 and 3: a delete waiting for --prune is a change; --max-deletes counts every delete;
pruning what an unmanaged object still references is reported."""

from __future__ import annotations

import json
from pathlib import Path

from tests.truth.conftest import DEMO_ENV, Tenant

AGENT = "bot-traffic-analyzer-agent"
APP = "web-server-logs-api-app"


def args(tenant: Tenant, stack: Path, *extra: str) -> list[str]:
    return [str(stack), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), "--stack", "bot", *extra]


def test_removed_manifest_is_a_change_in_every_format(tenant: Tenant, cli, bot_copy: Path, tmp_path: Path) -> None:
    assert cli("apply", *args(tenant, bot_copy, "--auto-approve"))[0] == 0
    (bot_copy / "agent.yaml").unlink()

    code, out, err = cli("plan", *args(tenant, bot_copy, "--detailed-exitcode"))
    assert code == 2, out + err
    assert f"- delete (needs --prune) AIAgent alpha/{AGENT}" in out
    assert f"- delete (needs --prune) AgentPrivilege alpha/{AGENT}/{APP}" in out
    assert "No changes" not in out
    assert out.rstrip().endswith("Plan: 0 to create, 0 to update, 0 to delete, 2 to delete with --prune.")

    code, out, _ = cli("plan", *args(tenant, bot_copy, "--detailed-exitcode", "--format", "markdown"))
    assert code == 2
    assert out.startswith("### Plan: 0 to create, 0 to update, 0 to delete, 2 to delete with --prune.")
    assert f"- delete (needs --prune) AIAgent alpha/{AGENT}" in out

    code, out, _ = cli("plan", *args(tenant, bot_copy, "--detailed-exitcode", "--format", "json"))
    assert code == 2 and json.loads(out)["summary"]["blocked"] == 2

    # With --prune it is an ordinary delete, and after applying it the tenant matches again.
    code, out, _ = cli("apply", *args(tenant, bot_copy, "--prune", "--auto-approve"))
    assert code == 0, out
    assert "Plan: 0 to create, 0 to update, 2 to delete." in out
    assert cli("plan", *args(tenant, bot_copy, "--detailed-exitcode"))[0] == 0


EXTRA_AGENTS = "".join(
    f"""---
apiVersion: provisioner/v1
kind: AIAgent
metadata: {{name: helper-{n}, realm: alpha}}
spec:
  grantTypes: [client_credentials, token_exchange]
  applications:
    - application: {APP}
      permissions: [logs-read]
"""
    for n in (1, 2)
)


def test_max_deletes_counts_privileges(tenant: Tenant, cli, bot_copy: Path) -> None:
    (bot_copy / "helpers.yaml").write_text(EXTRA_AGENTS)
    assert cli("apply", *args(tenant, bot_copy, "--auto-approve"))[0] == 0
    for name in ("agent.yaml", "application.yaml", "helpers.yaml"):
        (bot_copy / name).unlink()
    tenant.reset_stats()
    # 1 application + 3 agents + 3 privileges = 7 deletes; only 4 of them are top-level objects.
    code, out, err = cli("apply", *args(tenant, bot_copy, "--prune", "--max-deletes", "5", "--auto-approve"))
    assert code == 1, out + err
    assert "would delete 7 objects (privileges included), more than --max-deletes 5" in out + err
    assert tenant.stats()["writes"] == 0
    code, out, _ = cli("apply", *args(tenant, bot_copy, "--prune", "--max-deletes", "7", "--auto-approve"))
    assert code == 0 and "0 to delete" not in out and "7 to delete" in out


OTHER_AGENT = f"""apiVersion: provisioner/v1
kind: AIAgent
metadata: {{name: hand-made-agent, realm: alpha}}
spec:
  grantTypes: [client_credentials, token_exchange]
  applications:
    - application: {APP}
      existing: true
      permissions: [logs-read]
"""


def test_pruning_a_referenced_application_is_reported(tenant: Tenant, cli, bot_copy: Path, tmp_path: Path) -> None:
    assert cli("apply", *args(tenant, bot_copy, "--auto-approve"))[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "agent.yaml").write_text(OTHER_AGENT)
    code, out, err = cli("apply", str(other), "--tenant", tenant.url, "--stack", "other", "--auto-approve")
    assert code == 0, out + err
    for name in ("agent.yaml", "application.yaml"):
        (bot_copy / name).unlink()
    code, out, err = cli("plan", *args(tenant, bot_copy, "--prune"))
    assert code == 0, out + err
    assert f"- delete Application alpha/{APP}" in out
    assert (
        f"warning: pruning Application alpha/{APP} leaves privilege" in out
        and "of agent 'hand-made-agent' (not managed by this stack) pointing at nothing" in out
    )
