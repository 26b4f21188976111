"""The conventions Terraform, kubectl and Frodo users expect, through the real CLI against the embedded
emulator (``--tenant local`` in a temporary folder): --target, destroy, show, '-' for stdin, completion,
version, one JSON document from apply --format json, -q, one warning format, the prompt naming the tenant."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provisioner.cli import main

ROOT = Path(__file__).resolve().parents[2]
BOT = "manifests/bot-traffic-analyzer"
LOCAL = ["--tenant", "local", "--env-file", f"{BOT}/demo.env"]
AGENT = "AIAgent alpha/bot-traffic-analyzer-agent"
APP = "Application alpha/web-server-logs-api-app"
PRIV = "AgentPrivilege alpha/bot-traffic-analyzer-agent/web-server-logs-api-app"
PROVIDER = "OAuth2Provider alpha"


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def cli(
    capsys: pytest.CaptureFixture[str],
    *args: str,
    stdin: str | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def addresses(plan: dict) -> set[str]:
    return {c["address"] for c in plan["changes"] if c["action"] != "no-op"}


# -- version and completion ------------------------------------------------------------------------


def test_version_command_matches_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "version")
    assert code == 0 and out.startswith("provisioner, version ")
    flag = subprocess.run(
        check=False,
        args=[sys.executable, "-m", "provisioner", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert flag.stdout == out


@pytest.mark.parametrize(
    "shell, marker",
    [
        ("bash", "complete -o nosort -F _provisioner_completion provisioner"),
        ("zsh", "#compdef provisioner"),
        ("fish", "complete --no-files --command provisioner"),
    ],
)
def test_completion_scripts(capsys: pytest.CaptureFixture[str], shell: str, marker: str) -> None:
    code, out, _ = cli(capsys, "completion", shell)
    assert code == 0 and marker in out and "_PROVISIONER_COMPLETE" in out


def test_completion_answers_what_the_script_asks() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "_PROVISIONER_COMPLETE": "bash_complete",
        "COMP_WORDS": "provisioner des",
        "COMP_CWORD": "1",
    }
    result = subprocess.run(
        check=False, args=[sys.executable, "-m", "provisioner"], capture_output=True, text=True, timeout=60, env=env
    )
    assert "plain,destroy" in result.stdout.split()


def test_completion_of_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "completion", "tcsh")
    assert code == 1 and "tcsh" in err


# -- plan --target, show, '-' ----------------------------------------------------------------------


def test_target_pulls_in_dependencies_and_show_renders_the_saved_plan(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(capsys, "plan", BOT, *LOCAL, "--target", "web-server-logs-api-app", "--out", "app.json")
    assert code == 0, err
    plan = json.loads((work / "app.json").read_text())
    assert addresses(plan) == {APP, PROVIDER}  # the provider's grant types gate the application's
    assert plan["options"]["targets"] == ["web-server-logs-api-app"]

    code, _, _ = cli(capsys, "plan", BOT, *LOCAL, "--target", PRIV, "--out", "priv.json")
    assert addresses(json.loads((work / "priv.json").read_text())) == {PRIV, AGENT, APP, PROVIDER}
    code, _, _ = cli(
        capsys,
        "plan",
        BOT,
        *LOCAL,
        "--target",
        "AIAgent/bot-traffic-analyzer-agent",
        "--target",
        APP,
        "--out",
        "agent.json",
    )
    assert addresses(json.loads((work / "agent.json").read_text())) == {PRIV, AGENT, APP, PROVIDER}

    for fmt, marker in (("text", f"+ create {APP}"), ("markdown", APP), ("json", '"format_version"')):
        code, out, _ = cli(capsys, "show", "app.json", "--format", fmt)
        assert code == 0 and marker in out and AGENT not in out
    text = (work / "app.json").read_text()
    code, out, _ = cli(capsys, "show", "-", stdin=text, monkeypatch=monkeypatch)
    assert code == 0 and "Plan: 1 to create, 1 to update, 0 to delete." in out


def test_a_target_that_names_nothing_is_a_usage_error_listing_addresses(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "plan", BOT, *LOCAL, "--target", "nope")
    assert code == 1 and "--target 'nope' matches nothing in the plan; addresses are:" in err and AGENT in err
    code, _, err = cli(capsys, "show", "missing.json")
    assert code == 1 and "missing.json" in err and "Traceback" not in err


def test_apply_target_writes_only_the_selection_and_reads_a_manifest_from_stdin(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--target", APP, "--auto-approve")
    assert code == 0, err
    assert "Apply complete: 2 done" in out
    code, out, _ = cli(capsys, "plan", BOT, *LOCAL, "--format", "json")
    assert addresses(json.loads(out)) == {AGENT, PRIV}  # what was not targeted is still to do
    # kubectl-style '-': the application manifest from stdin plans as already applied.
    app_yaml = (work / BOT / "application.yaml").read_text()
    code, out, err = cli(
        capsys, "plan", "-", "--stack", "bot-traffic-analyzer", *LOCAL, "-q", stdin=app_yaml, monkeypatch=monkeypatch
    )
    assert code == 0, err
    assert out.strip() == "No changes. The tenant matches the manifests."


# -- apply --format json: one document -------------------------------------------------------------


def test_apply_format_json_prints_one_document_and_progress_on_stderr(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--auto-approve", "--verify", "--format", "json")
    assert code == 0, err
    document = json.loads(out)  # the whole of stdout parses
    assert set(document) == {"plan", "result", "verify"}
    assert document["result"]["outcome"] == "complete" and addresses(document["plan"]) == {AGENT, APP, PRIV, PROVIDER}
    assert document["verify"]
    assert "Target: local emulator" in err and "Apply complete: 4 done" in err and "✓ create" in err


@pytest.mark.slow
def test_apply_format_json_pipes_into_json_tool(work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(work / "home")}
    env.pop("CI", None)
    pipeline = (
        f"{sys.executable} -m provisioner apply {BOT} --tenant local --env-file {BOT}/demo.env "
        f"--auto-approve --format json | {sys.executable} -m json.tool"
    )
    result = subprocess.run(
        check=False,
        args=["bash", "-o", "pipefail", "-c", pipeline],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"]["ok"] is True


# -- destroy ---------------------------------------------------------------------------------------


def test_destroy_deletes_what_the_stack_owns_within_the_cap(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "apply", BOT, *LOCAL, "--auto-approve")[0] == 0
    code, _, err = cli(capsys, "destroy", BOT, "--tenant", "local")  # no terminal: no prompt, nothing deleted
    assert code == 1 and "pass --auto-approve" in err
    code, out, _ = cli(capsys, "destroy", BOT, "--tenant", "local", "--auto-approve", "--max-deletes", "2")
    assert code == 1 and "more than --max-deletes 2" in out
    # Held back by the cap, not by a missing --prune, and owned by the stack (destroy), not "no longer declared".
    assert (
        f"- delete (over --max-deletes) {AGENT}  # owned by stack 'bot-traffic-analyzer': destroy; not deleted" in out
    )
    assert "needs --prune" not in out and "no longer declared" not in out
    code, out, err = cli(capsys, "destroy", BOT, "--tenant", "local", "--auto-approve")
    assert code == 0, err
    assert f"- delete {AGENT}" in out and "Destroy complete: 3 done, 0 failed" in out
    code, out, _ = cli(capsys, "plan", BOT, *LOCAL, "--format", "json")
    assert addresses(json.loads(out)) == {AGENT, APP, PRIV}  # all gone (the provider keeps its grant types)
    code, out, _ = cli(capsys, "destroy", BOT, "--tenant", "local")
    assert code == 0 and "Nothing to destroy: stack 'bot-traffic-analyzer' owns no objects in the local emulator" in out


def _pty_run(args: list[str], cwd: Path, answer: str) -> str:
    """Run the CLI with a terminal on stdin (so it prompts), answer, return stdout+stderr."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(cwd / "home"), "NO_COLOR": "1"}
    env.pop("CI", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    os.close(slave)
    os.write(master, answer.encode())
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    return out


@pytest.mark.slow
def test_prompts_name_the_tenant_and_the_count(work: Path) -> None:
    out = _pty_run(["apply", BOT, *LOCAL], work, "n\n")
    assert "Apply these 4 changes to the local emulator? [y/N]" in out and "nothing was written" in out
    _pty_run(["apply", BOT, *LOCAL, "--auto-approve"], work, "")
    out = _pty_run(["destroy", BOT, "--tenant", "local"], work, "n\n")
    assert "Destroy 3 objects of stack 'bot-traffic-analyzer' in the local emulator? This cannot be undone" in out


# -- -q and the one warning format -----------------------------------------------------------------


def test_quiet_plan_prints_only_changes_and_summary(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys,
        "plan",
        "manifests/digital-assistant",
        "--env",
        "dev",
        "--tenant",
        "local",
        "--env-file",
        "manifests/digital-assistant/demo.env",
        "-q",
    )
    assert code == 0
    assert not any(line.startswith(("Target:", "Stack:", "Environment:")) for line in out.splitlines()), out
    assert out.splitlines()[0].strip() and any(line.startswith(("+ ", "~ ")) for line in out.splitlines())
    assert out.rstrip().splitlines()[-1].startswith("Plan: ")
    assert "warning" not in err


def test_quiet_apply_prints_the_plan_as_quiet_plan_does(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--auto-approve", "-q")
    assert code == 0, out + err
    lines = (out + err).splitlines()
    assert not any(line.startswith(("Target:", "Stack:", "Environment:")) for line in lines), out + err
    assert any(line.startswith(("+ ", "~ ")) for line in out.splitlines()) and "Plan: 3 to create" in out
    assert "Apply complete: 4 done" in out


def test_validate_and_plan_print_a_warning_the_same_way(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = ["manifests/digital-assistant", "--env", "dev", "--env-file", "manifests/digital-assistant/demo.env"]
    _, out, _ = cli(capsys, "validate", *stack)
    warned = [line for line in out.splitlines() if "warning:" in line]
    assert warned and warned[0].startswith(
        "manifests/digital-assistant/application.yaml:13:16: spec.grantTypes[0]: warning: grant type 'password'"
    )
    _, _, err = cli(capsys, "plan", *stack, "--tenant", "local")
    assert warned[0] in err.splitlines()
    _, _, err = cli(capsys, "verify", *stack, "--tenant", "local")
    assert warned[0] in err.splitlines()
    (work / "manifests/digital-assistant/application.yaml").write_text(
        (work / "manifests/digital-assistant/application.yaml").read_text().replace("scopes:", "scope:", 1)
    )
    _, out, _ = cli(capsys, "validate", *stack)
    [error] = [line for line in out.splitlines() if "unknown field" in line]
    code, _, err = cli(capsys, "verify", *stack, "--tenant", "local")
    assert code == 1 and error in err.splitlines()


def test_one_error_is_singular(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / BOT / "agent.yaml").write_text((work / BOT / "agent.yaml").read_text().replace("scopes:", "scope:"))
    for command in (["plan", BOT, *LOCAL], ["apply", BOT, *LOCAL], ["access", BOT], ["validate", BOT, *LOCAL[2:]]):
        code, out, err = cli(capsys, *command)
        assert code == 1 and "1 error" in out + err and "1 errors" not in out + err, command


# -- -v: one whole line per request, also in parallel ------------------------------------------------


class _YieldingStream:
    """A stream that gives up the GIL inside every write, as a slow terminal or pipe would."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        import time

        for char in text:
            self.parts.append(char)
            time.sleep(0)
        return len(text)

    def flush(self) -> None:
        pass


def test_trace_lines_of_parallel_requests_never_interleave() -> None:
    import threading

    from provisioner.tenant import trace_line

    stream = _YieldingStream()

    def worker(n: int) -> None:
        for i in range(20):
            trace_line(f"GET /openidm/managed/alpha_user/{n}-{i} -> 200 3ms attempt 1", stream)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = "".join(stream.parts).splitlines()
    assert len(lines) == 160
    assert all(line.startswith("GET /openidm/managed/alpha_user/") and line.endswith("attempt 1") for line in lines)


def test_verbose_plan_traces_each_request_on_its_own_line(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "plan", BOT, *LOCAL, "-v", "--parallelism", "8")
    assert code == 0
    traces = [line for line in err.splitlines() if " -> " in line]
    assert len(traces) >= 5
    assert all(line.split()[0] in ("GET", "POST", "PUT", "PATCH", "DELETE") and " attempt " in line for line in traces)


def test_an_unknown_env_lists_the_environments_that_exist(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "validate", BOT, "--env", "qa", "--skip-secrets")
    assert code == 1
    assert "environment 'qa' not found" in out and "; environments here: dev, prod, staging" in out
    code, out, _ = cli(capsys, "validate", f"{BOT}/agent.yaml", "--env", "qa", "--skip-secrets")
    assert "environments here: dev, prod, staging" in out


def test_apply_format_json_stays_one_document_when_the_run_stops_with_an_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--auto-approve", "--format", "json", "--target", "nope")
    assert code == 1
    document = json.loads(out)
    assert document["result"] is None and "--target 'nope' matches nothing" in document["error"]
    assert "Error: --target 'nope'" in err


def test_apply_format_json_is_one_document_for_errors_before_the_tenant(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid manifests, an undeclared stack and an unreadable plan file stop apply before it opens the
    tenant: stdout is still the one JSON document a pipeline parses, the diagnostics stay on stderr."""
    agent = work / "manifests" / "bot-traffic-analyzer" / "agent.yaml"
    agent.write_text(agent.read_text().replace("  scopes:", "  scope:", 1))
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--auto-approve", "--format", "json")
    assert code == 1
    assert json.loads(out) == {
        "plan": None,
        "result": None,
        "error": "the manifests are not valid (diagnostics on stderr); nothing was read or written",
    }
    assert "agent.yaml:14:3: spec.scope: unknown field 'scope'" in err
    (work / "manifests" / "bot-traffic-analyzer" / "provisioner.yaml").unlink()
    agent.write_text(agent.read_text().replace("  scope:", "  scopes:", 1))
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--auto-approve", "--format", "json")
    assert code == 1 and json.loads(out)["error"].startswith("no stack declared")
    (work / "p.json").write_text("{")
    code, out, err = cli(capsys, "apply", "--plan", "p.json", "--auto-approve", "--format", "json")
    assert code == 1 and "plan file is not JSON" in json.loads(out)["error"]
    code, out, err = cli(capsys, "apply", BOT, *LOCAL, "--auto-approve")  # text output unchanged
    assert code == 1 and out == "" and "Error: no stack declared" in err


def test_closed_stdin_is_no_terminal_not_an_internal_error(work: Path) -> None:
    """A job runner may start the CLI with stdin closed (``<&-``): Python's sys.stdin is then None. The
    prompt refuses as without a terminal, ``-`` reads nothing; never an internal error (exit 3)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(work / "home"), "NO_COLOR": "1"}
    env.pop("CI", None)
    runs = {"apply": f"apply {BOT} --tenant local --env-file {BOT}/demo.env", "show": "show -"}
    for name, args in runs.items():
        result = subprocess.run(
            ["bash", "-c", f"exec {sys.executable} -m provisioner {args} <&-"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1, (name, result.stderr)
        assert "Internal error" not in result.stderr and "Traceback" not in result.stderr, (name, result.stderr)
        if name == "apply":
            assert "refusing to ask for confirmation without a terminal" in result.stderr


def test_a_realm_the_tenant_does_not_know_is_named(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["plan", BOT, *LOCAL, "--realm", "nosuch"], ["export", "--tenant", "local", "--realm", "nosuch"]):
        code, out, err = cli(capsys, *command)
        assert code == 1, command
        assert "realm 'nosuch' has no OAuth2 provider; check the realm name" in err and "Traceback" not in err
