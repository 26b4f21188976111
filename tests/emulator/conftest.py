"""Emulator test fixtures: one running in-memory server per session, reset before each test, and an
admin-token helper that signs the service-account assertion with PyJWT."""

from __future__ import annotations

import json
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm

from provisioner.emulator import EmulatorServer

FIXTURES = Path(__file__).parent / "fixtures"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AM_V1 = "protocol=2.1,resource=1.0"
AM_V2 = "protocol=2.1,resource=2.0"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def assertion(
    server: EmulatorServer,
    *,
    aud: str | None = None,
    exp_in: int = 180,
    jti: bool = True,
    iss: str | None = None,
    sub: str | None = None,
    key: dict[str, Any] | None = None,
) -> str:
    sa = server.service_account
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss or sa["id"],
        "sub": sub or iss or sa["id"],
        "aud": aud or server.url + "/am/oauth2/access_token",
        "exp": now + exp_in,
    }
    if jti:
        claims["jti"] = str(uuid.uuid4())
    return jwt.encode(claims, _private_key(json.dumps(key or sa["jwk"], sort_keys=True)), algorithm="RS256")  # type: ignore[arg-type]


@lru_cache(maxsize=16)
def _private_key(jwk_json: str) -> Any:
    """Loading an RSA JWK validates the key (slow): once per key."""
    return RSAAlgorithm.from_jwk(jwk_json)


def token_response(server: EmulatorServer, scope: str | None = "fr:am:* fr:idm:*", **kwargs: Any) -> requests.Response:
    form = {"grant_type": JWT_BEARER, "client_id": "service-account", "assertion": assertion(server, **kwargs)}
    if scope is not None:
        form["scope"] = scope
    return requests.post(server.url + "/am/oauth2/access_token", data=form, timeout=10)


def admin_token(server: EmulatorServer, scope: str = "fr:am:* fr:idm:*") -> str:
    response = token_response(server, scope)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


class Emu:
    """A test's handle on the emulator: URLs, a keep-alive session with an admin token, helpers."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.url = server.url
        self.session = requests.Session()
        self.token = admin_token(server)
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def am(self, path: str, realm: str = "alpha") -> str:
        return f"{self.url}/am/json/realms/root/realms/{realm}/{path}"

    def agent(self, kind: str, client_id: str = "", realm: str = "alpha") -> str:
        suffix = f"/{client_id}" if client_id else ""
        return self.am(f"realm-config/agents/{kind}{suffix}", realm)

    def idm(self, path: str) -> str:
        return f"{self.url}/openidm/{path}"

    @staticmethod
    def v(kind: str) -> dict[str, str]:
        return {"Accept-API-Version": AM_V2 if kind == "AIAgent" else AM_V1}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, url, timeout=30, **kwargs)

    def put_agent(self, kind: str, client_id: str, body: Any, realm: str = "alpha", **kw: Any) -> requests.Response:
        headers = {**self.v(kind), **kw.pop("headers", {})}
        return self.request("PUT", self.agent(kind, client_id, realm), json=body, headers=headers, **kw)

    def get_agent(self, kind: str, client_id: str, realm: str = "alpha") -> requests.Response:
        return self.request("GET", self.agent(kind, client_id, realm), headers=self.v(kind))

    def control(self, method: str, name: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_emulator/{name}", json=body, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def seed(self, realm: str = "alpha", users: Any = (), groups: Any = ()) -> Any:
        return self.control("POST", "seed", {"realm": realm, "users": list(users), "groups": list(groups)})

    def new_app(self, name: str, client_id: str, realm: str = "alpha") -> dict[str, Any]:
        r = self.request(
            "POST",
            self.idm(f"managed/{realm}_application?_action=create"),
            json={
                "name": name,
                "templateName": "service",
                "templateVersion": "1.0",
                "ssoEntities": {"oidcId": client_id},
            },
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def new_agent(self, client_id: str, realm: str = "alpha", **attrs: Any) -> dict[str, Any]:
        body = {"aiAgentIdentityAttributes": {"inherited": False, "value": {"name": client_id, **attrs}}}
        r = self.put_agent("AIAgent", client_id, body, realm)
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture(scope="session")
def server():
    with EmulatorServer() as running:
        yield running


@pytest.fixture
def emu(server: EmulatorServer) -> Emu:
    requests.post(server.url + "/_emulator/reset", timeout=10).raise_for_status()
    return Emu(server)


def ref(realm: str, kind: str, oid: str) -> dict[str, str]:
    return {
        "_ref": f"managed/{realm}_{kind}/{oid}",
        "_refResourceCollection": f"managed/{realm}_{kind}",
        "_refResourceId": oid,
    }
