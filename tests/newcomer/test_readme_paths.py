"""The newcomer's path, walked the way people walk it: the README's own commands, exactly as written,
in a fresh folder, without CI and with a private home (the token cache lives there), many times."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def quick_start_args() -> list[str]:
    """The provisioner arguments of the README's quick-start command (after ``.venv/bin/provisioner``)."""
    section = README.split("## Quick start", 1)[1]
    line = _sh_blocks(section)[0].strip()
    command = line.split(".venv/bin/provisioner ", 1)[1]
    return shlex.split(command)


def example_commands() -> dict[str, list[str]]:
    """Stack → the arguments of its command in the README's Examples section."""
    section = README.split("### Examples", 1)[1].split("\n## ", 1)[0]
    out = {}
    for block in _sh_blocks(section):
        for line in block.splitlines():
            words = shlex.split(line)
            if words[:2] == ["provisioner", "apply"]:
                out[Path(words[2]).name] = words[1:]
    return out


def newcomer(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh folder holding the repository's manifests, and a shell environment without CI."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "manifests", work / "manifests")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    env = {**keep, "HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return work, env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        check=False,
        args=[sys.executable, "-m", "provisioner", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_readme_names_a_command_for_every_example_stack() -> None:
    stacks = {p.name for p in (ROOT / "manifests").iterdir() if p.is_dir()}
    assert set(example_commands()) == stacks
    assert quick_start_args()[:2] == ["apply", "manifests/bot-traffic-analyzer"]


@pytest.mark.slow
def test_quick_start_ten_times_in_one_folder(tmp_path: Path) -> None:
    work, env = newcomer(tmp_path)
    args = quick_start_args()
    for attempt in range(1, 11):
        result = run(args, work, env)
        assert result.returncode == 0, f"run {attempt}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        assert "verify passed" in result.stdout
        if attempt == 1:
            assert "Apply complete: 4 done" in result.stdout, result.stdout
        else:  # nothing left to do: no write at all
            assert "No changes." in result.stdout and "Apply complete: 0 done" in result.stdout, result.stdout
    assert [p.relative_to(work) for p in work.rglob("token-cache.json")] == [
        Path(".provisioner/emulator/token-cache.json")
    ]


@pytest.mark.slow
def test_plan_seven_times_does_not_run_out_of_sessions(tmp_path: Path) -> None:
    """The issue's report: runs 6 and 7 failed with 'Session quota exceeded'. Plans in-process (fast)."""
    from provisioner.cli import main

    work, _ = newcomer(tmp_path)
    stack = work / "manifests" / "bot-traffic-analyzer"
    cwd = os.getcwd()
    os.chdir(work)
    try:
        for _ in range(7):
            assert main(["plan", str(stack), "--env-file", str(stack / "demo.env"), "--tenant", "local", "-q"]) == 0
    finally:
        os.chdir(cwd)


@pytest.mark.slow
@pytest.mark.parametrize("stack", sorted(example_commands()))
def test_each_example_applies_and_verifies_on_a_fresh_local_tenant(tmp_path: Path, stack: str) -> None:
    work, env = newcomer(tmp_path)
    result = run(example_commands()[stack], work, env)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "verify passed" in result.stdout and " 0 failed, 0 skipped" in result.stdout, result.stdout


@pytest.mark.slow
def test_an_edit_between_runs_is_planned_with_the_manifest_cache_on(tmp_path: Path) -> None:
    """Runs reuse parsed manifests from .provisioner/cache; an edited file must be read again: the plan
    after an edit shows it, apply converges, and the next plan is empty."""
    work, env = newcomer(tmp_path)
    args = quick_start_args()
    assert run(args, work, env).returncode == 0
    assert list((work / ".provisioner" / "cache" / "manifests").glob("*.json"))  # the cache is in use
    agent = work / "manifests" / "bot-traffic-analyzer" / "agent.yaml"
    agent.write_text(agent.read_text().replace("permissions: [logs-read, logs-search]", "permissions: [logs-read]"))
    stack = ["manifests/bot-traffic-analyzer", "--tenant", "local"]
    env_file = ["--env-file", "manifests/bot-traffic-analyzer/demo.env"]
    changed = run(["plan", *stack, *env_file, "--detailed-exitcode"], work, env)
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "logs-search" in changed.stdout and "update" in changed.stdout, changed.stdout
    assert run(["apply", *stack, *env_file, "--auto-approve"], work, env).returncode == 0
    again = run(["plan", *stack, *env_file, "--detailed-exitcode"], work, env)
    assert again.returncode == 0 and "No changes." in again.stdout, again.stdout + again.stderr
