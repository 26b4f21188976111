"""Run the example workflow's provisioner command lines, exactly as written, against the emulator.

Each GitHub job gets a fresh checkout (a new copy of ``manifests/`` in its own directory) and exactly
the environment its ``env:`` blocks give it, with ``${{ secrets.X }}`` filled from a stand-in for the
repository's GitHub secrets: the emulator's URL and service account, and the stack's ``demo.env``. So
a secret the manifests need but the workflow does not pass makes this test fail, as it would in CI.

Sequence: pull request (validate, plan → markdown), merge (validate, plan --detailed-exitcode = 2,
apply PATH --plan, verify --junit), the same merge job again (plan = 0, apply skipped, verify), nightly drift
(= 0), then a manifest change that was never applied (drift = 2, listed in the JSON).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline import workflow as wf

EXIT_OK, EXIT_CHANGES = 0, 2


@pytest.fixture(scope="module")
def flow() -> dict:
    return wf.load()


@pytest.fixture(scope="module")
def stack(flow: dict) -> str:
    return str(flow["env"]["STACK"])


@pytest.fixture
def server() -> Iterator[object]:
    from provisioner.emulator import EmulatorServer

    with EmulatorServer(port=0, state=None) as running:
        yield running


def github_secrets(server: object, stack: str) -> dict[str, str]:
    """What the repository's GitHub secrets would hold for an environment served by ``server``."""
    from provisioner.manifest.secrets import parse_dotenv

    account = server.service_account  # type: ignore[attr-defined]
    demo_env = wf.ROOT / "manifests" / stack / "demo.env"
    return {
        **parse_dotenv(demo_env.read_text(encoding="utf-8"), str(demo_env))[0],
        "AIC_TENANT_URL": server.url,  # type: ignore[attr-defined]
        "AIC_SERVICE_ACCOUNT_ID": account["id"],
        "AIC_SERVICE_ACCOUNT_JWK": json.dumps(account["jwk"]),
    }


class Runner:
    """Runs the jobs of one environment; every job run gets a fresh checkout under ``base``."""

    def __init__(self, flow: dict, base: Path, environment: str, secrets: dict[str, str]) -> None:
        self.flow, self.base, self.environment, self.secrets = flow, base, environment, secrets
        self.runs = 0

    def checkout(self, job: str) -> Path:
        self.runs += 1
        workdir = self.base / f"{self.runs:02d}-{job}"
        shutil.copytree(wf.ROOT / "manifests", workdir / "manifests")
        return workdir

    def job(self, name: str) -> tuple[dict[str, wf.Step], dict[str, str]]:
        env = {
            **wf.base_environment(),
            **wf.job_environment(self.flow, name, matrix={"environment": self.environment}, secrets=self.secrets),
        }
        return {s.id: s for s in wf.provisioner_steps(self.flow, name)}, env

    @staticmethod
    def expect(step: wf.Step, env: dict[str, str], cwd: Path, code: int) -> wf.Result:
        result = wf.run(step, env, cwd)
        assert result.returncode == code, result.describe()
        return result


def environments(stack: str) -> list[str]:
    folder = wf.ROOT / "manifests" / stack / "environments"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def test_workflow_environments_exist_in_the_stack(flow: dict, stack: str) -> None:
    matrix = flow["jobs"]["apply"]["strategy"]["matrix"]["environment"]
    assert set(matrix) <= set(environments(stack)), f"manifests/{stack}/environments/ lacks some of {matrix}"


