"""The emulator under measurement: start it, drive its control plane, talk to it as an admin.

The emulator runs in a separate process by default (``provisioner emulator serve``) so that its
threads, its injected latency and its SQLite/JSON work do not compete with the measured client for the
GIL. ``mode="inprocess"`` uses ``EmulatorServer`` in this process instead (documented as less
faithful: the server's handler threads share the interpreter with the client).

:class:`AdminSession` is a deliberately plain ``requests`` session with a service-account token. The
naive baseline and the drift injection use it; it shares no code with ``provisioner.client``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests

AM_V1 = "protocol=2.1,resource=1.0"
AM_V2 = "protocol=2.1,resource=2.0"  # AIAgent (reference §6.2)
SA_TOKEN_PATH = "/am/oauth2/access_token"


@dataclass
class Emulator:
    url: str
    service_account: dict[str, Any]  # {"id", "jwk", "jwkFile"}
    process: subprocess.Popen[bytes] | None = None
    server: Any = None  # EmulatorServer when in-process
    workdir: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.server is not None:
            self.server.__exit__(None, None, None)
        if self.workdir is not None:
            self.workdir.cleanup()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _find(data: Any, *names: str) -> Any:
    for name in names:
        if isinstance(data, dict) and name in data:
            return data[name]
    return None


def start_emulator(latency_ms: float, *, mode: str = "subprocess", timeout: float = 30.0) -> Emulator:
    """Start an emulator with injected per-request latency; return its URL and service account."""
    workdir = tempfile.TemporaryDirectory(prefix="bench-emulator-")
    if mode == "inprocess":
        from provisioner.emulator import EmulatorServer

        server = EmulatorServer(port=0, state=None, latency_ms=latency_ms)
        server.__enter__()
        return Emulator(server.url, dict(server.service_account), server=server, workdir=workdir)

    # A state directory makes the emulator write the SA key file the CLI subprocesses need.
    cmd = [
        sys.executable,
        "-m",
        "provisioner",
        "emulator",
        "serve",
        "--port",
        "0",
        "--state",
        str(Path(workdir.name) / "state"),
        "--latency-ms",
        str(int(round(latency_ms))),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the server prints one JSON line once it listens
    if not line:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.kill()
        workdir.cleanup()
        raise RuntimeError(f"emulator did not start: {' '.join(cmd)}\n{err}")
    info = json.loads(line)
    url = _find(info, "url", "URL", "tenant")
    sa = _find(info, "service_account", "serviceAccount") or {}
    sa = {
        "id": _find(sa, "id", "serviceAccountId") or _find(info, "serviceAccountId"),
        "jwk": _find(sa, "jwk"),
        "jwkFile": _find(sa, "jwkFile", "jwk_file") or _find(info, "jwkFile"),
    }
    if sa["jwk"] is None and sa["jwkFile"]:
        sa["jwk"] = json.loads(Path(sa["jwkFile"]).read_text())
    if not url or not sa["id"] or sa["jwk"] is None:
        proc.kill()
        workdir.cleanup()
        raise RuntimeError(f"unexpected emulator start line: {line!r}")
    emu = Emulator(url.rstrip("/"), sa, process=proc, workdir=workdir)
    while time.monotonic() < deadline:  # wait until the control plane answers
        try:
            requests.get(f"{emu.url}/_emulator/stats", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    # Drain stderr in the background would need a thread; the emulator logs little, so close it.
    return emu


def jwk_file(emu: Emulator) -> str:
    """A path to the SA private JWK (the emulator's own file, or one written next to its state)."""
    if emu.service_account.get("jwkFile"):
        return str(emu.service_account["jwkFile"])
    assert emu.workdir is not None
    path = Path(emu.workdir.name) / "sa-jwk.json"
    if not path.exists():
        path.write_text(json.dumps(emu.service_account["jwk"]))
        os.chmod(path, 0o600)
    return str(path)


class Control:
    """``/_emulator/*``: reset, seed, stats."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def reset(self) -> None:
        self.http.post(f"{self.url}/_emulator/reset", json={}, timeout=60).raise_for_status()

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(f"{self.url}/_emulator/seed", json=payload, timeout=120)
        r.raise_for_status()
        return r.json() if r.content else {}

    def configure(self, switches: dict[str, Any]) -> dict[str, Any]:
        r = self.http.patch(f"{self.url}/_emulator/config", json=switches, timeout=30)
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict[str, Any]:
        r = self.http.get(f"{self.url}/_emulator/stats", timeout=30)
        r.raise_for_status()
        return r.json()

    def reset_stats(self) -> None:
        self.http.delete(f"{self.url}/_emulator/stats", timeout=30).raise_for_status()


class AdminSession:
    """Plain ``requests`` against the emulated AM/IDM APIs with one service-account token."""

    def __init__(self, url: str, service_account: dict[str, Any]) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.requests = 0
        key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(service_account["jwk"]))
        now = int(time.time())
        sa_id = service_account["id"]
        assertion = jwt.encode(
            {"iss": sa_id, "sub": sa_id, "aud": self.url + SA_TOKEN_PATH, "exp": now + 180, "jti": str(uuid.uuid4())},
            key,
            algorithm="RS256",
        )
        r = self.http.post(
            self.url + SA_TOKEN_PATH,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "client_id": "service-account",
                "assertion": assertion,
                "scope": "fr:am:* fr:idm:*",
            },
            timeout=30,
        )
        self.requests += 1
        if r.status_code != 200:
            raise RuntimeError(f"service-account token: {r.status_code} {r.text[:300]}")
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def call(
        self, method: str, path: str, *, api: str | None = None, expect: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if api:
            headers["Accept-API-Version"] = api
        r = self.http.request(method, self.url + path, headers=headers, timeout=60, **kwargs)
        self.requests += 1
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r


def am(realm: str, rest: str) -> str:
    return f"/am/json/realms/root/realms/{realm}/{rest}"


def idm(rest: str) -> str:
    return f"/openidm/{rest}"
