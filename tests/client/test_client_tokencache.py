"""Consecutive runs share one service-account token through the token cache (one AM session), and the
cache never sits in the working directory (pipelines upload artifacts from there)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from provisioner.client.errors import TenantError
from provisioner.emulator import EmulatorServer
from provisioner.tenant import open_tenant


def _environ(server: EmulatorServer, **extra: str) -> dict[str, str]:
    return {
        "AIC_SERVICE_ACCOUNT_ID": server.service_account["id"],
        "AIC_SERVICE_ACCOUNT_JWK_FILE": server.service_account["jwkFile"],
        **extra,
    }


@pytest.fixture()
def server(tmp_path: Path):
    with EmulatorServer(port=0, state=str(tmp_path / "emulator")) as srv:
        # One session only: a second token request would be refused ("Session quota exceeded").
        requests.patch(f"{srv.url}/_emulator/config", json={"sa.sessionLimit": 1}, timeout=5).raise_for_status()
        yield srv


def _tokens(server: EmulatorServer) -> int:
    return int(requests.get(f"{server.url}/_emulator/stats", timeout=5).json().get("tokens", 0))


def test_second_run_reuses_the_cached_token(server: EmulatorServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "token-cache.json"
    for _ in range(3):
        with open_tenant(
            server.url, environ=_environ(server, PROVISIONER_TOKEN_CACHE=str(cache)), state_dir=tmp_path / "run-state"
        ) as tenant:
            assert tenant.client.am("alpha").list("OAuth2Client") == []
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert _tokens(server) == 1


def test_the_default_cache_is_per_user_not_in_the_working_directory(server: EmulatorServer, tmp_path: Path) -> None:
    state = tmp_path / "work" / ".provisioner"
    environ = _environ(server, XDG_CACHE_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"))
    for _ in range(2):
        with open_tenant(server.url, environ=environ, state_dir=state) as tenant:
            tenant.client.am("alpha").list("OAuth2Client")
    cache = tmp_path / "xdg" / "provisioner" / "token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert not (state / "token-cache.json").exists()
    assert _tokens(server) == 1


def test_under_ci_tokens_stay_in_memory(server: EmulatorServer, tmp_path: Path) -> None:
    environ = _environ(server, CI="true", XDG_CACHE_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"))
    for _ in range(2):  # one process: the second open reuses the token from memory
        with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
            tenant.client.am("alpha").list("OAuth2Client")
    assert _tokens(server) == 1
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "emulator" not in p.parts]
    assert written == [], f"a CI run wrote a token cache: {written}"


def test_without_the_cache_each_run_opens_a_session(server: EmulatorServer, tmp_path: Path) -> None:
    environ = _environ(server, PROVISIONER_TOKEN_CACHE="off")
    with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
        tenant.client.am("alpha").list("OAuth2Client")
    with pytest.raises(TenantError, match="Session quota exceeded .not a key problem"):
        with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
            tenant.client.am("alpha").list("OAuth2Client")


def test_a_cache_readable_by_others_is_ignored(server: EmulatorServer, tmp_path: Path) -> None:
    cache = tmp_path / "c" / "token-cache.json"
    environ = _environ(server, PROVISIONER_TOKEN_CACHE=str(cache))
    with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
        tenant.client.am("alpha").list("OAuth2Client")
    cache.chmod(0o644)
    with pytest.raises(TenantError, match="Session quota exceeded"):
        with open_tenant(server.url, environ=environ, state_dir=tmp_path / "s") as tenant:
            tenant.client.am("alpha").list("OAuth2Client")


def test_local_runs_share_one_session_across_restarts(tmp_path: Path) -> None:
    """The embedded emulator restarts on a new port every run; its token is reused all the same (also
    under CI: the token is the local tenant's own and lives in its state folder)."""
    environ = {"CI": "true"}
    state = tmp_path / ".provisioner"
    for _ in range(6):  # more than the five sessions a service account may hold
        with open_tenant("local", environ=environ, state_dir=state) as tenant:
            tenant.client.am("alpha").list("OAuth2Client")
    cache = state / "emulator" / "token-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
