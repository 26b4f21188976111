"""Consecutive runs share one service-account token through the on-disk cache (one AM session)."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from provisioner.client.errors import TenantError
from provisioner.emulator import EmulatorServer
from provisioner.tenant import open_tenant


def _environ(server: EmulatorServer, **extra: str) -> dict[str, str]:
    return {"AIC_SERVICE_ACCOUNT_ID": server.service_account["id"],
            "AIC_SERVICE_ACCOUNT_JWK_FILE": server.service_account["jwkFile"], **extra}


@pytest.fixture()
def server(tmp_path: Path):
    with EmulatorServer(port=0, state=str(tmp_path / "emulator")) as srv:
        # One session only: a second token request would be refused ("Session quota exceeded").
        requests.patch(f"{srv.url}/_emulator/config", json={"sa.sessionLimit": 1}, timeout=5).raise_for_status()
        yield srv


def test_second_run_reuses_the_cached_token(server: EmulatorServer, tmp_path: Path) -> None:
    state = tmp_path / "run-state"
    for _ in range(3):
        with open_tenant(server.url, environ=_environ(server), state_dir=state) as tenant:
            assert tenant.client.am("alpha").list("OAuth2Client") == []
    cache = state / "token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    stats = requests.get(f"{server.url}/_emulator/stats", timeout=5).json()
    assert stats.get("tokens", 0) == 1


def test_without_the_cache_each_run_opens_a_session(server: EmulatorServer, tmp_path: Path) -> None:
    environ = _environ(server, PROVISIONER_TOKEN_CACHE="off")
    with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
        tenant.client.am("alpha").list("OAuth2Client")
    with pytest.raises(TenantError, match="Session quota exceeded"):
        with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
            tenant.client.am("alpha").list("OAuth2Client")


def test_a_cache_readable_by_others_is_ignored(server: EmulatorServer, tmp_path: Path) -> None:
    state = tmp_path / "s"
    with open_tenant(server.url, environ=_environ(server), state_dir=state) as tenant:
        tenant.client.am("alpha").list("OAuth2Client")
    cache = state / "token-cache.json"
    cache.chmod(0o644)
    with pytest.raises(TenantError, match="Session quota exceeded"):
        with open_tenant(server.url, environ=_environ(server), state_dir=state) as tenant:
            tenant.client.am("alpha").list("OAuth2Client")
