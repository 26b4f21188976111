"""The target of the ``contract`` tests: the emulator by default, a real tenant with ``--tenant-url``.

Contract tests use only the documented API (no control plane), through the product's own client,
so the same assertions hold against both. Every object they create is named with this run's
``prefix`` and deleted in a ``finally`` (:meth:`ContractTenant.cleanup`), on a real tenant as on
the emulator.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from provisioner.client import TenantClient
from provisioner.client.credentials import resolve_credentials
from provisioner.client.response import Response

AM_V1 = "protocol=2.1,resource=1.0"
AM_V2 = "protocol=2.1,resource=2.0"


class ContractTenant:
    def __init__(self, client: TenantClient, realm: str, emulated: bool) -> None:
        self.client = client
        self.realm = realm
        self.emulated = emulated
        self.prefix = f"provisioner-contract-{uuid.uuid4().hex[:8]}-"
        self._cleanups: list[Callable[[], Any]] = []

    def name(self, suffix: str) -> str:
        return self.prefix + suffix

    def am_path(self, rest: str) -> str:
        return f"/am/json/realms/root/realms/{self.realm}/{rest}"

    def agent_path(self, kind: str, client_id: str = "") -> str:
        return self.am_path(f"realm-config/agents/{kind}" + (f"/{client_id}" if client_id else ""))

    def call(self, method: str, path: str, *, version: str = "", **kwargs: Any) -> Response:
        return self.client.request(method, path, api_version=version, raise_errors=False, **kwargs)

    def put_agent(self, kind: str, client_id: str, body: dict[str, Any]) -> Response:
        """Create an agent (GET 404 then PUT, as on a tenant) and register its deletion."""
        version = AM_V2 if kind == "AIAgent" else AM_V1
        path = self.agent_path(kind, client_id)
        assert client_id.startswith(self.prefix), "contract tests only create prefixed objects"
        self._cleanups.append(lambda: self.call("DELETE", path, version=version))
        response = self.call("PUT", path, version=version, json=body)
        uid = (response.body or {}).get("aiAgentIdentityUid") if isinstance(response.body, dict) else None
        if isinstance(uid, dict) and isinstance(uid.get("value"), str):  # in case deletes do not cascade
            self.cleanup_idm(f"{self.realm}_aiagent", uid["value"], first=True)
        return response

    def idm_path(self, rest: str) -> str:
        return f"/openidm/{rest}"

    def put_idm(self, type_name: str, oid: str, body: dict[str, object]) -> Response:
        """Create an IDM object with a chosen id (``If-None-Match: *``) and register its deletion."""
        self.cleanup_idm(type_name, oid)
        return self.call("PUT", self.idm_path(f"managed/{type_name}/{oid}"), json=body, headers={"If-None-Match": "*"})

    def cleanup_idm(self, type_name: str, oid: str, *, first: bool = False) -> None:
        """Delete ``managed/type_name/oid`` at the end (``first``: after everything registered so far, e.g. an
        agent's identity after the agent)."""

        def undo() -> Response:
            return self.call("DELETE", self.idm_path(f"managed/{type_name}/{oid}"))

        if first:
            self._cleanups.insert(0, undo)
        else:
            self._cleanups.append(undo)

    def cleanup(self) -> None:
        for undo in reversed(self._cleanups):
            try:
                undo()
            except Exception:  # noqa: BLE001, S110 - clean up the rest; the test's own failure is what matters
                pass
        self._cleanups.clear()


def _tenant_client(config: pytest.Config, server: Any) -> tuple[TenantClient, bool]:
    url = config.getoption("--tenant-url")
    if url:
        from tests.conftest import CONTRACT_ENVIRON

        credentials = resolve_credentials(CONTRACT_ENVIRON)
        return TenantClient(url, credentials.auth(url)), False
    account = server.service_account
    credentials = resolve_credentials(
        {"AIC_SERVICE_ACCOUNT_ID": account["id"], "AIC_SERVICE_ACCOUNT_JWK": json.dumps(account["jwk"])}
    )
    return TenantClient(server.url, credentials.auth(server.url)), True


_CLIENTS: dict[str, tuple[TenantClient, bool]] = {}  # one client (and admin token) per target and run


def contract_tenant(request: pytest.FixtureRequest) -> Iterator[ContractTenant]:
    """Fixture body: the emulator (session server) unless ``--tenant-url`` names a tenant."""
    server = None if request.config.getoption("--tenant-url") else request.getfixturevalue("server")
    if server is not None:  # the emulator starts from its defaults (other tests change switches)
        requests.post(server.url + "/_emulator/reset", timeout=10).raise_for_status()
    key = request.config.getoption("--tenant-url") or server.url
    if key not in _CLIENTS:
        _CLIENTS[key] = _tenant_client(request.config, server)
    client, emulated = _CLIENTS[key]
    tenant = ContractTenant(client, "alpha", emulated)
    try:
        yield tenant
    finally:
        tenant.cleanup()
