"""Item 8: verify never reports success having proved nothing, and names a missing client."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.truth.conftest import BOT, DEMO_ENV, ROOT, Tenant

ASSISTANT = ROOT / "manifests" / "digital-assistant"


def test_all_skipped_is_not_a_pass(tenant: Tenant, cli, tmp_path: Path) -> None:
    copy = tmp_path / "assistant"
    shutil.copytree(ASSISTANT, copy)
    (copy / "environments" / "dev.yaml").write_text(  # no verify.testUsers
        "tenant: local\nrealm: alpha\nvars:\n  webAppOrigin: http://localhost:8080\n", encoding="utf-8"
    )
    tenant.seed({"realm": "alpha", "users": [], "groups": [{"_id": "digital-assistant-users", "members": []}]})
    env = ["--env", "dev", "--tenant", tenant.url, "--env-file", str(copy / "demo.env")]
    assert cli("apply", str(copy), *env, "--stack", "assistant", "--auto-approve")[0] == 0
    code, out, err = cli("verify", str(copy), *env, "--no-color")
    assert code == 1, out + err
    assert "verify FAILED: 3 checks: 0 passed, 0 failed, 3 skipped — nothing was proved" in out
    code, out, _ = cli("verify", str(copy), *env, "--allow-skipped", "--format", "json")
    assert code == 0 and json.loads(out)["provedNothing"] is True


def test_missing_agent_is_named_not_its_secret(tenant: Tenant, cli) -> None:
    code, out, err = cli("verify", str(BOT), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), "--no-color")
    assert code == 1, out + err
    assert "the agent bot-traffic-analyzer-agent does not exist in realm alpha (run provisioner apply first)" in out
    assert "check the secret" not in out
