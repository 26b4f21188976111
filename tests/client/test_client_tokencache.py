"""Consecutive runs share one service-account token through the token cache (one AM session), and the
cache never sits in the working directory (pipelines upload artifacts from there)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from provisioner.client.auth import ServiceAccountAuth
from provisioner.client.errors import TenantError
from provisioner.client.tokencache import TokenCache
from provisioner.emulator import EmulatorServer
from provisioner.errors import ConfigurationError
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


_RUN = """
import json, sys
from provisioner.tenant import open_tenant
environ = json.loads(sys.argv[1])
with open_tenant(environ.pop("URL"), environ=environ, state_dir=environ.pop("STATE")) as tenant:
    assert tenant.client.am("alpha").list("OAuth2Client") == []
print(json.dumps({"jwt": "jwt" in sys.modules, "cryptography": "cryptography" in sys.modules}))
"""


def _run(server: EmulatorServer, tmp_path: Path, **extra: str) -> dict[str, bool]:
    environ = {**_environ(server, **extra), "URL": server.url, "STATE": str(tmp_path / "s")}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(environ)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_cached_token_needs_no_key_object_nor_the_jwt_library(server: EmulatorServer, tmp_path: Path) -> None:
    """The RSA key object (cryptography, ~0.1 s to import and build) is made only to sign for a token."""
    cache = str(tmp_path / "c" / "token-cache.json")
    assert _run(server, tmp_path, PROVISIONER_TOKEN_CACHE=cache) == {"jwt": True, "cryptography": True}
    assert _run(server, tmp_path, PROVISIONER_TOKEN_CACHE=cache) == {"jwt": False, "cryptography": False}
    assert _tokens(server) == 1


def test_the_key_is_built_when_the_cached_token_is_refused(server: EmulatorServer, tmp_path: Path) -> None:
    account = server.service_account
    cache = TokenCache(tmp_path / "c" / "token-cache.json")
    first = ServiceAccountAuth(account["id"], account["jwk"], server.url, cache=cache)
    with open_tenant(server.url, environ=_environ(server), state_dir=tmp_path / "s") as tenant:
        header = first.authorization(tenant.client)
        later = ServiceAccountAuth(account["id"], account["jwk"], server.url, cache=cache)
        assert later._key is None  # the cached token is taken: nothing to sign
        assert later.authorization(tenant.client) == header
        assert later.invalidate(header)  # a 401 (the token expired or was revoked): sign for a new one
        requests.patch(f"{server.url}/_emulator/config", json={"sa.sessionLimit": 5}, timeout=5).raise_for_status()
        renewed = later.authorization(tenant.client)
        assert later._key is not None and renewed != header


def test_an_unusable_key_is_refused_at_once_unless_a_cached_token_makes_it_unneeded(
    server: EmulatorServer, tmp_path: Path
) -> None:
    account = server.service_account
    broken = {**account["jwk"], "p": account["jwk"]["q"]}  # an RSA key whose parts do not fit together
    with pytest.raises(ConfigurationError, match="not a usable RSA private key"):
        ServiceAccountAuth(account["id"], broken, server.url)
    cache = TokenCache(tmp_path / "c" / "token-cache.json")
    with open_tenant(server.url, environ=_environ(server), state_dir=tmp_path / "s") as tenant:
        header = ServiceAccountAuth(account["id"], account["jwk"], server.url, cache=cache).authorization(tenant.client)
        assert ServiceAccountAuth(account["id"], broken, server.url, cache=cache).authorization(tenant.client) == header
