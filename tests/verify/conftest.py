"""Shared fixture: a fresh emulator with the test user seeded and both example stacks applied."""

from __future__ import annotations

import pytest

from provisioner.emulator import EmulatorServer
from tests.verify.helpers import ASSISTANT, BOT, assert_no_leak, control, demo_env, run_cli


@pytest.fixture
def tenant(tmp_path, monkeypatch):
    """A fresh emulator, test user and group seeded, both stacks applied."""
    with EmulatorServer(port=0, state=tmp_path / "emulator") as server:
        control(
            server,
            "POST",
            "seed",
            {
                "realm": "alpha",
                "users": [{"userName": "demo-user", "password": demo_env(ASSISTANT)["DEMO_USER_PASSWORD"]}],
                "groups": [{"_id": "digital-assistant-users", "members": ["demo-user"]}],
            },
        )
        monkeypatch.setenv("AIC_SERVICE_ACCOUNT_ID", server.service_account["id"])
        monkeypatch.setenv("AIC_SERVICE_ACCOUNT_JWK_FILE", str(server.service_account["jwkFile"]))
        for stack in (BOT, ASSISTANT):
            code, out, err = run_cli(
                [
                    "apply",
                    str(stack),
                    "--env",
                    "dev",
                    "--tenant",
                    server.url,
                    "--env-file",
                    str(stack / "demo.env"),
                    "--auto-approve",
                    "--no-color",
                ]
            )
            assert code == 0, out + err
            assert_no_leak(out, err)
        yield server
