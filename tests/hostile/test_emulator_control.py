"""Item 6: the emulator's control plane is closed to web pages, DNS rebinding and regex bombs; its
state files are private.

Each case uses a real emulator on a loopback socket and raw HTTP (``requests`` with the headers a
browser would send), then checks that the state did not change.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
import requests

from provisioner.emulator import EmulatorServer

SEED = {"realm": "alpha", "users": [{"userName": "mallory-user", "password": "Mallory-Passw0rd-1"}]}


@pytest.fixture(scope="module")
def server():
    with EmulatorServer() as running:
        yield running


def _users(server: EmulatorServer) -> str:
    return json.dumps(requests.get(server.url + "/_emulator/state", timeout=5).json())


def _check(response: requests.Response, status: int, message: str, started: float) -> None:
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert "Traceback" not in response.text
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("origin", ["https://evil.example", "http://evil.example:8080", "null"])
def test_a_cross_origin_seed_is_refused(server: EmulatorServer, origin: str) -> None:
    started = time.perf_counter()
    response = requests.post(
        server.url + "/_emulator/seed",
        data=json.dumps(SEED),
        timeout=5,
        headers={"Origin": origin, "Content-Type": "text/plain"},
    )
    _check(response, 403, "cross-origin requests to the emulator's control plane are refused", started)
    assert "mallory-user" not in _users(server)


def test_a_cross_origin_reset_without_a_body_is_refused(server: EmulatorServer) -> None:
    started = time.perf_counter()
    response = requests.post(
        server.url + "/_emulator/reset",
        timeout=5,
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    _check(response, 403, "cross-origin requests to the emulator's control plane are refused", started)


def test_a_simple_form_post_without_origin_is_refused_for_its_content_type(server: EmulatorServer) -> None:
    started = time.perf_counter()
    response = requests.post(
        server.url + "/_emulator/seed", data=json.dumps(SEED), timeout=5, headers={"Content-Type": "text/plain"}
    )
    _check(response, 415, "the emulator's control plane takes JSON bodies only", started)
    assert "mallory-user" not in _users(server)


@pytest.mark.parametrize("path", ["/_emulator/state", "/am/json/serverinfo/*"])
def test_a_foreign_host_header_is_refused(server: EmulatorServer, path: str) -> None:
    """DNS rebinding: the page's own name arrives in ``Host``; the emulator answers loopback names only."""
    started = time.perf_counter()
    response = requests.get(server.url + path, timeout=5, headers={"Host": "rebind.evil.example"})
    _check(response, 403, "the emulator answers only requests addressed to a loopback host", started)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_hosts_and_the_tools_own_requests_still_work(server: EmulatorServer, host: str) -> None:
    response = requests.get(server.url + "/_emulator/stats", timeout=5, headers={"Host": f"{host}:{server.port}"})
    assert response.status_code == 200
    assert requests.post(server.url + "/_emulator/seed", json={"realm": "alpha", "users": []}, timeout=5).ok
    assert requests.delete(server.url + "/_emulator/stats", timeout=5).ok
    same_origin = {"Origin": server.url, "Content-Type": "application/json"}
    assert requests.patch(server.url + "/_emulator/config", data="{}", headers=same_origin, timeout=5).ok


@pytest.mark.parametrize(
    "pattern, problem",
    [
        ("(a+)+$", "a repetition inside a repetition"),
        ("(a|aa)*$", "an alternation inside a repetition"),
        (".*a.*a.*b", "more than one unbounded repetition"),
        (r"(x)\1", "a back-reference"),
        ("a" * 201, "longer than 200 characters"),
    ],
)
def test_regex_bomb_fault_rules_are_refused(server: EmulatorServer, pattern: str, problem: str) -> None:
    started = time.perf_counter()
    response = requests.put(server.url + "/_emulator/faults", json=[{"path": pattern, "action": "status"}], timeout=5)
    _check(response, 400, problem, started)
    started = time.perf_counter()  # and the emulator still answers at once
    assert requests.get(server.url + "/am/json/serverinfo/" + "a" * 3000, timeout=5).status_code in (200, 401, 404)
    assert time.perf_counter() - started < 2.0


def test_a_literal_fault_rule_still_fires(server: EmulatorServer) -> None:
    rule = {"path": "/am/json/serverinfo/version$", "action": "status", "status": 503, "count": 1}
    assert requests.put(server.url + "/_emulator/faults", json=[rule], timeout=5).ok
    assert requests.get(server.url + "/am/json/serverinfo/version", timeout=5).status_code == 503
    requests.delete(server.url + "/_emulator/faults", timeout=5)


def test_state_files_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with EmulatorServer(state=state) as running:
        requests.post(running.url + "/_emulator/seed", json={"realm": "alpha", "users": []}, timeout=5)
        names = sorted(p.name for p in state.iterdir())
        modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in state.iterdir()}
    assert "emulator.db" in names and "service-account.json" in names
    assert all(mode == 0o600 for mode in modes.values()), modes
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with EmulatorServer(state=state):
        pass
    os.chmod(state / "emulator.db", 0o644)
    with EmulatorServer(state=state):
        assert stat.S_IMODE(os.stat(state / "emulator.db").st_mode) == 0o600
