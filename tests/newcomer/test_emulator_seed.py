"""Seed files: ``emulator serve --seed/--write-env/--format env`` and the stack's ``emulator-seed.yaml``
that ``--tenant local`` loads, so every example runs on the emulator with one command."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from provisioner.emulator import EmulatorServer
from provisioner.emulator.seedfile import apply_seed, read_seed_file, stack_seed_files
from provisioner.errors import UsageError
from provisioner.manifest import load

ROOT = Path(__file__).resolve().parents[2]
ASSISTANT = ROOT / "manifests" / "digital-assistant"
DEMO = {"DEMO_USER_PASSWORD": "demo-user-password-2b86f4"}


def test_the_stack_seed_file_is_found_and_is_not_a_manifest() -> None:
    assert stack_seed_files([str(ASSISTANT)]) == [str(ASSISTANT / "emulator-seed.yaml")]
    assert stack_seed_files([str(ASSISTANT / "agent.yaml")]) == [str(ASSISTANT / "emulator-seed.yaml")]
    assert stack_seed_files([str(ROOT / "manifests" / "bot-traffic-analyzer")]) == []
    result = load([str(ASSISTANT)], env="dev", resolve_secrets=False)
    assert result.ok and str(ASSISTANT / "emulator-seed.yaml") not in result.stack.sources


def test_seeding_is_an_upsert_with_members_and_the_password_from_the_env_file(tmp_path: Path) -> None:
    bodies = read_seed_file(str(ASSISTANT / "emulator-seed.yaml"), environ={}, dotenv=DEMO)
    assert bodies[0]["users"][0]["password"] == DEMO["DEMO_USER_PASSWORD"]
    with EmulatorServer(port=0, state=None) as server:
        assert apply_seed(server, bodies) == {"users": 1, "groups": 1}
        assert apply_seed(server, bodies) == {"users": 1, "groups": 1}  # again: the same objects
        objects = requests.get(f"{server.url}/_emulator/state", timeout=5).json()["objects"]
    assert len(objects["idm:alpha_user"]) == 1
    (user_id,) = objects["idm:alpha_user"]
    group = objects["idm:alpha_group"]["digital-assistant-users"]
    assert [m["_ref"] for m in group["members"]] == [f"managed/alpha_user/{user_id}"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("users: [{password: x}]\n", "users[0] needs a userName"),
        ("realm: alpha\nusers: []\nextra: 1\n", "unknown key 'extra'"),
        ("users:\n  - userName: u\n    password: {fromEnv: NOPE_NOT_SET}\n", "{fromEnv: NOPE_NOT_SET} is not set"),
        ("groups: [{name: g, members: oops}]\n", "members must be a list of user names"),
        ("users: [a\n", "not valid YAML"),
    ],
)
def test_bad_seed_files_say_where_and_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match="seed.yaml") as info:
        read_seed_file(str(path), environ={})
    assert message in str(info.value)


@pytest.mark.slow
def test_serve_seeds_and_prints_export_lines_and_writes_an_env_file(tmp_path: Path) -> None:
    env_out = tmp_path / "emulator.env"
    environ = {**os.environ, **DEMO}
    environ.pop("CI", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisioner",
            "emulator",
            "serve",
            "--realm",
            "alpha",
            "--seed",
            str(ASSISTANT / "emulator-seed.yaml"),
            "--format",
            "env",
            "--write-env",
            str(env_out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        exports = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines)
        assert set(exports) == {"AIC_TENANT_URL", "AIC_SERVICE_ACCOUNT_ID", "AIC_SERVICE_ACCOUNT_JWK_FILE"}
        assert stat.S_IMODE(env_out.stat().st_mode) == 0o600
        written = [ln for ln in env_out.read_text().splitlines() if ln.startswith("export ")]
        assert written == [ln.strip() for ln in lines]
        # The CLI, pointed at it by those variables, plans the assistant without a missing group.
        plan = subprocess.run(
            check=False,
            args=[
                sys.executable,
                "-m",
                "provisioner",
                "plan",
                str(ASSISTANT),
                "--env",
                "dev",
                "--tenant",
                exports["AIC_TENANT_URL"],
                "--env-file",
                str(ASSISTANT / "demo.env"),
                "--format",
                "json",
            ],
            env={**environ, **exports, "PROVISIONER_TOKEN_CACHE": "off"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert plan.returncode == 0, plan.stderr
        assert "does not exist" not in plan.stdout + plan.stderr
        groups = requests.get(exports["AIC_TENANT_URL"] + "/_emulator/state", timeout=5).json()["objects"]
        assert "digital-assistant-users" in groups["idm:alpha_group"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
