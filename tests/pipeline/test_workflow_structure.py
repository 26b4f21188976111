"""The example GitHub Actions workflow is valid YAML with the triggers, jobs and guards docs/pipelines.md
describes. No network, no tenant: this is about the file's shape."""

from __future__ import annotations

import pytest

from tests.pipeline import workflow as wf

ENVIRONMENTS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module")
def flow() -> dict:
    return wf.load()


def test_triggers(flow: dict) -> None:
    on = flow["on"]
    assert set(on) >= {"pull_request", "push", "schedule"}
    assert on["push"]["branches"] == ["main"]
    assert on["schedule"] and all("cron" in entry for entry in on["schedule"])


def test_jobs_and_their_events(flow: dict) -> None:
    jobs = flow["jobs"]
    assert set(jobs) == {"validate", "plan", "apply", "drift"}
    assert "pull_request" in jobs["validate"]["if"]
    assert "pull_request" in jobs["plan"]["if"]
    assert jobs["plan"]["needs"] == "validate"
    assert "push" in jobs["apply"]["if"] and "refs/heads/main" in jobs["apply"]["if"]
    assert "schedule" in jobs["drift"]["if"]


@pytest.mark.parametrize("job", ["validate", "plan", "apply", "drift"])
def test_matrix_over_environments(flow: dict, job: str) -> None:
    job_def = flow["jobs"][job]
    assert job_def["strategy"]["matrix"]["environment"] == ENVIRONMENTS
    assert job_def["env"]["ENV"] == "${{ matrix.environment }}"


def test_apply_is_protected_and_serialised_per_environment(flow: dict) -> None:
    apply = flow["jobs"]["apply"]
    assert apply["environment"] == "${{ matrix.environment }}"
    assert apply["concurrency"] == {"group": "provisioner-apply-${{ matrix.environment }}", "cancel-in-progress": False}
    assert apply["strategy"]["max-parallel"] == 1 and apply["strategy"]["fail-fast"] is True
    # Drift has its own group: a pending drift run must never replace a pending apply.
    assert flow["jobs"]["drift"]["concurrency"]["group"] != apply["concurrency"]["group"]


def test_validate_job_needs_no_secrets(flow: dict) -> None:
    validate = flow["jobs"]["validate"]
    assert "environment" not in validate
    assert "secrets." not in str(validate)


def test_credentials_and_manifest_secrets_come_from_github_secrets(flow: dict) -> None:
    apply_env = flow["jobs"]["apply"]["env"]
    for name in (
        "AIC_TENANT_URL",
        "AIC_SERVICE_ACCOUNT_ID",
        "AIC_SERVICE_ACCOUNT_JWK",
        "BOT_AGENT_SECRET",
        "LOGS_API_APP_SECRET",
    ):
        assert apply_env[name] == f"${{{{ secrets.{name} }}}}"


def test_every_provisioner_step_is_one_marked_command_line(flow: dict) -> None:
    commands = {job: [(s.id, s.line) for s in wf.provisioner_steps(flow, job)] for job in flow["jobs"]}
    assert commands == {
        "validate": [("validate", "provisioner validate manifests/${STACK} --env ${ENV} --skip-secrets")],
        "plan": [
            (
                "plan",
                "provisioner plan manifests/${STACK} --env ${ENV} --tenant ${AIC_TENANT_URL} --prune "
                "--out plan.json --format markdown > plan.md",
            )
        ],
        "apply": [
            ("validate", "provisioner validate manifests/${STACK} --env ${ENV}"),
            (
                "plan",
                "provisioner plan manifests/${STACK} --env ${ENV} --tenant ${AIC_TENANT_URL} --prune "
                "--out plan.json --detailed-exitcode",
            ),
            (
                "apply",
                "provisioner apply manifests/${STACK} --env ${ENV} --tenant ${AIC_TENANT_URL} --plan plan.json "
                "--auto-approve",
            ),
            (
                "verify",
                "provisioner verify manifests/${STACK} --env ${ENV} --tenant ${AIC_TENANT_URL} --junit verify.xml",
            ),
        ],
        "drift": [
            (
                "drift",
                "provisioner plan manifests/${STACK} --env ${ENV} --tenant ${AIC_TENANT_URL} "
                "--detailed-exitcode --format json > drift.json",
            )
        ],
    }


def test_exit_code_handling_of_detailed_plans(flow: dict) -> None:
    apply_steps = {s["id"]: s for s in flow["jobs"]["apply"]["steps"] if "id" in s}
    # The plan step must not run under `bash -e`: exit 2 is data, recorded as an output.
    assert "-e" not in apply_steps["plan"]["shell"].split()
    assert 'echo "exitcode=$code" >> "$GITHUB_OUTPUT"' in apply_steps["plan"]["run"]
    assert apply_steps["apply"]["if"] == "steps.plan.outputs.exitcode == '2'"
    drift_steps = flow["jobs"]["drift"]["steps"]
    drift = next(s for s in drift_steps if s.get("id") == "drift")
    assert "-e" not in drift["shell"].split()
    opens_issue = next(s for s in drift_steps if "github-script" in str(s.get("uses")))
    assert opens_issue["if"] == "steps.drift.outputs.exitcode == '2'"
    fails = drift_steps[-1]
    assert fails["if"] == "steps.drift.outputs.exitcode != '0'" and "exit 1" in fails["run"]


def test_plan_is_uploaded_and_commented(flow: dict) -> None:
    steps = flow["jobs"]["plan"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert "plan.json" in upload["with"]["path"]
    comment = next(s for s in steps if str(s.get("uses", "")).startswith("actions/github-script"))
    script = comment["with"]["script"]
    assert "plan.md" in script and "updateComment" in script and "createComment" in script


def test_verify_report_is_published(flow: dict) -> None:
    steps = flow["jobs"]["apply"]["steps"]
    report = next(s for s in steps if "junit" in str(s.get("uses", "")).lower())
    assert report["with"]["report_paths"] == "verify.xml"
    assert report["if"].startswith("always()")
    assert flow["jobs"]["apply"]["permissions"]["checks"] == "write"
