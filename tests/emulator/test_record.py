"""``--record FILE.har``: plan/apply/verify/export write every exchange as HAR 1.2, with no secret in
it, and the file drops straight into the replay test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from provisioner import redact
from provisioner.cli import cli, main
from provisioner.emulator import EmulatorServer
from tests.conftest import _TOOL_VARIABLES
from tests.support import service_account_env

from .replay import load_har, replay

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "manifests" / "bot-traffic-analyzer"
DEMO_ENV = STACK / "demo.env"


@pytest.fixture(scope="module")
def recording_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as running:
        yield running


@pytest.fixture(scope="module")
def recorded(recording_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One run of apply, plan, verify and export against a fresh emulator, each with ``--record``."""
    workdir = tmp_path_factory.mktemp("record")
    shutil.copytree(STACK, workdir / "bot-traffic-analyzer")
    requests.post(recording_server.url + "/_emulator/reset", timeout=10).raise_for_status()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in _TOOL_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(workdir)
        monkeypatch.setenv("PROVISIONER_TOKEN_CACHE", "off")
        with service_account_env(recording_server.service_account, monkeypatch):
            common = ["--tenant", recording_server.url, "--env-file", str(DEMO_ENV)]
            for args in (
                ["apply", "bot-traffic-analyzer", *common, "--auto-approve", "--record", "apply.har"],
                ["plan", "bot-traffic-analyzer", *common, "--record", "plan.har"],
                ["verify", "bot-traffic-analyzer", *common, "--record", "verify.har"],
                ["export", "--tenant", recording_server.url, "--out", "exported", "--record", "export.har"],
            ):
                result = _run(*args)
                assert result.exit_code == 0, (args[0], result.output)
    yield workdir


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def _secrets_of_the_run(account: dict[str, Any]) -> set[str]:
    """Every secret value this process saw: the manifests' client secrets, the service account's
    private key, and every token the tenant issued (the client registers each one it reads)."""
    values = set(redact.registered())
    for line in DEMO_ENV.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            values.add(line.split("=", 1)[1].strip())
    values |= {str(v) for k, v in account["jwk"].items() if k in ("d", "p", "q", "dp", "dq", "qi")}
    return {v for v in values if len(v) >= 8}


def _check_har(path: Path) -> dict[str, Any]:
    doc = load_har(path)  # log.version 1.2, entries[].request/response
    log = doc["log"]
    assert log["creator"]["name"] == "provisioner"
    for entry in log["entries"]:
        assert entry["startedDateTime"].endswith("Z")
        assert {"method", "url", "httpVersion", "headers", "queryString", "cookies"} <= set(entry["request"])
        assert {"status", "statusText", "headers", "content", "cookies", "redirectURL"} <= set(entry["response"])
        assert entry["request"]["url"].startswith("http://127.0.0.1:")
    return doc


def test_plan_apply_verify_export_record_har_without_any_secret(
    recording_server: EmulatorServer, recorded: Path
) -> None:
    account = recording_server.service_account
    workdir = recorded
    docs = {name: _check_har(workdir / name) for name in ("apply.har", "plan.har", "verify.har", "export.har")}
    apply_methods = [(e["request"]["method"], e["response"]["status"]) for e in docs["apply.har"]["log"]["entries"]]
    assert ("POST", 200) in apply_methods  # the admin token request
    assert apply_methods.count(("PUT", 201)) >= 3  # agent, application client, privilege …
    token_calls = [
        e
        for e in docs["verify.har"]["log"]["entries"]
        if e["request"]["url"].endswith("/am/oauth2/realms/root/realms/alpha/access_token")
    ]
    assert len(token_calls) >= 2  # client credentials and token exchange, with the agent's secret
    assert all(
        e["request"]["postData"]["text"].count("%28sensitive%29") >= 1
        or any(h["name"].lower() == "authorization" for h in e["request"]["headers"])
        for e in token_calls
    )
    plan_urls = [e["request"]["url"] for e in docs["plan.har"]["log"]["entries"]]
    assert any(u.endswith("/realm-config/services/oauth-oidc") for u in plan_urls)

    # the credentials really went over the wire, and only their masks reached the files
    token_request = next(
        e for e in docs["apply.har"]["log"]["entries"] if e["request"]["url"].endswith("/am/oauth2/access_token")
    )
    assert "assertion=%28sensitive%29" in token_request["request"]["postData"]["text"]
    assert json.loads(token_request["response"]["content"]["text"])["access_token"] == redact.MASK
    authorizations = [
        h["value"]
        for d in docs.values()
        for e in d["log"]["entries"]
        for h in e["request"]["headers"]
        if h["name"].lower() == "authorization"
    ]
    assert authorizations and set(authorizations) == {redact.MASK}

    secrets = _secrets_of_the_run(account)
    assert len(secrets) >= 3  # the two client secrets, the key, the tokens: the scan is not vacuous
    for name in docs:
        text = (workdir / name).read_text(encoding="utf-8")
        for secret in secrets:
            for form in redact.forms(secret):
                assert form not in text, f"{name} holds a secret (in an encoded form)"


def test_a_recorded_plan_replays_key_for_key(recording_server: EmulatorServer, recorded: Path) -> None:
    workdir = recorded
    for name in ("plan.har", "apply.har", "export.har"):  # reads of existing objects: the replay seeds them
        result = replay(workdir / name, recording_server.url, recording_server.service_account)
        assert result.exchanges >= 6, name
        assert not result.differences, "\n".join(str(d) for d in result.differences)


def test_record_into_a_missing_folder_is_a_usage_error_before_any_request(
    recording_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(STACK, tmp_path / "bot-traffic-analyzer")
    requests.delete(recording_server.url + "/_emulator/stats", timeout=10)
    with service_account_env(recording_server.service_account, monkeypatch):
        code = main(
            [
                "plan",
                "bot-traffic-analyzer",
                "--tenant",
                recording_server.url,
                "--env-file",
                str(DEMO_ENV),
                "--record",
                "no/such/folder/plan.har",
            ]
        )
    assert code == 1
    err = capsys.readouterr().err
    assert "--record no/such/folder/plan.har: cannot write a HAR file there" in err
    assert "Traceback" not in err
    assert requests.get(recording_server.url + "/_emulator/stats", timeout=10).json()["total"] == 0
