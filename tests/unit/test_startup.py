"""Start-up cost: ``--version`` imports no CLI framework, ``validate`` no HTTP client, schema or Jinja
machinery when the manifests do not need them; every command is still reachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "manifests" / "bot-traffic-analyzer"

_PROBE = """
import json, sys
sys.argv = ["provisioner", *json.loads(sys.argv[1])]
from provisioner.__main__ import run
code = run()
heavy = ["click", "requests", "urllib3", "jsonschema", "referencing", "jinja2", "cryptography", "jwt",
         "provisioner.client.session", "provisioner.client.auth", "provisioner.api", "provisioner.emulator"]
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _modules_after(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_version_answers_without_importing_click() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip().startswith("provisioner, version ")
    assert _modules_after("--version") == {"code": 0, "loaded": []}


def test_validate_of_a_valid_stack_imports_no_client_schema_engine_or_jinja() -> None:
    result = _modules_after("validate", str(BOT), "--env-file", str(BOT / "demo.env"))
    assert result == {"code": 0, "loaded": ["click"]}


def test_every_command_is_listed_and_loads_on_demand() -> None:
    from click.testing import CliRunner

    from provisioner.cli import _COMMANDS, cli

    listing = CliRunner().invoke(cli, ["--help"]).output
    for name in _COMMANDS:
        assert f"  {name} " in listing
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0
