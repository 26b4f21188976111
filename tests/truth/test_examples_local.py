"""Acceptance 3: each example stack applies cleanly on a fresh --tenant local, and a second plan exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.truth.conftest import ROOT


def provisioner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIC_", "FRODO_")) and k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("stack", ["bot-traffic-analyzer", "digital-assistant"])
def test_example_applies_cleanly_on_a_fresh_local_tenant(stack: str, tmp_path: Path) -> None:
    manifests = ROOT / "manifests" / stack
    args = [str(manifests), "--env", "dev", "--tenant", "local", "--env-file", str(manifests / "demo.env")]
    applied = provisioner("apply", *args, "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Apply complete:" in applied.stdout and "0 failed, 0 not attempted" in applied.stdout
    again = provisioner("plan", *args, "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes. The tenant matches the manifests." in again.stdout
    # The local tenant's state (client secrets, its service-account key) is private to the user.
    state = tmp_path / ".provisioner" / "emulator"
    assert state.stat().st_mode & 0o777 == 0o700
    assert all(f.stat().st_mode & 0o077 == 0 for f in state.iterdir() if f.is_file())


def test_a_local_tenant_folder_made_readable_by_an_earlier_version_becomes_private(tmp_path: Path) -> None:
    state = tmp_path / ".provisioner" / "emulator"
    state.mkdir(parents=True, mode=0o755)
    state.chmod(0o755)
    manifests = ROOT / "manifests" / "bot-traffic-analyzer"
    planned = provisioner(
        "plan", str(manifests), "--tenant", "local", "--env-file", str(manifests / "demo.env"), cwd=tmp_path
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert state.stat().st_mode & 0o777 == 0o700
