"""``verify --access``: the live tenant against the access map (every edge as declared, and no other)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.core.conftest import AGENT, APP, BOT, Tenant, bot_args

EXTRA_APP = """apiVersion: provisioner/v1
kind: Application
metadata: {name: extra-api-app, realm: alpha}
spec:
  clientSecret: {fromEnv: LOGS_API_APP_SECRET}
  scopes: [extra-read]
"""


def _access_checks(out: str) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(out)["checks"] if c["name"].startswith("access:")}


def test_a_tenant_that_matches_the_map_passes(tenant: Tenant, cli) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    code, out, err = cli("verify", *bot_args(tenant), "--access", "--format", "json")
    assert code == 0, out + err
    checks = _access_checks(out)
    assert {name: c["status"] for name, c in checks.items()} == {
        "access: own token": "pass",
        f"access: exchange → {APP}": "pass",
        "access: no edge beyond the map": "pass",
    }
    assert checks[f"access: exchange → {APP}"]["actual"] == (
        f"aud {APP}, scopes [logs-read, logs-search], acts for no one (autonomous: only for itself)"
    )
    # Without --access the report has no access checks.
    assert _access_checks(cli("verify", *bot_args(tenant), "--format", "json")[1]) == {}


def test_an_edge_the_map_lacks_and_a_drifted_edge_fail(tenant: Tenant, cli, tmp_path: Path) -> None:
    wider = tmp_path / "bot-traffic-analyzer"
    shutil.copytree(BOT, wider)
    (wider / "extra.yaml").write_text(EXTRA_APP)
    agent = wider / "agent.yaml"
    agent.write_text(
        agent.read_text().replace("permissions: [logs-read, logs-search]", "permissions: [logs-read]")
        + "    - application: extra-api-app\n      permissions: [extra-read]\n"
    )
    assert (
        cli("apply", str(wider), "--tenant", tenant.url, "--env-file", str(wider / "demo.env"), "--auto-approve")[0]
        == 0
    )

    code, out, err = cli("verify", *bot_args(tenant), "--access", "--format", "json")
    assert code == 1, out + err
    checks = _access_checks(out)
    assert checks["access: own token"]["status"] == "pass"
    drift = checks[f"access: exchange → {APP}"]
    assert drift["status"] == "fail"
    assert drift["expected"].startswith(f"aud {APP}, scopes [logs-read, logs-search],")
    assert drift["actual"].startswith(f"aud {APP}, scopes [logs-read],")
    extra = checks["access: no edge beyond the map"]
    assert extra["status"] == "fail"
    assert extra["actual"].startswith("extra-api-app (aud extra-api-app, scopes [extra-read]")
    assert f"the tenant lets {AGENT} exchange into applications the manifests do not declare" in extra["message"]
