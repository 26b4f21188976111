"""A secret value written into a manifest's plain text (a description) is masked in every plan a fresh
CLI process prints, whether the secrets are generated (the JSON plan is then redacted leaf by leaf) or
human-chosen (every piece scanned whole), before and after apply, and in ``apply --format json``; such a
plan is not saved (applying it would write the mask), and a clean one still is."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = "manifests/bot-traffic-analyzer"
MASK = "(sensitive)"


def _run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIC_", "FRODO_", "PROVISIONER_"))}
    env.update({"PYTHONPATH": str(ROOT), "HOME": str(work / "home"), "NO_COLOR": "1", "CI": "true"})
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize(
    "app_secret", [secrets.token_urlsafe(32), "Human chosen: p@ss w0rd/+= for the logs app"], ids=["generated", "human"]
)
def test_a_secret_in_a_description_is_masked_in_json_plans_and_saved_plans(tmp_path: Path, app_secret: str) -> None:
    shutil.copytree(ROOT / BOT, tmp_path / "stack")
    agent_secret = secrets.token_urlsafe(32)
    (tmp_path / "stack" / "demo.env").write_text(
        f"LOGS_API_APP_SECRET={json.dumps(app_secret)}\nBOT_AGENT_SECRET={agent_secret}\n", encoding="utf-8"
    )
    app = tmp_path / "stack" / "application.yaml"
    text = app.read_text(encoding="utf-8")
    described = "description: Read and search the web server access logs"
    assert described in text
    app.write_text(text.replace(described, f"description: {json.dumps('uses ' + app_secret + ' daily')}"), "utf-8")
    local = ["--tenant", "local", "--env-file", "stack/demo.env"]

    for round_ in ("before apply", "after apply"):
        plan = _run(tmp_path, "plan", "stack", *local, "--format", "json")
        assert plan.returncode == 0, plan.stderr
        for shown in (plan.stdout, plan.stderr):
            assert app_secret not in shown and agent_secret not in shown, round_
            assert json.dumps(app_secret)[1:-1] not in shown, round_
        document = json.loads(plan.stdout)
        (change,) = [c for c in document["changes"] if c["kind"] == "Application"]
        assert change["desired"]["description"] == f"uses {MASK} daily", round_
        # A saved plan would hold the mask, and applying it in another shell would write the mask to the
        # tenant: it is refused, after the plan is shown, and no file is left.
        saving = _run(tmp_path, "plan", "stack", *local, "--format", "json", "--out", "saved.json")
        assert saving.returncode == 1, saving.stderr
        (shown_change,) = [c for c in json.loads(saving.stdout)["changes"] if c["kind"] == "Application"]
        assert shown_change["desired"]["description"] == f"uses {MASK} daily", round_
        assert "the plan was not saved to saved.json: a value in it holds a secret" in saving.stderr
        assert app_secret not in saving.stdout + saving.stderr and not (tmp_path / "saved.json").exists()
        if round_ == "before apply":
            applied = _run(tmp_path, "apply", "stack", *local, "--auto-approve")
            assert applied.returncode == 0, applied.stdout + applied.stderr
            assert app_secret not in applied.stdout + applied.stderr
    again = _run(tmp_path, "apply", "stack", *local, "--auto-approve", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert app_secret not in again.stdout + again.stderr and agent_secret not in again.stdout
    (change,) = [c for c in json.loads(again.stdout)["plan"]["changes"] if c["kind"] == "Application"]
    assert change["action"] == "no-op" and change["desired"]["description"] == f"uses {MASK} daily"


def test_a_clean_saved_plan_is_kept_and_applies_in_a_fresh_process(tmp_path: Path) -> None:
    shutil.copytree(ROOT / BOT, tmp_path / "stack")
    (tmp_path / "stack" / "demo.env").write_text(
        f"LOGS_API_APP_SECRET={secrets.token_urlsafe(32)}\nBOT_AGENT_SECRET={secrets.token_urlsafe(32)}\n", "utf-8"
    )
    local = ["--tenant", "local", "--env-file", "stack/demo.env"]
    saved = _run(tmp_path, "plan", "stack", *local, "--out", "saved.json")
    assert saved.returncode == 0 and (tmp_path / "saved.json").exists(), saved.stderr
    applied = _run(tmp_path, "apply", "--plan", "saved.json", *local, "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = _run(tmp_path, "plan", "stack", *local, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
