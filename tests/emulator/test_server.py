"""Server-level behaviour: persistence, concurrency, keep-alive, fault injection, stats, latency, CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from provisioner.emulator import EmulatorServer

from .conftest import AM_V1, AM_V2, Emu, admin_token


def _headers(server: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(server)}", "Accept-API-Version": AM_V2}


def test_state_survives_restart(tmp_path) -> None:
    state = tmp_path / "state"
    with EmulatorServer(state=state) as first:
        sa = first.service_account
        assert sa["jwkFile"] == str(state / "service-account.json")
        assert stat.S_IMODE(os.stat(sa["jwkFile"]).st_mode) == 0o600
        assert json.loads((state / "service-account.json").read_text()) == sa["jwk"]
        headers = _headers(first)
        url = f"{first.url}/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/persisted"
        created = requests.put(url, json={"coreOAuth2ClientConfig": {"userpassword": "s"}}, headers=headers, timeout=10)
        assert created.status_code == 201
        token = headers["Authorization"]
    assert (state / "emulator.db").exists()
    with EmulatorServer(state=state) as second:
        assert second.service_account["id"] == sa["id"] and second.service_account["jwk"] == sa["jwk"]
        url = f"{second.url}/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/persisted"
        # the signing key persisted too: the old token still works
        again = requests.get(url, headers={"Authorization": token, "Accept-API-Version": AM_V2}, timeout=10)
        assert again.status_code == 200 and again.json() == created.json()
        uid = again.json()["aiAgentIdentityUid"]["value"]
        ident = requests.get(
            f"{second.url}/openidm/managed/alpha_aiagent/{uid}", headers={"Authorization": token}, timeout=10
        )
        assert ident.status_code == 200
        assert second.backend.view.oauth_client("alpha", "persisted")["secret"] == "s"


def test_concurrent_writers_never_corrupt_state(emu: Emu) -> None:
    def writer(n: int) -> list[int]:
        session = requests.Session()
        session.headers.update(emu.session.headers)
        statuses = []
        for i in range(10):
            r = session.put(
                emu.idm(f"managed/alpha_application/app-{n}-{i}"), json={"name": f"app {n} {i}"}, timeout=30
            )
            statuses.append(r.status_code)
            r = session.patch(
                emu.idm(f"managed/alpha_application/app-{n}-{i}"),
                json=[{"operation": "replace", "field": "/description", "value": str(n)}],
                timeout=30,
            )
            statuses.append(r.status_code)
        return statuses

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(writer, range(8)))
    assert all(s in (200, 201) for statuses in results for s in statuses)
    listed = emu.request("GET", emu.idm("managed/alpha_application"), params={"_queryFilter": "true"}).json()
    assert listed["resultCount"] == 80
    revs = [item["_rev"] for item in listed["result"]]
    assert len(set(revs)) == 80  # one tenant-wide counter: no two writes share a rev

    # concurrent creates of one name: exactly one wins (UNIQUE), the rest are 403
    def create(_: int) -> int:
        return requests.post(
            emu.idm("managed/alpha_application?_action=create"),
            json={"name": "contested"},
            headers=dict(emu.session.headers),
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(create, range(8)))
    assert codes.count(201) == 1 and codes.count(403) == 7


def test_200_concurrent_requests_over_keep_alive(emu: Emu) -> None:
    local = threading.local()

    def call(i: int) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update(emu.session.headers)
        if i % 4 == 0:
            r = local.session.put(emu.idm(f"managed/alpha_user/u{i}"), json={"userName": f"u{i}"}, timeout=30)
        else:
            r = local.session.get(
                emu.am("realm-config/services/oauth-oidc"), headers={"Accept-API-Version": AM_V1}, timeout=30
            )
        return r.status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(call, range(200)))
    assert codes.count(201) == 50 and codes.count(200) == 150


def test_fault_429_carries_retry_after(emu: Emu) -> None:
    emu.control(
        "PUT",
        "faults",
        [
            {
                "path": "/openidm/managed/alpha_user",
                "method": "GET",
                "action": "status",
                "status": 429,
                "retryAfter": 7,
                "count": 1,
            }
        ],
    )
    url = emu.idm("managed/alpha_user")
    first = emu.request("GET", url, params={"_queryFilter": "true"})
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert first.json()["code"] == 429
    assert emu.request("GET", url, params={"_queryFilter": "true"}).status_code == 200  # count exhausted
    rules = emu.control("GET", "faults")["rules"]
    assert rules[0]["fired"] == 1
    emu.control(
        "PUT", "faults", [{"path": "oauth-oidc", "action": "status", "status": 503, "probability": 0.5, "seed": 42}]
    )
    codes = [
        emu.request(
            "GET", emu.am("realm-config/services/oauth-oidc"), headers={"Accept-API-Version": AM_V1}
        ).status_code
        for _ in range(40)
    ]
    assert 0 < codes.count(503) < 40 and set(codes) == {200, 503}
    emu.control("DELETE", "faults")
    assert emu.control("GET", "faults") == {"rules": []}


def test_drop_after_commits_and_drop_before_does_not(emu: Emu) -> None:
    url = emu.idm("managed/alpha_application/dropped")
    emu.control("PUT", "faults", [{"path": "/dropped$", "method": "PUT", "action": "drop-after", "count": 1}])
    with pytest.raises(requests.ConnectionError):
        requests.put(url, json={"name": "after"}, headers=dict(emu.session.headers), timeout=10)
    assert emu.request("GET", url).json()["name"] == "after"
    url2 = emu.idm("managed/alpha_application/dropped2")
    emu.control("PUT", "faults", [{"path": "/dropped2$", "method": "PUT", "action": "drop-before", "count": 1}])
    with pytest.raises(requests.ConnectionError):
        requests.put(url2, json={"name": "before"}, headers=dict(emu.session.headers), timeout=10)
    assert emu.request("GET", url2).status_code == 404


def test_stats_count_reads_writes_and_tokens(emu: Emu) -> None:
    emu.control("DELETE", "stats")
    emu.request("GET", emu.am("realm-config/services/oauth-oidc"), headers={"Accept-API-Version": AM_V1})
    emu.new_agent("counted")
    emu.get_agent("AIAgent", "counted")
    emu.request("GET", emu.idm("managed/alpha_user"), params={"_queryFilter": "true"})
    admin_token(emu.server)
    emu.control("GET", "state")  # control plane: not counted
    stats = emu.control("GET", "stats")
    assert stats["total"] == 4 and stats["reads"] == 3 and stats["writes"] == 1 and stats["tokens"] == 1
    assert stats["byMethod"] == {"GET": 3, "PUT": 1}
    assert stats["byRoute"] == {
        "GET am/agents/AIAgent": 1,
        "GET am/provider": 1,
        "GET idm/managed/user": 1,
        "PUT am/agents/AIAgent": 1,
    }
    assert emu.control("DELETE", "stats")["total"] == 0


def test_control_plane_seed_state_config_reset(emu: Emu) -> None:
    seeded = emu.seed(
        users=[{"userName": "alice", "password": "pw", "_id": "alice-id", "givenName": "Alice"}],
        groups=[{"_id": "team", "members": ["alice"]}],
    )
    assert seeded["users"] == [{"_id": "alice-id", "userName": "alice"}]
    view = emu.server.backend.view
    assert view.user_by_username("alpha", "alice")["password"] == "pw"
    assert view.user("alpha", "alice-id")["givenName"] == "Alice"
    dump = emu.control("GET", "state")
    assert dump["objects"]["idm:alpha_user"]["alice-id"]["password"] == "***"
    config = emu.control("GET", "config")
    assert config["sa.sessionLimit"] == 5 and config["am.provider.putMode"] == "replace"
    assert config["token.enforceAuthMethod"] is True and config["feature.aiagents"] == "enabled"
    bad = requests.patch(f"{emu.url}/_emulator/config", json={"no.such": 1}, timeout=5)
    assert bad.status_code == 400
    assert emu.control("PATCH", "config", {"am.provider.putMode": "merge"})["am.provider.putMode"] == "merge"
    emu.control("POST", "reset")
    assert emu.control("GET", "config")["am.provider.putMode"] == "replace"
    assert view.user("alpha", "alice-id") is None


def test_global_latency() -> None:
    # A long latency, so that a loaded machine cannot make the control plane look delayed.
    with EmulatorServer(latency_ms=1000, realms=("alpha",)) as server:
        headers = _headers(server)
        start = time.monotonic()
        requests.get(f"{server.url}/openidm/managed/alpha_user?_queryFilter=true", headers=headers, timeout=10)
        assert time.monotonic() - start >= 1.0
        start = time.monotonic()
        requests.get(f"{server.url}/_emulator/stats", timeout=10)
        assert time.monotonic() - start < 1.0


def test_cli_serve_prints_one_json_line_and_serves(tmp_path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisioner",
            "emulator",
            "serve",
            "--port",
            "0",
            "--state",
            str(tmp_path),
            "--realm",
            "alpha",
            "--option",
            "sa.sessionLimit=7",
            "--ai-agents",
            "disabled",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        info = json.loads(line)
        assert set(info) == {"url", "serviceAccount"} and set(info["serviceAccount"]) == {"id", "jwkFile"}
        assert info["serviceAccount"]["jwkFile"] == str(tmp_path / "service-account.json")
        config = requests.get(info["url"] + "/_emulator/config", timeout=10).json()
        assert config["sa.sessionLimit"] == 7 and config["feature.aiagents"] == "disabled"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the one line


def test_cli_rejects_bad_options(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provisioner", "emulator", "serve", "--option", "nope=1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "unknown emulator option" in result.stderr and result.stdout == ""
