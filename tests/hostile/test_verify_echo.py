"""Item 3, end to end: a token endpoint whose error quotes the request form (``client_secret=…``,
form-encoded) does not get the secret into verify's table, JSON output or JUnit file.

The example stack is applied to a real emulator with a secret full of characters that encoding
changes; a fault rule then makes the realm's token endpoint answer with the form-encoded secret in
``error_description``, as the probed tenant did.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import requests

from provisioner.emulator import EmulatorServer
from tests import leakcheck
from tests.verify.helpers import BOT, run_cli

SPECIAL = 'Sp3c!al+/=&"\\<>é-verify-echo-1'


@pytest.fixture
def echoing_tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    leakcheck.add_secret(SPECIAL)
    monkeypatch.setenv("BOT_AGENT_SECRET", SPECIAL)  # the environment wins over demo.env
    with EmulatorServer(port=0, state=tmp_path / "emulator") as server:
        monkeypatch.setenv("AIC_SERVICE_ACCOUNT_ID", server.service_account["id"])
        monkeypatch.setenv("AIC_SERVICE_ACCOUNT_JWK_FILE", str(server.service_account["jwkFile"]))
        code, out, err = run_cli(
            [
                "apply",
                str(BOT),
                "--tenant",
                server.url,
                "--env-file",
                str(BOT / "demo.env"),
                "--auto-approve",
                "--no-color",
            ]
        )
        assert code == 0, out + err
        echo = {
            "error": "invalid_client",
            "error_description": f"Client authentication failed: client_secret={quote_plus(SPECIAL)}&"
            f"raw={json.dumps(SPECIAL)}",
        }
        rule = {"path": "/realms/alpha/access_token$", "action": "respond", "status": 401, "body": echo}
        assert requests.put(server.url + "/_emulator/faults", json=[rule], timeout=10).ok
        yield server


def test_verify_output_json_and_junit_hold_no_encoded_secret(echoing_tenant: EmulatorServer, tmp_path: Path) -> None:
    junit = tmp_path / "verify.xml"
    started = time.perf_counter()
    code, out, err = run_cli(
        [
            "verify",
            str(BOT),
            "--tenant",
            echoing_tenant.url,
            "--env-file",
            str(BOT / "demo.env"),
            "--format",
            "json",
            "--junit",
            str(junit),
            "--no-color",
        ]
    )
    assert time.perf_counter() - started < 30
    assert code == 1, out + err
    written = junit.read_text(encoding="utf-8")
    everything = out + err + written
    assert "client_secret=(sensitive)" in everything and "Traceback" not in everything
    assert "refused: invalid_client (Client authentication failed: client_secret=(sensitive)" in out
    for spelling, encoding in leakcheck.encoded_forms(SPECIAL).items():
        assert spelling not in everything, f"the secret leaked {encoding}"
