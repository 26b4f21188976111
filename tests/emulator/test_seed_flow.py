"""The seed scenario over a real socket: the four console tasks as raw REST calls, then seed Task 4.

Everything goes through ``requests`` against ``EmulatorServer`` exactly as a person with curl would:
admin token from the service-account JWT-bearer grant (reference §2), provider grant types (§3.4),
custom application (§5.3), AI agent (§6.3, §6.7), privilege (§7.2, §7.4), then the documented token
flows (§8.2, §8.3). Client ids come from the configuration below, never from the doc's output (§8.5).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm

from provisioner.emulator import EmulatorServer
from tests.support import admin_token

REALM = "alpha"
AGENT = "bot-traffic-analyzer-agent"
APP = "web-server-logs-api-app"
OBO_AGENT = "digital-assistant-ai-agent"
WEB_APP = "digital-assistant-web-app"
GROUP = "digital-assistant-users"
USER = {"userName": "seed-user", "password": "Seed-User#2026", "_id": str(uuid.uuid4())}
AGENT_SECRET, APP_SECRET, OBO_SECRET, WEB_SECRET = (f"secret-{uuid.uuid4()}" for _ in range(4))

TX = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
AM_V1 = {"Accept-API-Version": "protocol=2.1,resource=1.0"}
AM_V2 = {"Accept-API-Version": "protocol=2.1,resource=2.0"}


class Console:
    """What an administrator does in the console, as the REST calls behind it."""

    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {admin_token(self.url, server.service_account)}"
        self.am = f"{self.url}/am/json/realms/root/realms/{REALM}"
        self.idm = f"{self.url}/openidm"

    def seed(self, body: dict[str, Any]) -> None:
        response = requests.post(f"{self.url}/_emulator/seed", json=body, timeout=10)
        assert response.status_code in (200, 201, 204), response.text

    # Task 1: allow grant types on the realm's provider (GET, modify, PUT the whole document).
    def allow_grant_types(self, *grant_types: str) -> None:
        url = f"{self.am}/realm-config/services/oauth-oidc"
        got = self.http.get(url, headers=AM_V1, timeout=10)
        assert got.status_code == 200, got.text
        document = got.json()
        document.pop("_rev", None)
        current = document["advancedOAuth2Config"]["grantTypes"]
        current.extend(g for g in grant_types if g not in current)
        put = self.http.put(url, json=document, headers=AM_V1, timeout=10)
        assert put.status_code == 200, put.text
        again = self.http.get(url, headers=AM_V1, timeout=10).json()
        assert set(grant_types) <= set(again["advancedOAuth2Config"]["grantTypes"])

    def _client_defaults(self) -> dict[str, Any]:
        response = self.http.post(
            f"{self.am}/realm-config/agents/OAuth2Client?_action=template", json={}, headers=AM_V1, timeout=10
        )
        assert response.status_code == 200, response.text
        return {k: v for k, v in response.json().items() if not k.startswith("_")}

    def _with_defaults(self, groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
        body = self._client_defaults()
        for name, fields in groups.items():
            body[name] = {**(body.get(name) or {}), **fields}
        return body

    # Task 2: custom application = OAuth2Client PUT + IDM application record.
    def create_application(
        self, client_id: str, name: str, secret: str, scopes: list[str], grant_types: list[str], auth_method: str
    ) -> str:
        body = self._with_defaults(
            {
                "coreOAuth2ClientConfig": {
                    "userpassword": secret,
                    "clientType": "Confidential",
                    "status": "Active",
                    "clientName": [name],
                    "scopes": scopes,
                    "defaultScopes": [],
                    "redirectionUris": [],
                    "accessTokenLifetime": 3600,
                    "refreshTokenLifetime": 604800,
                    "authorizationCodeLifetime": 120,
                },
                "advancedOAuth2ClientConfig": {
                    "grantTypes": grant_types,
                    "responseTypes": ["token"],
                    "tokenEndpointAuthMethod": auth_method,
                    "isConsentImplied": True,
                    "descriptions": [name],
                },
            }
        )
        put = self.http.put(
            f"{self.am}/realm-config/agents/OAuth2Client/{client_id}", json=body, headers=AM_V1, timeout=10
        )
        assert put.status_code == 201, put.text
        created = self.http.post(
            f"{self.idm}/managed/{REALM}_application?_action=create",
            json={
                "name": name,
                "description": name,
                "templateName": "service",
                "templateVersion": "1.0",
                "ssoEntities": {"oidcId": client_id},
            },
            timeout=10,
        )
        assert created.status_code == 201, created.text
        return created.json()["_id"]

    # Task 3: AI agent with the §6.7 settings and its secret, in the create PUT.
    def create_agent(self, client_id: str, name: str, secret: str, scopes: list[str], grant_types: list[str]) -> str:
        identity = str(uuid.uuid4())
        body = self._with_defaults(
            {
                "coreOAuth2ClientConfig": {"userpassword": secret, "scopes": scopes, "clientName": [name]},
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
                    "value": {"_id": identity, "oauth2ClientId": client_id, "name": name, "description": name},
                },
                "aiAgentIdentityUid": {"inherited": False, "value": identity},
                "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
            }
        )
        put = self.http.put(f"{self.am}/realm-config/agents/AIAgent/{client_id}", json=body, headers=AM_V2, timeout=10)
        assert put.status_code == 201, put.text
        return put.json()["aiAgentIdentityUid"]["value"]

    # Task 4 (console): privilege = PUT with the agent ref, then PATCH the relationships.
    def grant_privilege(
        self, agent_uuid: str, app_uuid: str, scopes: list[str], subject_groups: list[str] = ()
    ) -> dict[str, Any]:
        pid = str(uuid.uuid4())
        url = f"{self.idm}/managed/{REALM}_aiagentprivilege/{pid}"
        put = self.http.put(
            url,
            headers={"If-None-Match": "*"},
            timeout=10,
            json={
                "_id": pid,
                "description": "seed privilege",
                "permissions": [{"type": "scopes", "values": scopes}],
                "agent": _ref(f"managed/{REALM}_aiagent", agent_uuid),
            },
        )
        assert put.status_code == 201, put.text
        patches = [("/resource", _ref(f"managed/{REALM}_application", app_uuid))]
        if subject_groups:
            patches.append(("/subjectGroups", [_ref(f"managed/{REALM}_group", g) for g in subject_groups]))
        body: dict[str, Any] = put.json()
        for field, value in patches:
            patched = self.http.patch(url, json=[{"operation": "replace", "field": field, "value": value}], timeout=10)
            assert patched.status_code == 200, patched.text
            body = patched.json()
        return body


def _ref(collection: str, object_id: str) -> dict[str, str]:
    return {"_ref": f"{collection}/{object_id}", "_refResourceCollection": collection, "_refResourceId": object_id}


class Flows:
    """The runtime calls of seed Task 4, with no admin token: token endpoint and tokeninfo."""

    def __init__(self, url: str) -> None:
        self.oauth = f"{url}/am/oauth2/realms/root/realms/{REALM}"

    def token(self, **form: str) -> dict[str, Any]:
        response = requests.post(f"{self.oauth}/access_token", data=form, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def tokeninfo(self, value: str) -> dict[str, Any]:
        response = requests.get(f"{self.oauth}/tokeninfo", params={"access_token": value}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture()
def server() -> Iterator[Any]:
    with EmulatorServer(port=0, state=None) as running:
        yield running


def test_autonomous_agent_seed_scenario(server: Any) -> None:
    console = Console(server)
    console.allow_grant_types(TX, "client_credentials")
    app_uuid = console.create_application(
        APP,
        "Web Server Logs API App",
        APP_SECRET,
        ["logs-read", "logs-search"],
        ["client_credentials"],
        "client_secret_basic",
    )
    agent_uuid = console.create_agent(
        AGENT, "Bot Traffic Analyzer Agent", AGENT_SECRET, ["monitor-system"], [TX, "client_credentials"]
    )
    privilege = console.grant_privilege(agent_uuid, app_uuid, ["logs-read", "logs-search"])
    assert privilege["agentOAuth2ClientId"] == AGENT
    assert privilege["resourceData"]["ssoEntities"]["oidcId"] == APP

    flows = Flows(server.url)
    own = flows.token(
        grant_type="client_credentials", client_id=AGENT, client_secret=AGENT_SECRET, scope="monitor-system"
    )
    assert (own["scope"], own["token_type"], own["expires_in"]) == ("monitor-system", "Bearer", 3599)
    assert "refresh_token" not in own
    claims = flows.tokeninfo(own["access_token"])
    assert claims["sub"] == claims["aud"] == claims["client_id"] == AGENT
    assert (claims["scope"], claims["grant_type"]) == (["monitor-system"], "client_credentials")
    assert claims["cts"] == "OAUTH2_STATELESS_GRANT" and claims["realm"] == "/alpha"

    exchanged = flows.token(
        grant_type=TX,
        subject_token=own["access_token"],
        subject_token_type=AT,
        client_id=AGENT,
        client_secret=AGENT_SECRET,
        audience=APP,
        scope="logs-read logs-search",
    )
    assert exchanged["refresh_token"] is None and exchanged["issued_token_type"] == AT
    assert sorted(exchanged["scope"].split()) == ["logs-read", "logs-search"]
    claims = flows.tokeninfo(exchanged["access_token"])
    assert claims["sub"] == claims["subname"] == claims["client_id"] == AGENT
    assert claims["act"] == {"sub": AGENT}
    assert claims["aud"] == [AGENT, APP]
    assert sorted(claims["scope"]) == ["logs-read", "logs-search"]
    assert claims["grant_type"] == TX
    assert claims["iss"] == f"{server.url}/am/oauth2/realms/root/realms/{REALM}"


def test_autonomous_agent_negative_checks(server: Any) -> None:
    autonomous_setup(server, app_scopes=["logs-read", "logs-search", "logs-delete"])
    flows = Flows(server.url)
    subject = flows.token(
        grant_type="client_credentials", client_id=AGENT, client_secret=AGENT_SECRET, scope="monitor-system"
    )["access_token"]
    form = {
        "grant_type": TX,
        "subject_token": subject,
        "subject_token_type": AT,
        "client_id": AGENT,
        "client_secret": AGENT_SECRET,
    }
    outside = requests.post(
        f"{flows.oauth}/access_token", timeout=10, data={**form, "audience": APP, "scope": "logs-delete"}
    )
    assert (outside.status_code, outside.json()) == (
        400,
        {"error": "invalid_scope", "error_description": "Unknown/invalid scope(s): [logs-delete]"},
    )
    unknown = requests.post(
        f"{flows.oauth}/access_token", timeout=10, data={**form, "audience": "no-such-app", "scope": "logs-read"}
    )
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "invalid_request", "error_description": "Invalid audience requested."},
    )


def autonomous_setup(server: Any, app_scopes: list[str]) -> None:
    console = Console(server)
    console.allow_grant_types(TX, "client_credentials")
    app_uuid = console.create_application(
        APP, "Web Server Logs API App", APP_SECRET, app_scopes, ["client_credentials"], "client_secret_basic"
    )
    agent_uuid = console.create_agent(
        AGENT, "Bot Traffic Analyzer Agent", AGENT_SECRET, ["monitor-system"], [TX, "client_credentials"]
    )
    console.grant_privilege(agent_uuid, app_uuid, ["logs-read", "logs-search"])


def test_jwks_discovery_and_introspect_over_http(server: Any) -> None:
    autonomous_setup(server, app_scopes=["logs-read", "logs-search"])
    flows = Flows(server.url)
    subject = flows.token(
        grant_type="client_credentials", client_id=AGENT, client_secret=AGENT_SECRET, scope="monitor-system"
    )["access_token"]
    value = flows.token(
        grant_type=TX,
        subject_token=subject,
        subject_token_type=AT,
        client_id=AGENT,
        client_secret=AGENT_SECRET,
        audience=APP,
        scope="logs-read",
    )["access_token"]
    discovery = requests.get(f"{flows.oauth}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == flows.oauth and TX not in discovery["grant_types_supported"]
    keys = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    claims = jwt.decode(
        value, RSAAlgorithm.from_jwk(keys[0]), algorithms=["RS256"], audience=APP, issuer=discovery["issuer"]
    )
    assert claims["act"] == {"sub": AGENT}
    by_app = requests.post(
        discovery["introspection_endpoint"], data={"token": value}, auth=(APP, APP_SECRET), timeout=10
    )
    assert by_app.status_code == 200
    assert by_app.json()["active"] is True and by_app.json()["aud"] == [AGENT, APP]
    anonymous = requests.post(discovery["introspection_endpoint"], data={"token": value}, timeout=10)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")


def test_on_behalf_of_seed_flow(server: Any) -> None:
    console = Console(server)
    console.seed({"realm": REALM, "users": [USER], "groups": [{"_id": GROUP, "members": [USER["userName"]]}]})
    console.allow_grant_types(TX, "password")
    web_uuid = console.create_application(
        WEB_APP, "Digital Assistant Web App", WEB_SECRET, ["openid", "read-data"], ["password"], "client_secret_post"
    )
    agent_uuid = console.create_agent(OBO_AGENT, "Digital Assistant AI Agent", OBO_SECRET, [], [TX])
    privilege = console.grant_privilege(agent_uuid, web_uuid, ["read-data"], subject_groups=[GROUP])
    assert privilege["subjectIDs"] == [USER["_id"]]

    flows = Flows(server.url)
    user = flows.token(
        grant_type="password",
        client_id=WEB_APP,
        client_secret=WEB_SECRET,
        username=USER["userName"],
        password=USER["password"],
        scope="openid",
    )
    user_claims = flows.tokeninfo(user["access_token"])
    assert (user_claims["sub"], user_claims["aud"], user_claims["scope"]) == (USER["_id"], WEB_APP, ["openid"])

    exchanged = flows.token(
        grant_type=TX,
        subject_token=user["access_token"],
        subject_token_type=AT,
        client_id=OBO_AGENT,
        client_secret=OBO_SECRET,
        audience=WEB_APP,
        scope="read-data",
    )
    assert exchanged["scope"] == "read-data"
    claims = flows.tokeninfo(exchanged["access_token"])
    assert claims["sub"] == claims["subname"] == USER["_id"]
    assert claims["act"] == {"sub": OBO_AGENT}
    assert (claims["client_id"], claims["aud"]) == (OBO_AGENT, [OBO_AGENT, WEB_APP])
    assert (claims["scope"], claims["grant_type"]) == (["read-data"], TX)
    assert claims["auth_level"] == 0 and claims["auth_time"] == user_claims["auth_time"]
