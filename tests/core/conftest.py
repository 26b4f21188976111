"""Core fixtures: a real emulator on a loopback socket, admin credentials in the environment, the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from provisioner.cli import main
from provisioner.emulator import EmulatorServer
from tests.support import service_account_env

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "manifests" / "bot-traffic-analyzer"
DEMO_ENV = BOT / "demo.env"
AGENT = "bot-traffic-analyzer-agent"
APP = "web-server-logs-api-app"


class Tenant:
    """A test's handle on the emulator: url, stats, seeding, and an admin client for direct REST edits."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.url = server.url

    def stats(self) -> dict[str, Any]:
        return requests.get(self.url + "/_emulator/stats", timeout=10).json()

    def reset_stats(self) -> None:
        requests.delete(self.url + "/_emulator/stats", timeout=10)

    def seed(self, body: dict[str, Any]) -> None:
        response = requests.post(self.url + "/_emulator/seed", json=body, timeout=10)
        assert response.status_code < 300, response.text

    def admin(self) -> Any:
        """An open provisioner Tenant (real client) for direct REST changes."""
        import os

        from provisioner.tenant import open_tenant

        return open_tenant(self.url, environ=dict(os.environ))


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Keyword arguments for the test's EmulatorServer (override in a test module)."""
    return {}


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator_options: dict[str, Any]) -> Iterator[Tenant]:
    with EmulatorServer(port=0, **emulator_options) as server, service_account_env(server.service_account, monkeypatch):
        monkeypatch.chdir(tmp_path)
        # Every CLI run in a test is a new process-level token (a new AM session); the 5-session quota
        # of a real service account is the client's concern, not these tests'.
        requests.patch(server.url + "/_emulator/config", json={"sa.sessionLimitMode": "off"}, timeout=10)
        yield Tenant(server)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the CLI in-process: returns ``(exit code, stdout, stderr)``."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def bot_args(tenant: Tenant, *extra: str) -> list[str]:
    return [str(BOT), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), *extra]


def demo_secrets() -> dict[str, str]:
    out = {}
    for line in DEMO_ENV.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out
