"""Item 5: the printed saved-plan hint works; a plan applies only as made (environment, tenant, stack)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.truth.conftest import BOT, DEMO_ENV, ROOT, Tenant


def test_printed_apply_command_works_without_unneeded_secrets(
    tenant: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--tenant", tenant.url, "--env-file", str(DEMO_ENV)]
    assert cli("apply", str(BOT), *base, "--auto-approve")[0] == 0
    # Drift that needs no secret: only the description changes.
    changed = tmp_path / "bot"
    shutil.copytree(BOT, changed)
    agent = changed / "agent.yaml"
    agent.write_text(agent.read_text().replace("Finds bot traffic", "Spots bot traffic"))
    plan_file = tmp_path / "p.json"
    code, out, err = cli("plan", str(changed), *base, "--out", str(plan_file))
    assert code == 0, out + err
    hint = err.split("run: ", 1)[1].strip()
    words = shlex.split(hint)
    assert words[:2] == ["provisioner", "apply"] and words[-2:] == ["--plan", str(plan_file)]
    # Run exactly the printed command, in a process whose environment holds no secret at all.
    env = {k: v for k, v in os.environ.items() if "SECRET" not in k}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "provisioner", *words[1:], "--auto-approve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not available" not in proc.stdout + proc.stderr
    assert "Apply complete: 1 done, 0 failed, 0 not attempted." in proc.stdout


def test_apply_plan_file_alone_needs_only_the_secrets_it_sends(
    tenant: Tenant, cli, tmp_path: Path, bot_copy: Path
) -> None:
    assert cli("apply", str(bot_copy), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), "--auto-approve")[0] == 0
    agent = bot_copy / "agent.yaml"
    agent.write_text(agent.read_text().replace("Finds bot traffic", "Spots bot traffic"))
    plan_file = tmp_path / "p.json"
    assert (
        cli("plan", str(bot_copy), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), "--out", str(plan_file))[0] == 0
    )
    code, out, err = cli("apply", "--plan", str(plan_file), "--auto-approve")  # no manifests, no secrets
    assert code == 0, out + err
    assert "Apply complete: 1 done" in out


def test_plan_for_one_environment_refuses_another(tenant: Tenant, cli, tmp_path: Path) -> None:
    base = ["--tenant", tenant.url, "--env-file", str(DEMO_ENV)]
    plan_file = tmp_path / "prod.json"
    assert cli("plan", str(BOT), "--env", "prod", *base, "--out", str(plan_file))[0] == 0
    tenant.reset_stats()
    code, out, err = cli("apply", str(BOT), "--env", "dev", *base, "--plan", str(plan_file), "--auto-approve")
    assert code == 1, out + err
    assert "the plan was made for environment 'prod', not 'dev' (--env); nothing was written" in out + err
    assert tenant.stats()["writes"] == 0
    code, out, err = cli("apply", "--env", "dev", "--plan", str(plan_file), "--auto-approve")
    assert code == 1 and "made for environment 'prod', not 'dev'" in out + err
    code, out, err = cli(
        "apply", str(BOT), "--env", "prod", *base, "--stack", "another", "--plan", str(plan_file), "--auto-approve"
    )
    assert code == 1 and "stack 'bot-traffic-analyzer', not 'another'" in out + err
    assert tenant.stats()["writes"] == 0


def test_saved_plan_without_the_secrets_it_sends_writes_nothing(
    tenant: Tenant, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh-tenant plan creates clients with secrets: applied in a shell without them, it must stop
    before the provider update (no half-applied tenant), naming every missing secret."""
    for name in ("LOGS_API_APP_SECRET", "BOT_AGENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    plan_file = tmp_path / "p.json"
    assert cli("plan", str(BOT), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), "--out", str(plan_file))[0] == 0
    tenant.reset_stats()
    code, out, err = cli("apply", "--plan", str(plan_file), "--auto-approve")
    assert code == 1, out + err
    assert "nothing was written" in out + err
    assert "LOGS_API_APP_SECRET" in out + err and "BOT_AGENT_SECRET" in out + err
    assert "Traceback" not in out + err
    assert tenant.stats()["writes"] == 0
    code, out, err = cli("apply", "--plan", str(plan_file), "--env-file", str(DEMO_ENV), "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete: 4 done, 0 failed, 0 not attempted." in out


def test_saved_plan_from_file_secret_missing_is_named_and_nothing_is_written(
    tenant: Tenant, cli, tmp_path: Path, bot_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fromFile references in a saved plan are relative to where it was made: applied from another
    folder, the error says which file is missing and why, before any write."""
    (bot_copy / "agent-secret.txt").write_text("qa-file-secret-for-the-agent-7f3a\n")
    agent = bot_copy / "agent.yaml"
    agent.write_text(agent.read_text().replace("{fromEnv: BOT_AGENT_SECRET}", "{fromFile: agent-secret.txt}"))
    monkeypatch.chdir(tmp_path)
    plan_file = tmp_path / "p.json"
    code, out, err = cli(
        "plan", "stacks/bot", "--tenant", tenant.url, "--env-file", str(DEMO_ENV), "--out", str(plan_file)
    )
    assert code == 0, out + err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    tenant.reset_stats()
    code, out, err = cli("apply", "--plan", str(plan_file), "--env-file", str(DEMO_ENV), "--auto-approve")
    assert code == 1, out + err
    assert (
        "secret {fromFile: agent-secret.txt} is not available: stacks/bot/agent-secret.txt does not exist" in out + err
    )
    assert tenant.stats()["writes"] == 0
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("apply", "--plan", str(plan_file), "--env-file", str(DEMO_ENV), "--auto-approve")
    assert code == 0 and "Apply complete: 4 done" in out, out + err
