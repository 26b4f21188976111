"""``provisioner verify`` end to end: real CLI, real socket, ``EmulatorServer``, both example stacks.

Each test gets a fresh emulator with the on-behalf-of test user and group seeded *before* apply (so
the privilege's subject group resolves), then ``provisioner apply`` of both stacks. Breakages are
made directly through the admin REST API, one at a time.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.verify.helpers import ASSISTANT, BOT, Admin, assert_no_leak, control, run_cli

BOT_AGENT = "bot-traffic-analyzer-agent"
LOGS_APP = "web-server-logs-api-app"
DA_AGENT = "digital-assistant-ai-agent"
DA_APP = "digital-assistant-web-app"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
EXPECTED_CHECKS = {BOT: 13, ASSISTANT: 10}


def verify(server, stack: Path, tmp_path: Path, *extra: str, env: str = "dev", fmt: str = "json"):
    """Run the verify CLI; returns (exit code, parsed JSON or table text, stderr, JUnit root)."""
    junit = tmp_path / f"junit-{stack.name}.xml"
    code, out, err = run_cli(
        [
            "verify",
            str(stack),
            "--env",
            env,
            "--tenant",
            server.url,
            "--env-file",
            str(stack / "demo.env"),
            "--format",
            fmt,
            "--junit",
            str(junit),
            "--no-color",
            *extra,
        ]
    )
    junit_text = junit.read_text(encoding="utf-8")
    assert_no_leak(out, err, junit_text)
    assert "Traceback" not in out + err
    return code, (json.loads(out) if fmt == "json" else out), err, ET.fromstring(junit_text.encode())


def check(report: dict, name: str) -> dict:
    matches = [c for c in report["checks"] if c["name"] == name]
    assert len(matches) == 1, [c["name"] for c in report["checks"]]
    return matches[0]


# -- 1. everything passes after apply ---------------------------------------------------------------


@pytest.mark.parametrize("stack", [BOT, ASSISTANT], ids=["bot-traffic-analyzer", "digital-assistant"])
def test_verify_passes_every_check_after_apply(tenant, tmp_path, stack):
    code, report, err, junit = verify(tenant, stack, tmp_path)
    failing = [c for c in report["checks"] if c["status"] != "pass"]
    assert code == 0, failing
    assert failing == []
    assert report["summary"] == {
        "total": EXPECTED_CHECKS[stack],
        "passed": EXPECTED_CHECKS[stack],
        "failed": 0,
        "skipped": 0,
    }
    assert err.startswith(f"Target: {tenant.url}")  # json: the target line goes to stderr
    assert junit.tag == "testsuites" and junit.get("tests") == str(EXPECTED_CHECKS[stack])
    assert len(junit.findall("testsuite")) == 1
    assert len(junit.findall(".//testcase")) == EXPECTED_CHECKS[stack]
    assert junit.findall(".//failure") == [] and junit.findall(".//skipped") == []


def test_table_output_prints_target_first_and_the_claims(tenant, tmp_path):
    code, out, _, _ = verify(tenant, BOT, tmp_path, fmt="table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Target: {tenant.url}"
    assert f"AIAgent {BOT_AGENT}" in lines
    assert f"  exchange → {LOGS_APP}" in lines
    assert re.search(r"issued sha256:[0-9a-f]{8}", out)
    assert lines[-1] == "verify passed: 13 checks: 13 passed, 0 failed, 0 skipped"


def test_on_behalf_of_checks_the_users_id_and_the_agent(tenant, tmp_path):
    code, report, _, _ = verify(tenant, ASSISTANT, tmp_path)
    assert code == 0
    prefix = f"on-behalf-of demo-user → {DA_APP}"
    sub = check(report, f"{prefix}: sub")
    assert re.fullmatch(r"[0-9a-f-]{36}", sub["actual"])  # the user's IDM id, not the agent
    assert check(report, f"{prefix}: act.sub")["actual"] == DA_AGENT
    assert check(report, f"{prefix}: scope")["actual"] == "[read-data]"
    assert check(report, f"least privilege: unpermitted scope → {DA_APP}")["expected"] == "openid not granted"


# -- 2. break one thing at a time --------------------------------------------------------------------


def _drop_token_exchange_from_provider(admin: Admin) -> None:
    doc = admin.provider()
    doc["advancedOAuth2Config"]["grantTypes"] = [g for g in doc["advancedOAuth2Config"]["grantTypes"] if g != TX]
    admin.put_provider(doc)


def _drop_permission(admin: Admin) -> None:
    (privilege,) = admin.privileges(BOT_AGENT)
    admin.patch_privilege(
        privilege["_id"],
        [{"operation": "replace", "field": "/permissions", "value": [{"type": "scopes", "values": ["logs-read"]}]}],
    )


def _audience_override_off(admin: Admin) -> None:
    doc = admin.agent(BOT_AGENT)
    doc["overrideOAuth2ClientConfig"]["acceptAudienceParametersInTokenExchangeRequests"] = False
    admin.put_agent(BOT_AGENT, doc)


def _change_agent_secret(admin: Admin) -> None:
    doc = admin.agent(BOT_AGENT)
    doc["coreOAuth2ClientConfig"]["userpassword"] = "rotated-elsewhere-0a1b2c3d"
    admin.put_agent(BOT_AGENT, doc)


BREAKAGES = [
    pytest.param(
        _drop_token_exchange_from_provider,
        f"exchange → {LOGS_APP}: token",
        ["unsupported_grant_type", f"the realm's OAuth2 provider does not allow {TX}"],
        id="provider-grant",
    ),
    pytest.param(
        _drop_permission,
        f"exchange → {LOGS_APP}: token",
        [
            "invalid_scope",
            "[logs-search]",
            f"the privilege of {BOT_AGENT} on {LOGS_APP} permits [logs-read, logs-search] in the manifests",
            "run `provisioner plan`",
        ],
        id="permission",
    ),
    pytest.param(
        _audience_override_off,
        f"exchange → {LOGS_APP}: token",
        ["Invalid token exchange.", "providerOverrides.acceptAudienceInTokenExchange"],
        id="audience-off",
    ),
    pytest.param(
        _change_agent_secret,
        "client credentials: token",
        [
            f"client authentication failed for {BOT_AGENT} — check the secret referenced by "
            "{fromEnv: BOT_AGENT_SECRET} and tokenEndpointAuthMethod client_secret_post"
        ],
        id="agent-secret",
    ),
]


@pytest.mark.parametrize("breakage, failing, phrases", BREAKAGES)
def test_breakage_fails_the_right_check_with_its_cause(tenant, tmp_path, breakage, failing, phrases):
    breakage(Admin(tenant))
    code, report, _, junit = verify(tenant, BOT, tmp_path)
    assert code == 1
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failed] == [failing], failed  # only the broken step fails; dependents skip
    for phrase in phrases:
        assert phrase in failed[0]["message"]
    assert report["summary"]["total"] == EXPECTED_CHECKS[BOT]  # same rows, whatever the tenant says
    (failure,) = junit.findall(".//failure")
    assert failure.get("message") == failed[0]["message"]
    # The other stack is untouched (except by the realm-wide provider change).
    if breakage is not _drop_token_exchange_from_provider:
        assert verify(tenant, ASSISTANT, tmp_path)[0] == 0


def test_table_shows_the_diagnosis_and_exit_code_one(tenant, tmp_path):
    _change_agent_secret(Admin(tenant))
    code, out, _, _ = verify(tenant, BOT, tmp_path, fmt="table")
    assert code == 1
    assert (
        f"↳ client credentials token refused: invalid_client (Client authentication failed) — "
        f"client authentication failed for {BOT_AGENT}" in out
    )
    assert out.splitlines()[-1].startswith("verify FAILED: 13 checks: 0 passed, 1 failed, 12 skipped")


# -- 3. emulator switch: narrow vs reject an unpermitted scope ---------------------------------------


@pytest.mark.parametrize(
    "mode, bot_actual, da_actual",
    [
        ("downscope", "narrowed to [logs-read, logs-search]", "narrowed to [read-data]"),
        ("reject", "refused: invalid_scope", "refused: invalid_scope"),
    ],
)
def test_unpermitted_scope_reports_what_the_tenant_did(tenant, tmp_path, mode, bot_actual, da_actual):
    control(tenant, "PATCH", "config", {"token.agent.unpermittedScope": mode})
    for stack, app, actual in ((BOT, LOGS_APP, bot_actual), (ASSISTANT, DA_APP, da_actual)):
        code, report, _, _ = verify(tenant, stack, tmp_path)
        assert code == 0
        result = check(report, f"least privilege: unpermitted scope → {app}")
        assert (result["status"], result["actual"]) == ("pass", actual)


def test_agent_only_tokens_without_audience_still_pass_when_no_application_is_reached(tenant, tmp_path):
    control(tenant, "PATCH", "config", {"token.agent.noAudience": "agent-only"})
    code, report, _, _ = verify(tenant, BOT, tmp_path)
    assert code == 0
    result = check(report, "least privilege: exchange without audience")
    # agent-only: no privilege applies, so the privilege's scopes are not the agent's to get either.
    assert (result["status"], result["actual"]) == (
        "pass",
        "refused: invalid_scope (Unknown/invalid scope(s): [logs-read, logs-search])",
    )


# -- on-behalf-of without a test user: skip, never pass ----------------------------------------------


def test_no_test_user_means_skip_with_reason(tenant, tmp_path):
    copy = tmp_path / "digital-assistant"
    shutil.copytree(ASSISTANT, copy)
    (copy / "environments" / "dev.yaml").write_text(
        "tenant: local\nrealm: alpha\nvars:\n  webAppOrigin: http://localhost:8080\n", encoding="utf-8"
    )
    code, report, _, junit = verify(tenant, copy, tmp_path)
    skipped = check(report, f"on-behalf-of → {DA_APP}")
    assert skipped["status"] == "skip"
    assert "no test user configured" in skipped["message"]
    assert report["summary"]["passed"] == 0
    assert code == 1 and report["provedNothing"] and not report["ok"]  # all skipped proves nothing
    assert junit.find(".//skipped") is not None
    code, report, _, _ = verify(tenant, copy, tmp_path, "--allow-skipped")
    assert code == 0 and report["ok"] and report["summary"]["passed"] == 0