@pytest.mark.parametrize(
    "environment",
    ["dev", pytest.param("staging", marks=pytest.mark.slow), pytest.param("prod", marks=pytest.mark.slow)],
)
def test_pipeline_commands_against_the_emulator(
    flow: dict, stack: str, server: object, tmp_path: Path, environment: str
) -> None:
    runner = Runner(flow, tmp_path, environment, github_secrets(server, stack))

    # --- pull request: validate (offline), plan with markdown for the comment ------------------
    steps, env = runner.job("validate")
    assert "AIC_TENANT_URL" not in env and "BOT_AGENT_SECRET" not in env
    runner.expect(steps["validate"], env, runner.checkout("validate"), EXIT_OK)

    steps, env = runner.job("plan")
    pr = runner.checkout("plan")
    runner.expect(steps["plan"], env, pr, EXIT_OK)
    pr_plan = json.loads((pr / "plan.json").read_text(encoding="utf-8"))
    assert pr_plan["format_version"] and any(c["action"] == "create" for c in pr_plan["changes"])
    markdown = (pr / "plan.md").read_text(encoding="utf-8")
    assert markdown.strip(), "plan --format markdown wrote nothing to stdout"
    assert not markdown.lstrip().startswith("{"), "plan.md holds JSON, not markdown"

    # --- push to main: validate with secrets, re-plan, apply the saved plan, verify ------------
    steps, env = runner.job("apply")
    main = runner.checkout("apply")
    runner.expect(steps["validate"], env, main, EXIT_OK)
    runner.expect(steps["plan"], env, main, EXIT_CHANGES)
    assert steps["apply"].condition == "steps.plan.outputs.exitcode == '2'"
    runner.expect(steps["apply"], env, main, EXIT_OK)
    runner.expect(steps["verify"], env, main, EXIT_OK)
    # --- what the jobs upload as artifacts holds no token and no secret --------------------------
    assert ".provisioner/journal/" in wf.artifact_paths(flow, "apply")
    assert list((main / ".provisioner" / "journal").glob("*.jsonl")), "apply wrote no journal to upload"
    not_secret = ("AIC_TENANT_URL", "AIC_SERVICE_ACCOUNT_ID")  # GitHub secrets for convenience, not secret
    secret_values = [v for k, v in runner.secrets.items() if k not in not_secret]
    secret_values += _private_parts(runner.secrets["AIC_SERVICE_ACCOUNT_JWK"])
    assert wf.artifact_leaks(flow, "apply", main, secret_values) == []
    assert wf.artifact_leaks(flow, "plan", pr, secret_values) == []
    report = ET.parse(main / "verify.xml").getroot()
    suites = [report] if report.tag == "testsuite" else list(report.iter("testsuite"))
    assert suites and sum(int(s.get("tests", 0)) for s in suites) > 0
    assert all(int(s.get("failures", 0)) == 0 and int(s.get("errors", 0)) == 0 for s in suites)

    # --- later: the sessions of finished runs no longer count -------------------------------------
    # Every admin token opens an AM session and a service account holds at most 5 (reference §2.3);
    # the runs above fit in that budget. Real runs of later events are minutes or hours apart, when
    # those sessions have expired; the emulator has no clock to advance, and evict-oldest has the same
    # effect for processes that have exited.
    _patch_config(server, {"sa.sessionLimitMode": "evict-oldest"})

    # --- the same merge job again: nothing to do, apply skipped, verify still passes -----------
    again = runner.checkout("apply")
    runner.expect(steps["plan"], env, again, EXIT_OK)
    runner.expect(steps["verify"], env, again, EXIT_OK)

    # --- nightly: no drift --------------------------------------------------------------------
    steps, env = runner.job("drift")
    nightly = runner.checkout("drift")
    runner.expect(steps["drift"], env, nightly, EXIT_OK)
    assert wf.artifact_leaks(flow, "drift", nightly, secret_values) == []
    drift = json.loads((nightly / "drift.json").read_text(encoding="utf-8"))
    assert [c for c in drift["changes"] if c["action"] != "no-op"] == []

    # --- a manifest change that was never applied is drift: exit 2, and the JSON says what -----
    changed = runner.checkout("drift")
    edited = _change_a_display_name(changed / "manifests" / stack, environment)
    runner.expect(steps["drift"], env, changed, EXIT_CHANGES)
    drift = json.loads((changed / "drift.json").read_text(encoding="utf-8"))
    updates = [c for c in drift["changes"] if c["action"] == "update"]
    assert [c["key"] for c in updates] == [edited]
    assert [f["path"] for f in updates[0]["fields"]] == ["displayName"]


def _private_parts(jwk_text: str) -> list[str]:
    jwk = json.loads(jwk_text)
    return [str(jwk[k]) for k in ("d", "p", "q", "dp", "dq", "qi") if k in jwk]


def _patch_config(server: object, changes: dict[str, object]) -> None:
    """``PATCH /_emulator/config`` on the control plane."""
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}/_emulator/config",
        method="PATCH",  # type: ignore[attr-defined]
        data=json.dumps(changes).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _change_a_display_name(folder: Path, environment: str) -> str:
    """Append to one resource's ``displayName`` line in the stack; return that resource's key."""
    from provisioner.manifest import load

    loaded = load([str(folder)], env=environment, resolve_secrets=False)
    resource = next(r for r in sorted(loaded.stack.resources, key=lambda r: r.name) if "displayName" in r.spec)
    where = resource.locate("spec.displayName")
    path = Path(where.file)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    line = lines[where.line - 1].rstrip("\n")
    # A quoted value (templated manifests quote their expressions) is edited inside its quotes.
    lines[where.line - 1] = (line[:-1] + ' (edited)"' if line.endswith('"') else line + " (edited)") + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return resource.name
