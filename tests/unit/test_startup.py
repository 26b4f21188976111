"""Start-up cost: ``--version`` imports no CLI framework, ``validate`` no HTTP client, schema or Jinja
machinery when the manifests do not need them (nor PyYAML when every file is in the manifest cache, nor
the kinds' planning and apply code); every command is still reachable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "manifests" / "bot-traffic-analyzer"

_PROBE = """
import json, sys
before = set(sys.modules)  # what the interpreter's start-up loaded (an editable install's finder loads pathlib)
sys.argv = ["provisioner", *json.loads(sys.argv[1])]
from provisioner.__main__ import run
code = run()
heavy = ["click", "requests", "urllib3", "jsonschema", "referencing", "jinja2", "cryptography", "jwt",
         "provisioner.client.session", "provisioner.client.auth", "provisioner.api", "provisioner.emulator",
         # the plan model and the kinds' planning, apply-step, snapshot and undo code: validate needs none
         "provisioner.plan", "provisioner.kinds.planning", "provisioner.kinds.write", "provisioner.kinds.snapshot",
         "provisioner.kinds.images", "yaml",
         # standard modules only some paths need (pathlib pulls urllib.parse and ipaddress; html: a secret that
         # escapes differently in HTML; signal: commands that write)
         "pathlib", "urllib.parse", "html", "signal"]
import gc
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules and m not in before], "gc": gc.isenabled(),
                  "frozen": gc.get_freeze_count() > 0}))
"""


def _modules_after(*args: str, cwd: Path = ROOT, **environ: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true", **environ}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
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
    assert _modules_after("--version") == {"code": 0, "loaded": [], "gc": True, "frozen": False}


def test_validate_of_a_valid_stack_imports_no_client_schema_engine_or_jinja() -> None:
    result = _modules_after("validate", str(BOT), "--env-file", str(BOT / "demo.env"))
    # gc: off for the run (provisioner.gcmode); frozen: the heap is left out of the interpreter's last
    # collection at exit (~0.1 s at 1,000 clients)
    assert result == {"code": 0, "loaded": ["click", "yaml"], "gc": False, "frozen": True}


def test_validate_on_a_warm_cache_imports_no_yaml_either(tmp_path: Path) -> None:
    """The typical run: nothing changed since the last one, every file (manifests, provisioner.yaml,
    environments/) comes from the manifest cache, and only click is imported of the heavy modules."""
    args = ("validate", str(BOT), "--env", "dev", "--env-file", str(BOT / "demo.env"))
    cached = {"PROVISIONER_CACHE": "on", "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    assert _modules_after(*args, cwd=tmp_path, **cached)["loaded"] == ["click", "yaml"]  # fills the cache
    assert _modules_after(*args, cwd=tmp_path, **cached) == {
        "code": 0,
        "loaded": ["click"],
        "gc": False,
        "frozen": True,
    }


def test_a_warm_validate_of_many_files_imports_no_yaml(tmp_path: Path) -> None:
    """Four files or more: a cold load may fork a child to fill the cache (provisioner.manifest.prefill);
    a warm one neither forks nor imports the parser."""
    stack = tmp_path / "stack"
    shutil.copytree(BOT, stack)
    agent = (stack / "agent.yaml").read_text(encoding="utf-8")
    for number in range(4):
        (stack / f"agent-{number}.yaml").write_text(agent.replace("bot-traffic-analyzer-agent", f"agent-{number}"))
    args = ("validate", str(stack), "--env-file", str(stack / "demo.env"))
    cached = {"PROVISIONER_CACHE": "on", "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    assert _modules_after(*args, cwd=tmp_path, **cached)["code"] == 0  # fills the cache
    assert _modules_after(*args, cwd=tmp_path, **cached)["loaded"] == ["click"]


def test_every_command_is_listed_and_loads_on_demand() -> None:
    from click.testing import CliRunner

    from provisioner.cli import _COMMANDS, cli

    listing = CliRunner().invoke(cli, ["--help"]).output
    for name in _COMMANDS:
        assert f"  {name} " in listing
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_plan_loads_no_apply_code_and_apply_still_does(tmp_path: Path) -> None:
    """``plan`` never imports the executor, the journal or the apply orchestration (they load when
    ``api.apply`` is called); an apply in the same process still works."""
    from provisioner.emulator import EmulatorServer

    probe = """
import json, os, sys
url, stack, env_file = sys.argv[2:5]
sys.argv = ["provisioner", *json.loads(sys.argv[1])]
from provisioner.__main__ import run
code = run()
apply_modules = ["provisioner.apply", "provisioner.apply.executor", "provisioner.journal",
                 "provisioner.orchestrate.applying"]
after_plan = [m for m in apply_modules if m in sys.modules]
from provisioner import api
with api.tenant(url) as opened:
    result = api.apply(stack, opened, env_file=env_file)
print(json.dumps({"code": code, "after_plan": after_plan, "applied": result.ok}))
"""
    with EmulatorServer(port=0, state=str(tmp_path / "emulator")) as server:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CI": "true",
            "AIC_SERVICE_ACCOUNT_ID": server.service_account["id"],
            "AIC_SERVICE_ACCOUNT_JWK_FILE": server.service_account["jwkFile"],
        }
        args = ["plan", str(BOT), "--tenant", server.url, "--env-file", str(BOT / "demo.env"), "-q"]
        done = subprocess.run(
            [sys.executable, "-c", probe, json.dumps(args), server.url, str(BOT), str(BOT / "demo.env")],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "after_plan": [], "applied": True}
