"""Interrupted and failed applies: the report, the journal, exit codes, and the next run converging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from fault_soak import AgentSpec, AppSpec, Grant, StackSpec, check_tenant, write_stack
from provisioner import journal
from tests import leakcheck
from tests.core.conftest import AGENT, APP, Tenant, bot_args, demo_secrets

ROOT = Path(__file__).resolve().parents[2]


def big_stack() -> StackSpec:
    apps = tuple(AppSpec(f"soak-app-{i}", ("read", "write"), f"app {i}") for i in range(4))
    agents = tuple(
        AgentSpec(f"soak-agent-{j}", ("monitor",), f"agent {j}", tuple(Grant(a.name, ("read",)) for a in apps[: j + 1]))
        for j in range(4)
    )
    return StackSpec(apps, agents)


def _secrets(spec: StackSpec) -> dict[str, str]:
    values = {name: f"interrupt-{n:02d}-secret-value" for n, name in enumerate(spec.secret_names())}
    leakcheck.add_secret(*values.values())
    return values


def _records(directory: Path) -> tuple[Path, list[Any]]:
    files = sorted(directory.glob("apply-*.jsonl"))
    assert len(files) == 1, files
    return files[0], list(journal.read(files[0]))


class TestInterrupt:
    @pytest.fixture
    def emulator_options(self) -> dict[str, Any]:
        return {"latency_ms": 300}

    def test_sigint_finishes_in_flight_writes_reports_and_journals(self, tenant: Tenant, tmp_path: Path) -> None:
        spec = big_stack()
        manifest = write_stack(spec, tmp_path / "stack")
        secrets = _secrets(spec)
        env = {**os.environ, **secrets, "PYTHONUNBUFFERED": "1"}
        command = [
            sys.executable,
            "-m",
            "provisioner",
            "apply",
            str(manifest),
            "--tenant",
            tenant.url,
            "--auto-approve",
        ]
        started = time.monotonic()
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
        )
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("✓"):  # the provider is done; the applications' writes start now
                time.sleep(0.2)  # ... and are in flight (each request takes 300 ms) when Ctrl-C comes
                proc.send_signal(signal.SIGINT)
                break
        rest, err = proc.communicate(timeout=60)
        out = "".join(lines) + rest
        leakcheck.record("subprocess:interrupted apply", out)
        leakcheck.record("subprocess:interrupted apply", err)
        assert proc.returncode == 130, out + err
        assert time.monotonic() - started < 30
        assert "Interrupted: starting no new writes" in err
        assert "Apply interrupted: " in out
        assert "not attempted: create AgentPrivilege" in err and "(apply was interrupted before it started)" in err
        assert "Journal: .provisioner/journal/apply-" in err

        path, records = _records(tmp_path / ".provisioner" / "journal")
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        start, end = records[0], records[-1]
        assert start["event"] == "start" and start["target"] == tenant.url
        assert len(start["changes"]) == 1 + 4 + 4 + 10  # provider, apps, agents, privileges
        assert end["event"] == "end" and end["outcome"] == "interrupted"
        assert end["done"] and end["not_attempted"] and not end["failed"]
        attempted = {r["address"] for r in records if r["event"] == "attempt"}
        finished = {r["address"] for r in records if r["event"] in ("ok", "failed")}
        assert attempted == finished == set(end["done"])  # every write in flight finished and was recorded
        assert any(a.startswith("Application ") for a in end["done"])  # the in-flight level completed
        # AM clients and agents share the first level; privileges are the next one: none started.
        assert not any(a.startswith("AgentPrivilege ") for a in attempted)  # ... and no new level started
        text = path.read_text()
        assert not any(value in text for value in secrets.values())
        assert "Authorization" not in text and "userpassword" not in text

        # The next run picks up where the interrupted one stopped.
        code = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert code.returncode == 0, code.stdout + code.stderr
        assert "Apply complete" in code.stdout
        problems = check_tenant(tenant.url, env, [str(manifest)], spec, unmanaged=False)
        assert not problems, problems


def test_failed_apply_reports_done_failed_and_not_attempted(tenant: Tenant, cli, tmp_path: Path) -> None:
    # A persistent 500 on IDM application writes (Retry-After: 0 keeps the five attempts quick).
    rule = {"path": "managed/alpha_application/", "method": "PUT", "action": "status", "status": 500, "retryAfter": 0}
    assert requests.put(tenant.url + "/_emulator/faults", json=[rule], timeout=10).status_code == 200
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 1, out + err
    assert "done: update OAuth2Provider alpha\n" in err
    assert f"done: create AIAgent alpha/{AGENT}\n" in err
    assert f"failed: create Application alpha/{APP}: " in err and "500" in err
    assert (
        f"not attempted: create AgentPrivilege alpha/{AGENT}/{APP} (a change it depends on did not complete)\n"
    ) in err
    assert "Run apply again to finish" in err
    assert "Apply incomplete: 2 done, 1 failed, 1 not attempted." in out
    assert not any(v in out + err for v in demo_secrets().values())

    _, records = _records(tmp_path / ".provisioner" / "journal")
    end = records[-1]
    assert end["outcome"] == "failed" and end["failed"] == [f"Application alpha/{APP}"]
    assert end["not_attempted"] == [f"AgentPrivilege alpha/{AGENT}/{APP}"]
    failed = next(r for r in records if r["event"] == "failed")
    assert "500" in failed["cause"]

    requests.delete(tenant.url + "/_emulator/faults", timeout=10)
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0, out + err
    assert "Apply complete" in out
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0


def test_no_change_run_writes_no_journal(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    assert len(list((tmp_path / ".provisioner" / "journal").glob("*.jsonl"))) == 1
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    assert len(list((tmp_path / ".provisioner" / "journal").glob("*.jsonl"))) == 1
    _, records = _records(tmp_path / ".provisioner" / "journal")
    assert json.dumps(records[-1]["outcome"]) == '"complete"'
