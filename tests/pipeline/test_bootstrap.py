"""Bootstrap of an empty tenant in one command, as docs/pipelines.md shows it: a tenant whose AI agents
feature is off, `apply --enable-features --auto-approve --verify`, then a detailed plan that is empty."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.workflow import ROOT, base_environment

STACK = "bot-traffic-analyzer"


@pytest.fixture
def empty_tenant() -> Iterator[object]:
    from provisioner.emulator import EmulatorServer

    with EmulatorServer(port=0, state=None, ai_agents=False) as server:
        yield server


def provisioner(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_bootstrap_an_empty_tenant_in_one_command(empty_tenant: object, tmp_path: Path) -> None:
    from provisioner.manifest.secrets import parse_dotenv

    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    account = empty_tenant.service_account  # type: ignore[attr-defined]
    env = {
        **base_environment(),
        **parse_dotenv((ROOT / "manifests" / STACK / "demo.env").read_text(encoding="utf-8"), "demo.env")[0],
        "AIC_TENANT_URL": empty_tenant.url,  # type: ignore[attr-defined]
        "AIC_SERVICE_ACCOUNT_ID": account["id"],
        "AIC_SERVICE_ACCOUNT_JWK": json.dumps(account["jwk"]),
    }
    stack = f"manifests/{STACK}"

    tenant = ["--tenant", env["AIC_TENANT_URL"]]  # the environment file names a placeholder tenant
    bootstrap = provisioner(
        ["apply", stack, "--env", "staging", *tenant, "--enable-features", "--auto-approve", "--verify"], env, tmp_path
    )
    assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr

    drift = provisioner(
        ["plan", stack, "--env", "staging", *tenant, "--detailed-exitcode", "--format", "json"], env, tmp_path
    )
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert not [c for c in json.loads(drift.stdout)["changes"] if c["action"] != "no-op"]
