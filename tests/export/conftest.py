"""Export fixtures: an emulator over a real socket, populated by raw REST calls (never by the tool).

``Console`` does what an administrator does in the console, as the REST calls behind it (reference
§3.4, §5.3, §6.3, §6.8, §7.2, §7.4), with ``requests`` and an admin token from the service-account
JWT-bearer grant. ``populate`` builds the adoption scenario: two agents with privileges, the
applications they use, and unmanaged look-alikes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from provisioner.cli import main
from provisioner.emulator import EmulatorServer
from tests import leakcheck
from tests.support import admin_token, service_account_env

REALM = "alpha"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
AM_V1 = {"Accept-API-Version": "protocol=2.1,resource=1.0"}
AM_V2 = {"Accept-API-Version": "protocol=2.1,resource=2.0"}

LOGS_APP = "web-server-logs-api-app"
LOOKALIKE_APP = "web-server-logs-api-app-v2"
WEB_APP = "digital-assistant-web-app"
BOT = "bot-traffic-analyzer-agent"
OBO = "digital-assistant-ai-agent"
LOOKALIKE_AGENT = "bot-traffic-analyzer-agent-2"
GROUP = "digital-assistant-users"
ALICE = {"userName": "alice", "password": "Alice-Pass#2026", "_id": "7d0e6a2c-0000-4000-8000-00000000a11c"}
BOB = {"userName": "bob", "password": "Bob-Pass#2026!", "_id": "7d0e6a2c-0000-4000-8000-000000000b0b"}

#: The secrets the clients were created with (what an adopter puts in the generated variables).
SECRETS = {key: f"secret-{key}-{uuid.uuid4()}" for key in (LOGS_APP, LOOKALIKE_APP, WEB_APP, BOT, OBO, LOOKALIKE_AGENT)}
leakcheck.add_secret(*SECRETS.values(), ALICE["password"], BOB["password"])


def _ref(collection: str, object_id: str) -> dict[str, str]:
    return {"_ref": f"{collection}/{object_id}", "_refResourceCollection": collection, "_refResourceId": object_id}


class Console:
    """The console tasks as raw REST calls."""

    def __init__(self, url: str, account: dict[str, Any]) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {admin_token(url, account)}"
        self.am = f"{url}/am/json/realms/root/realms/{REALM}"
        self.idm = f"{url}/openidm"

    def seed(self, body: dict[str, Any]) -> None:
        response = requests.post(f"{self.url}/_emulator/seed", json=body, timeout=10)
        assert response.status_code < 300, response.text

    def allow_grant_types(self, *grant_types: str) -> None:
        url = f"{self.am}/realm-config/services/oauth-oidc"
        document = self.http.get(url, headers=AM_V1, timeout=10).json()
        document.pop("_rev", None)
        current = document["advancedOAuth2Config"]["grantTypes"]
        current.extend(g for g in grant_types if g not in current)
        put = self.http.put(url, json=document, headers=AM_V1, timeout=10)
        assert put.status_code == 200, put.text

    def _with_defaults(self, groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
        response = self.http.post(
            f"{self.am}/realm-config/agents/OAuth2Client?_action=template", json={}, headers=AM_V1, timeout=10
        )
        assert response.status_code == 200, response.text
        body = {k: v for k, v in response.json().items() if not k.startswith("_")}
        for name, fields in groups.items():
            body[name] = {**(body.get(name) or {}), **fields}
        return body

    def create_application(
        self,
        client_id: str,
        name: str,
        *,
        template: str,
        scopes: list[str],
        grant_types: list[str],
        auth_method: str,
        redirect_uris: list[str] = (),
        owners: list[str] = (),
    ) -> str:
        response_types = ["token"] if template == "service" else ["code"]
        body = self._with_defaults(
            {
                "coreOAuth2ClientConfig": {
                    "userpassword": SECRETS[client_id],
                    "clientType": "Confidential",
                    "status": "Active",
                    "clientName": [name],
                    "scopes": scopes,
                    "defaultScopes": [],
                    "redirectionUris": list(redirect_uris),
                    "accessTokenLifetime": 3600,
                    "refreshTokenLifetime": 604800,
                    "authorizationCodeLifetime": 120,
                },
                "advancedOAuth2ClientConfig": {
                    "grantTypes": grant_types,
                    "responseTypes": response_types,
                    "tokenEndpointAuthMethod": auth_method,
                    "isConsentImplied": template == "service",
                    "descriptions": [name],
                },
                "coreOpenIDClientConfig": {"jwtTokenLifetime": 3600},
            }
        )
        put = self.http.put(
            f"{self.am}/realm-config/agents/OAuth2Client/{client_id}", json=body, headers=AM_V1, timeout=10
        )
        assert put.status_code == 201, put.text
        record = {
            "name": name,
            "description": name,
            "templateName": template,
            "templateVersion": "1.0" if template == "service" else "2.0",
            "ssoEntities": {"oidcId": client_id},
        }
        if owners:
            record["owners"] = [_ref(f"managed/{REALM}_user", o) for o in owners]
        created = self.http.post(f"{self.idm}/managed/{REALM}_application?_action=create", json=record, timeout=10)
        assert created.status_code == 201, created.text
        return str(created.json()["_id"])

    def create_agent(
        self, client_id: str, name: str, *, scopes: list[str], grant_types: list[str], owners: list[str] = ()
    ) -> str:
        identity = str(uuid.uuid4())
        body = self._with_defaults(
            {
                "coreOAuth2ClientConfig": {"userpassword": SECRETS[client_id], "scopes": scopes, "clientName": [name]},
                "advancedOAuth2ClientConfig": {
                    "grantTypes": grant_types,
                    "tokenEndpointAuthMethod": "client_secret_post",
                },
                "overrideOAuth2ClientConfig": {
                    "providerOverridesEnabled": True,
                    "statelessTokensEnabled": True,
                    "acceptAudienceParametersInTokenExchangeRequests": True,
                },
            }
        )
        body.update(
            {
                "aiAgentIdentityAttributes": {
                    "inherited": False,
                    "value": {"_id": identity, "oauth2ClientId": client_id, "name": name, "description": f"{name}."},
                },
                "aiAgentIdentityUid": {"inherited": False, "value": identity},
                "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
            }
        )
        put = self.http.put(f"{self.am}/realm-config/agents/AIAgent/{client_id}", json=body, headers=AM_V2, timeout=10)
        assert put.status_code == 201, put.text
        uid = str(put.json()["aiAgentIdentityUid"]["value"])
        if owners:
            patched = self.http.patch(
                f"{self.idm}/managed/{REALM}_aiagent/{uid}",
                json=[
                    {
                        "operation": "replace",
                        "field": "/owners",
                        "value": [_ref(f"managed/{REALM}_user", o) for o in owners],
                    }
                ],
                timeout=10,
            )
            assert patched.status_code == 200, patched.text
        return uid

    def grant_privilege(
        self,
        agent_uuid: str,
        app_uuid: str,
        scopes: list[str],
        *,
        description: str | None = None,
        subjects: list[str] = (),
        groups: list[str] = (),
    ) -> None:
        pid = str(uuid.uuid4())
        url = f"{self.idm}/managed/{REALM}_aiagentprivilege/{pid}"
        body: dict[str, Any] = {
            "_id": pid,
            "permissions": [{"type": "scopes", "values": scopes}],
            "agent": _ref(f"managed/{REALM}_aiagent", agent_uuid),
        }
        if description:
            body["description"] = description
        put = self.http.put(url, headers={"If-None-Match": "*"}, json=body, timeout=10)
        assert put.status_code == 201, put.text
        patches = [("/resource", _ref(f"managed/{REALM}_application", app_uuid))]
        if subjects:
            patches.append(("/subjects", [_ref(f"managed/{REALM}_user", s) for s in subjects]))
        if groups:
            patches.append(("/subjectGroups", [_ref(f"managed/{REALM}_group", g) for g in groups]))
        for field, value in patches:
            patched = self.http.patch(url, json=[{"operation": "replace", "field": field, "value": value}], timeout=10)
            assert patched.status_code == 200, patched.text


def populate(console: Console) -> None:
    """The adoption scenario: what a team built by hand before adopting provisioner."""
    console.seed({"realm": REALM, "users": [ALICE, BOB], "groups": [{"_id": GROUP, "members": ["bob"]}]})
    console.allow_grant_types(TX)
    logs = console.create_application(
        LOGS_APP,
        "Web Server Logs API App",
        template="service",
        scopes=["logs-read", "logs-search"],
        grant_types=["client_credentials"],
        auth_method="client_secret_basic",
        owners=[ALICE["_id"]],
    )
    console.create_application(
        LOOKALIKE_APP,
        "Web Server Logs API App v2",
        template="service",
        scopes=["logs-read"],
        grant_types=["client_credentials"],
        auth_method="client_secret_basic",
    )
    web = console.create_application(
        WEB_APP,
        "Digital Assistant Web App",
        template="web",
        scopes=["openid", "profile", "orders.read"],
        grant_types=["authorization_code", "refresh_token"],
        auth_method="client_secret_post",
        redirect_uris=["https://assistant.example.com/callback"],
    )
    bot = console.create_agent(
        BOT, "Bot Traffic Analyzer Agent", scopes=["monitor-system"], grant_types=[TX, "client_credentials"]
    )
    console.grant_privilege(bot, logs, ["logs-read", "logs-search"], description="read the web server logs")
    obo = console.create_agent(OBO, "Digital Assistant AI Agent", scopes=[], grant_types=[TX], owners=[ALICE["_id"]])
    console.grant_privilege(obo, web, ["orders.read"], subjects=[BOB["_id"]], groups=[GROUP])
    console.create_agent(
        LOOKALIKE_AGENT, "Bot Traffic Analyzer Agent 2", scopes=["monitor-system"], grant_types=["client_credentials"]
    )


class Tenant:
    """The test's handle on the emulator."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.url = server.url

    def console(self) -> Console:
        return Console(self.url, self.server.service_account)

    def stats(self) -> dict[str, Any]:
        return requests.get(self.url + "/_emulator/stats", timeout=10).json()

    def reset_stats(self) -> None:
        requests.delete(self.url + "/_emulator/stats", timeout=10)

    def am_list(self, kind: str) -> dict[str, dict[str, Any]]:
        headers = AM_V2 if kind == "AIAgent" else AM_V1
        body = (
            self.console()
            .http.get(
                f"{self.url}/am/json/realms/root/realms/{REALM}/realm-config/agents/{kind}",
                params={"_queryFilter": "true"},
                headers=headers,
                timeout=10,
            )
            .json()
        )
        return {item["_id"]: item for item in body["result"]}


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    with EmulatorServer(port=0) as server, service_account_env(server.service_account, monkeypatch):
        monkeypatch.chdir(tmp_path)
        requests.patch(server.url + "/_emulator/config", json={"sa.sessionLimitMode": "off"}, timeout=10)
        yield Tenant(server)


@pytest.fixture
def populated(tenant: Tenant) -> Tenant:
    populate(tenant.console())
    return tenant


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the CLI in-process: returns ``(exit code, stdout, stderr)``."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
