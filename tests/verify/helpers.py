"""Test helpers: an admin REST session (service-account JWT-bearer grant) for breaking things on
purpose, the emulator control plane, and the CLI runs (apply, verify) with their captured output.

Nothing here mocks ``requests``: every call goes over a real socket to ``EmulatorServer``.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import requests

from provisioner import cli
from tests import leakcheck
from tests.support import admin_token

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "manifests" / "bot-traffic-analyzer"
ASSISTANT = ROOT / "manifests" / "digital-assistant"
REALM = "alpha"
AM = f"/am/json/realms/root/realms/{REALM}"
IDM = "/openidm"


def demo_env(stack: Path) -> dict[str, str]:
    """The ``demo.env`` values of an example stack."""
    values = {}
    for line in (stack / "demo.env").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def assert_no_leak(*texts: str) -> None:
    """No demo.env value and no JWT anywhere in what the tool wrote."""
    values = set(demo_env(BOT).values()) | set(demo_env(ASSISTANT).values())
    for text in texts:
        for value in values:
            assert value not in text, "a demo.env secret leaked into the output"
        assert not re.search(r"eyJ[A-Za-z0-9_-]{5,}", text), "a JWT leaked into the output"


class Admin:
    """Raw admin REST calls against the emulator with a service-account token (reference §2)."""

    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = "Bearer " + admin_token(server.url, server.service_account)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        if "/AIAgent" in path:
            headers.setdefault("Accept-API-Version", "protocol=2.1,resource=2.0")
        elif path.startswith("/am/json"):
            headers.setdefault("Accept-API-Version", "protocol=2.1,resource=1.0")
        response = self.session.request(method, self.url + path, json=body, headers=headers, timeout=10)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    # -- breaking things -----------------------------------------------------------------------------

    def provider(self) -> dict[str, Any]:
        return self.call("GET", f"{AM}/realm-config/services/oauth-oidc")

    def put_provider(self, doc: dict[str, Any]) -> None:
        doc = {k: v for k, v in doc.items() if k != "_rev"}
        self.call("PUT", f"{AM}/realm-config/services/oauth-oidc", doc)

    def agent(self, client_id: str) -> dict[str, Any]:
        return self.call("GET", f"{AM}/realm-config/agents/AIAgent/{client_id}")

    def put_agent(self, client_id: str, doc: dict[str, Any]) -> None:
        doc = {k: v for k, v in doc.items() if k not in ("_id", "_rev")}
        self.call("PUT", f"{AM}/realm-config/agents/AIAgent/{client_id}", doc)

    def privileges(self, agent_client_id: str) -> list[dict[str, Any]]:
        query = f'agentOAuth2ClientId eq "{agent_client_id}"'
        body = self.call(
            "GET",
            f"{IDM}/managed/{REALM}_aiagentprivilege?_queryFilter={requests.utils.quote(query)}"
            f"&_fields=_id,permissions,agentOAuth2ClientId,resourceData",
        )
        return body["result"]

    def patch_privilege(self, privilege_id: str, ops: list[dict[str, Any]]) -> None:
        self.call("PATCH", f"{IDM}/managed/{REALM}_aiagentprivilege/{privilege_id}", ops)


def control(server: Any, method: str, what: str, body: Any = None) -> Any:
    response = requests.request(method, f"{server.url}/_emulator/{what}", json=body, timeout=10)
    assert response.ok, f"{method} /_emulator/{what}: {response.status_code} {response.text[:300]}"
    return response.json()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``provisioner.cli.main(argv)`` with stdout/stderr captured (click writes to sys.stdout/err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    leakcheck.record(f"cli:{' '.join(argv[:2])}", out.getvalue())
    leakcheck.record(f"cli:{' '.join(argv[:2])}", err.getvalue())
    return code, out.getvalue(), err.getvalue()
