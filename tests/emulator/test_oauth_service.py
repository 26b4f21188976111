"""OAuthService against an in-memory tenant: client auth, grants, exchange rules, switches, tokens.

``InMemoryTenant`` is a backend double implementing the view protocol, not an HTTP mock. Client ids
are configuration (reference §8.5): the tests use the constants below and nothing else.
"""

from __future__ import annotations

import base64
import copy
import threading
from typing import Any

import jwt
import pytest
from jwt.algorithms import RSAAlgorithm

from provisioner.emulator.oauth.keys import generate_rsa_jwk
from provisioner.emulator.oauth.service import OAuthService

BASE = "http://127.0.0.1:8080"
REALM = "alpha"
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
AGENT, AGENT_SECRET = "bot-traffic-analyzer-agent", "agent-secret"
APP, APP_SECRET = "web-server-logs-api-app", "app-secret"
WEB, WEB_SECRET = "digital-assistant-web-app", "web-secret"
OBO, OBO_SECRET = "digital-assistant-ai-agent", "obo-secret"
DATA = "data-api-app"
ALICE_ID, BOB_ID = "2199ef22-7927-4ecf-8345-ee58df8f6328", "5d1c1c51-0b4a-4a39-9f59-0a3b3c3e1f00"
T0 = 1_778_764_699

KEYS = generate_rsa_jwk(kid="emulator-key")
OTHER_KEYS = generate_rsa_jwk(kid="emulator-key")  # same kid, different key: a forgery


def client(
    kind: str,
    secret: str | None,
    scopes: list[str],
    grants: list[str],
    method: str,
    overrides: dict[str, bool] | None = None,
    **core: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "secret": secret,
        "config": {
            "coreOAuth2ClientConfig": {
                "status": "Active",
                "scopes": scopes,
                "defaultScopes": [],
                "accessTokenLifetime": 0,
                **core,
            },
            "advancedOAuth2ClientConfig": {
                "grantTypes": grants,
                "tokenEndpointAuthMethod": method,
                "allowedResourceServerAudienceValues": [],
            },
            "signEncOAuth2ClientConfig": {},
            "coreOpenIDClientConfig": {},
            "coreUmaClientConfig": {},
            "overrideOAuth2ClientConfig": overrides or {"providerOverridesEnabled": False},
        },
    }


AGENT_OVERRIDES = {
    "providerOverridesEnabled": True,
    "statelessTokensEnabled": True,
    "acceptAudienceParametersInTokenExchangeRequests": True,
}


def privilege(pid: str, agent: str, app: str, scopes: list[str], subjects: list[str] = ()) -> dict[str, Any]:
    return {
        "_id": pid,
        "agentOAuth2ClientId": agent,
        "resourceData": {"ssoEntities": {"oidcId": app}},
        "subjectIDs": list(subjects),
        "permissions": [{"type": "scopes", "values": scopes}],
    }


class InMemoryTenant:
    """The view protocol over plain dicts: the seed scenario plus an on-behalf-of pair."""

    def __init__(self) -> None:
        self.realms = {"alpha", "bravo"}
        self.providers = {
            realm: {
                "advancedOAuth2Config": {
                    "grantTypes": ["authorization_code", "client_credentials", "password", TX],
                    "acceptAudienceParametersInTokenExchangeRequests": False,
                },
                "coreOAuth2Config": {"statelessTokensEnabled": True, "accessTokenLifetime": 3600},
            }
            for realm in self.realms
        }
        self.clients: dict[str, dict[str, Any]] = {
            AGENT: client(
                "AIAgent",
                AGENT_SECRET,
                ["monitor-system"],
                [TX, "client_credentials"],
                "client_secret_post",
                dict(AGENT_OVERRIDES),
            ),
            APP: client(
                "OAuth2Client",
                APP_SECRET,
                ["logs-read", "logs-search", "logs-delete"],
                ["client_credentials"],
                "client_secret_basic",
            ),
            WEB: client("OAuth2Client", WEB_SECRET, ["openid"], ["password"], "client_secret_post"),
            OBO: client("AIAgent", OBO_SECRET, [], [TX], "client_secret_post", dict(AGENT_OVERRIDES)),
            DATA: client(
                "OAuth2Client",
                "data-secret",
                ["read-data", "write-data"],
                ["client_credentials"],
                "client_secret_basic",
            ),
        }
        self.privs = [
            privilege("p-logs", AGENT, APP, ["logs-read", "logs-search"]),
            privilege("p-data", OBO, DATA, ["read-data"], [ALICE_ID]),
        ]
        self.users = {
            ALICE_ID: {"_id": ALICE_ID, "userName": "alice", "password": "Alice#123"},
            BOB_ID: {"_id": BOB_ID, "userName": "bob", "password": "Bob#123"},
        }
        self.agents_on = True

    def realm_exists(self, realm: str) -> bool:
        return realm in self.realms

    def provider(self, realm: str) -> dict[str, Any]:
        return copy.deepcopy(self.providers[realm])

    def oauth_client(self, realm: str, client_id: str) -> dict[str, Any] | None:
        found = self.clients.get(client_id) if realm == REALM else None
        return copy.deepcopy(found) if found else None

    def privileges(self, realm: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.privs) if realm == REALM else []

    def user_by_username(self, realm: str, user_name: str) -> dict[str, Any] | None:
        return next((u for u in self.users.values() if u["userName"] == user_name), None)

    def user(self, realm: str, user_id: str) -> dict[str, Any] | None:
        return self.users.get(user_id)

    def ai_agents_enabled(self) -> bool:
        return self.agents_on

    # test helpers
    def core(self, client_id: str) -> dict[str, Any]:
        return self.clients[client_id]["config"]["coreOAuth2ClientConfig"]

    def advanced(self, client_id: str) -> dict[str, Any]:
        return self.clients[client_id]["config"]["advancedOAuth2ClientConfig"]

    def overrides(self, client_id: str) -> dict[str, Any]:
        return self.clients[client_id]["config"]["overrideOAuth2ClientConfig"]


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def tenant() -> InMemoryTenant:
    return InMemoryTenant()


@pytest.fixture()
def options() -> dict[str, object]:
    return {}


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def svc(tenant: InMemoryTenant, options: dict[str, object], clock: Clock) -> OAuthService:
    return OAuthService(tenant, KEYS[0], options, clock=clock)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token(svc: OAuthService, realm: str = REALM, headers: dict[str, str] | None = None, **form: str):
    return svc.token(realm, form, headers or {}, BASE)


def cc(svc: OAuthService, client_id: str = AGENT, secret: str = AGENT_SECRET, **extra: str):
    if client_id in (APP, DATA):
        return token(svc, headers=basic(client_id, secret), grant_type="client_credentials", **extra)
    return token(svc, grant_type="client_credentials", client_id=client_id, client_secret=secret, **extra)


def access(response) -> str:
    status, body, _ = response
    assert status == 200, body
    return body["access_token"]


def info(svc: OAuthService, value: str, realm: str = REALM) -> dict[str, Any]:
    status, body, _ = svc.tokeninfo(realm, {"access_token": value}, BASE)
    assert status == 200, body
    return body


def user_token(svc: OAuthService, user: str = "alice", password: str = "Alice#123") -> str:
    return access(
        token(
            svc,
            grant_type="password",
            client_id=WEB,
            client_secret=WEB_SECRET,
            username=user,
            password=password,
            scope="openid",
        )
    )


def exchange(svc: OAuthService, subject: str, agent: str = AGENT, secret: str = AGENT_SECRET, **extra: str):
    form = {
        "grant_type": TX,
        "subject_token": subject,
        "subject_token_type": AT,
        "client_id": agent,
        "client_secret": secret,
        **extra,
    }
    return svc.token(REALM, form, {}, BASE)


def err(error: str, description: str, status: int = 400):
    return status, {"error": error, "error_description": description}


def status_body(response) -> tuple[int, dict[str, Any]]:
    return response[0], response[1]


INVALID_EXCHANGE = err("invalid_request", "Invalid token exchange.")
INVALID_AUDIENCE = err("invalid_request", "Invalid audience requested.")
INVALID_CLIENT = err("invalid_client", "Client authentication failed")
NO_SCOPE = err("invalid_scope", "No scope requested and no default scope configured")


# -- client authentication (§8.1, §11 rows 15, 25) --------------------------------------------------


@pytest.mark.parametrize(
    "form, headers",
    [
        ({"client_id": "nobody", "client_secret": "x"}, {}),
        ({"client_id": AGENT, "client_secret": "wrong"}, {}),
        ({"client_id": AGENT}, {}),
        ({}, {}),
        ({}, basic(AGENT, AGENT_SECRET)),  # right secret, wrong method (agent is post)
        ({"client_id": APP, "client_secret": APP_SECRET}, {}),  # app is basic
        ({}, {"Authorization": "Basic !!!"}),
    ],
)
def test_client_authentication_failures(svc, form, headers):
    response = token(svc, headers=headers, grant_type="client_credentials", scope="monitor-system", **form)
    assert status_body(response) == INVALID_CLIENT
    assert response[2] == {}


def test_auth_method_not_enforced_when_switched_off(svc, options):
    options["token.enforceAuthMethod"] = False
    ok = token(svc, headers=basic(AGENT, AGENT_SECRET), grant_type="client_credentials", scope="monitor-system")
    assert ok[0] == 200
    ok = token(svc, grant_type="client_credentials", client_id=APP, client_secret=APP_SECRET, scope="logs-read")
    assert ok[0] == 200


def test_invalid_client_status_switch(svc, options):
    options["token.invalidClientStatus"] = 401
    status, body, headers = token(svc, grant_type="client_credentials", client_id=AGENT, client_secret="no")
    assert (status, body) == (401, INVALID_CLIENT[1])
    assert headers["WWW-Authenticate"].startswith("Basic")


def test_inactive_client_and_disabled_agents_are_refused(svc, tenant):
    tenant.core(AGENT)["status"] = "Inactive"
    assert status_body(cc(svc)) == INVALID_CLIENT
    tenant.core(AGENT)["status"] = "Active"
    tenant.agents_on = False
    assert status_body(cc(svc)) == INVALID_CLIENT


def test_public_client_authenticates_with_client_id_only(svc, tenant):
    tenant.advanced(WEB)["tokenEndpointAuthMethod"] = "none"
    tenant.clients[WEB]["secret"] = None
    ok = token(svc, grant_type="password", client_id=WEB, username="alice", password="Alice#123", scope="openid")
    assert ok[0] == 200


# -- grant type gates (§8.4 steps 1-2, §8.6) --------------------------------------------------------


def test_realm_grant_check_comes_before_client_authentication(svc, tenant):
    tenant.providers[REALM]["advancedOAuth2Config"]["grantTypes"] = ["password"]
    response = token(svc, grant_type="client_credentials", client_id="nobody", client_secret="x")
    assert status_body(response) == err("unsupported_grant_type", "Grant type is not supported")


@pytest.mark.parametrize("grant_type", ["authorization_code", "implicit", "urn:x:made-up"])
def test_grants_not_emulated_or_not_in_realm_are_unsupported(svc, grant_type):
    response = token(svc, grant_type=grant_type, client_id=AGENT, client_secret=AGENT_SECRET)
    assert status_body(response) == err("unsupported_grant_type", "Grant type is not supported")


def test_client_without_the_grant_is_unauthorized(svc):
    response = token(
        svc, grant_type="password", client_id=AGENT, client_secret=AGENT_SECRET, username="alice", password="Alice#123"
    )
    assert status_body(response) == err(
        "unauthorized_client", "Client is not authorized to use the requested grant type"
    )


def test_missing_grant_type(svc):
    assert status_body(token(svc, client_id=AGENT)) == err("invalid_request", "Missing parameter, 'grant_type'")


def test_unknown_realm(svc):
    response = token(svc, realm="nowhere", grant_type="client_credentials")
    assert status_body(response) == err("invalid_request", "Invalid realm")
    assert status_body(svc.jwks("nowhere")) == err("invalid_request", "Invalid realm")


# -- client_credentials (§8.2) ----------------------------------------------------------------------


def test_client_credentials_response(svc):
    status, body, headers = cc(svc, scope="monitor-system")
    assert status == 200
    assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
    assert (body["scope"], body["token_type"], body["expires_in"]) == ("monitor-system", "Bearer", 3599)
    assert headers["Cache-Control"] == "no-store"


def test_client_credentials_tokeninfo_shape(svc):
    value = access(cc(svc, scope="monitor-system"))
    body = info(svc, value)
    assert list(body) == [
        "sub",
        "cts",
        "auditTrackingId",
        "subname",
        "iss",
        "tokenName",
        "token_type",
        "authGrantId",
        "client_id",
        "access_token",
        "aud",
        "nbf",
        "grant_type",
        "scope",
        "monitor-system",
        "realm",
        "exp",
        "iat",
        "expires_in",
        "jti",
    ]
    assert body["sub"] == body["subname"] == body["client_id"] == body["aud"] == AGENT
    assert body["cts"] == "OAUTH2_STATELESS_GRANT"
    assert body["iss"] == f"{BASE}/am/oauth2/realms/root/realms/alpha"
    assert (body["tokenName"], body["token_type"], body["access_token"]) == ("access_token", "Bearer", value)
    assert (body["grant_type"], body["scope"], body["monitor-system"]) == ("client_credentials", ["monitor-system"], "")
    assert (body["realm"], body["iat"], body["nbf"], body["exp"]) == ("/alpha", T0, T0, T0 + 3600)
    assert body["expires_in"] == 3599
    assert len(body["jti"]) == 27 and set(body["jti"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert "act" not in body and "auth_level" not in body


def test_scope_outside_client_scopes(svc):
    response = cc(svc, scope="monitor-system logs-read fr:am:*")
    assert status_body(response) == err("invalid_scope", "Unknown/invalid scope(s): [logs-read, fr:am:*]")


def test_default_scopes_and_no_scope(svc, tenant):
    assert status_body(cc(svc)) == NO_SCOPE
    tenant.core(AGENT)["defaultScopes"] = ["monitor-system"]
    assert cc(svc)[1]["scope"] == "monitor-system"


def test_lifetime_client_then_realm(svc, tenant):
    tenant.core(AGENT)["accessTokenLifetime"] = 600
    assert cc(svc, scope="monitor-system")[1]["expires_in"] == 599
    tenant.core(AGENT)["accessTokenLifetime"] = 0
    tenant.providers[REALM]["coreOAuth2Config"]["accessTokenLifetime"] = 1800
    assert cc(svc, scope="monitor-system")[1]["expires_in"] == 1799


# -- token format, expiry, realm (§8.1) -------------------------------------------------------------


def test_jwt_is_rs256_with_kid_and_verifies_with_jwks(svc):
    value = access(cc(svc, scope="monitor-system"))
    assert jwt.get_unverified_header(value) == {"typ": "JWT", "kid": "emulator-key", "alg": "RS256"}
    status, keys, _ = svc.jwks(REALM)
    assert status == 200 and [k["kid"] for k in keys["keys"]] == ["emulator-key"]
    assert "d" not in keys["keys"][0]
    public = RSAAlgorithm.from_jwk(keys["keys"][0])
    claims = jwt.decode(value, public, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False})
    assert claims["expires_in"] == 3600 and claims["sub"] == AGENT  # decoded token says 3600 (W13)


@pytest.mark.parametrize(
    "base, iss",
    [
        ("https://openam-acme.forgeblocks.com", "https://openam-acme.forgeblocks.com:443"),
        ("https://openam-acme.forgeblocks.com:8443/", "https://openam-acme.forgeblocks.com:8443"),
        ("http://127.0.0.1:5123", "http://127.0.0.1:5123"),
    ],
)
def test_issuer(svc, base, iss):
    value = access(
        svc.token(
            REALM,
            {
                "grant_type": "client_credentials",
                "client_id": AGENT,
                "client_secret": AGENT_SECRET,
                "scope": "monitor-system",
            },
            {},
            base,
        )
    )
    assert info(svc, value)["iss"] == f"{iss}/am/oauth2/realms/root/realms/alpha"


def test_opaque_tokens_when_effective_stateless_is_false(svc, tenant):
    tenant.overrides(AGENT)["statelessTokensEnabled"] = False  # override wins over realm true
    value = access(cc(svc, scope="monitor-system"))
    assert "." not in value and len(value) == 27
    body = info(svc, value)
    assert "cts" not in body and body["sub"] == AGENT and body["access_token"] == value
    tenant.overrides(AGENT)["providerOverridesEnabled"] = False  # realm value applies again
    assert access(cc(svc, scope="monitor-system")).count(".") == 2
    tenant.providers[REALM]["coreOAuth2Config"]["statelessTokensEnabled"] = False
    assert "." not in access(cc(svc, scope="monitor-system"))


@pytest.mark.parametrize("stateless", [True, False])
def test_expiry_uses_the_injected_clock(svc, tenant, clock, stateless):
    tenant.overrides(AGENT)["statelessTokensEnabled"] = stateless
    value = access(cc(svc, scope="monitor-system"))
    clock.now = T0 + 3000.5
    assert info(svc, value)["expires_in"] == 599
    clock.now = T0 + 3600
    assert status_body(svc.tokeninfo(REALM, {"access_token": value}, BASE)) == err(
        "invalid_request", "Access token is either expired or invalid"
    )
    assert svc.introspect(REALM, {"token": value, "client_id": AGENT, "client_secret": AGENT_SECRET}, {}, BASE)[1] == {
        "active": False
    }


def test_token_from_another_realm_or_key_is_invalid(svc, tenant):
    value = access(cc(svc, scope="monitor-system"))
    assert svc.tokeninfo("bravo", {"access_token": value}, BASE)[0] == 400
    forged = jwt.encode(
        jwt.decode(value, options={"verify_signature": False}),
        RSAAlgorithm.from_jwk(OTHER_KEYS[0]),
        algorithm="RS256",
        headers={"kid": "emulator-key"},
    )
    assert svc.tokeninfo(REALM, {"access_token": forged}, BASE)[0] == 400
    assert svc.tokeninfo(REALM, {"access_token": "garbage"}, BASE)[0] == 400
    assert svc.tokeninfo(REALM, {}, BASE)[0] == 400


def test_tokeninfo_error_status_switch_and_bearer_header(svc, options):
    options["token.tokeninfoErrorStatus"] = 401
    status, body, headers = svc.tokeninfo(REALM, {"access_token": "nope"}, BASE)
    assert (status, body) == (
        401,
        {"error": "invalid_request", "error_description": "Access token is either expired or invalid"},
    )
    assert "WWW-Authenticate" in headers
    value = access(cc(svc, scope="monitor-system"))
    assert svc.tokeninfo(REALM, {}, BASE, headers={"authorization": f"Bearer {value}"})[0] == 200


def test_opaque_tokens_are_thread_safe(svc, tenant):
    tenant.overrides(AGENT)["statelessTokensEnabled"] = False
    values: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(20):
            value = access(cc(svc, scope="monitor-system"))
            with lock:
                values.append(value)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(values)) == 160
    assert all(info(svc, v)["sub"] == AGENT for v in values)


# -- password grant ---------------------------------------------------------------------------------


def test_password_grant_user_token(svc):
    body = info(svc, user_token(svc))
    assert body["sub"] == body["subname"] == ALICE_ID
    assert (body["client_id"], body["aud"], body["grant_type"]) == (WEB, WEB, "password")
    assert (body["auth_level"], body["auth_time"], body["scope"], body["openid"]) == (0, T0, ["openid"], "")
    assert list(body)[:3] == ["sub", "cts", "auth_level"]


@pytest.mark.parametrize(
    "form, expected",
    [
        ({"username": "alice", "password": "wrong"}, err("invalid_grant", "Authentication failed")),
        ({"username": "nobody", "password": "x"}, err("invalid_grant", "Authentication failed")),
        ({"password": "x"}, err("invalid_request", "Missing parameter, 'username'")),
        (
            {"username": "alice", "password": "Alice#123", "scope": "profile"},
            err("invalid_scope", "Unknown/invalid scope(s): [profile]"),
        ),
    ],
)
def test_password_grant_errors(svc, form, expected):
    response = token(svc, grant_type="password", client_id=WEB, client_secret=WEB_SECRET, **form)
    assert status_body(response) == expected


# -- token exchange: the documented flows (§8.3) ----------------------------------------------------


def test_autonomous_exchange(svc):
    subject = access(cc(svc, scope="monitor-system"))
    status, body, _ = exchange(svc, subject, audience=APP, scope="logs-read logs-search")
    assert status == 200
    assert list(body) == ["access_token", "refresh_token", "issued_token_type", "scope", "token_type", "expires_in"]
    assert body["refresh_token"] is None and body["issued_token_type"] == AT
    assert (body["scope"], body["token_type"], body["expires_in"]) == ("logs-read logs-search", "Bearer", 3599)
    claims = info(svc, body["access_token"])
    assert claims["sub"] == claims["subname"] == claims["client_id"] == AGENT
    assert claims["act"] == {"sub": AGENT} and claims["aud"] == [AGENT, APP]
    assert claims["grant_type"] == TX and sorted(claims["scope"]) == ["logs-read", "logs-search"]
    assert claims["logs-read"] == claims["logs-search"] == "" and "auth_level" not in claims
    assert claims["cts"] == "OAUTH2_STATELESS_GRANT" and claims["iss"].endswith("/realms/root/realms/alpha")


def test_on_behalf_of_exchange(svc, clock):
    subject = user_token(svc)
    clock.now += 16
    status, body, _ = exchange(svc, subject, agent=OBO, secret=OBO_SECRET, audience=DATA, scope="read-data")
    assert status == 200 and body["scope"] == "read-data"  # not limited by the subject's "openid"
    claims = info(svc, body["access_token"])
    assert claims["sub"] == claims["subname"] == ALICE_ID
    assert (claims["client_id"], claims["aud"], claims["act"]) == (OBO, [OBO, DATA], {"sub": OBO})
    assert (claims["auth_level"], claims["auth_time"], claims["iat"]) == (0, T0, T0 + 16)
    assert claims["scope"] == ["read-data"] and claims["grant_type"] == TX


def test_on_behalf_of_user_not_a_subject(svc):
    subject = user_token(svc, "bob", "Bob#123")
    assert status_body(exchange(svc, subject, agent=OBO, secret=OBO_SECRET, audience=DATA)) == INVALID_EXCHANGE


def test_subject_group_member_is_a_subject(svc, tenant):
    tenant.privs[1]["subjectIDs"] = []
    tenant.privs[1]["subjectGroups"] = [{"_ref": "managed/alpha_group/analysts"}]
    tenant.privs[1]["subjectIDs"] = [BOB_ID]  # IDM flattens group members into subjectIDs
    subject = user_token(svc, "bob", "Bob#123")
    assert exchange(svc, subject, agent=OBO, secret=OBO_SECRET, audience=DATA)[0] == 200


# -- token exchange: gates and subject token (§8.4 steps 1-3) ---------------------------------------


def test_exchange_realm_and_client_grant_checks(svc, tenant):
    subject = access(cc(svc, scope="monitor-system"))
    tenant.advanced(AGENT)["grantTypes"] = ["client_credentials"]
    assert status_body(exchange(svc, subject, audience=APP)) == err(
        "unauthorized_client", "Client is not authorized to use the requested grant type"
    )
    tenant.providers[REALM]["advancedOAuth2Config"]["grantTypes"] = ["client_credentials"]
    assert status_body(exchange(svc, subject, audience=APP)) == err(
        "unsupported_grant_type", "Grant type is not supported"
    )
    assert status_body(exchange(svc, subject, secret="wrong", audience=APP)) == err(
        "unsupported_grant_type", "Grant type is not supported"
    )


def test_exchange_client_authentication(svc):
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, secret="wrong", audience=APP)) == INVALID_CLIENT


@pytest.mark.parametrize(
    "change",
    [
        {"subject_token": "not-a-token"},
        {"subject_token": ""},
        {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
        {"subject_token_type": ""},
        {"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"},
    ],
)
def test_bad_subject_token_or_types(svc, change):
    form = {
        "grant_type": TX,
        "subject_token": access(cc(svc, scope="monitor-system")),
        "subject_token_type": AT,
        "client_id": AGENT,
        "client_secret": AGENT_SECRET,
        "audience": APP,
        **change,
    }
    assert status_body(svc.token(REALM, form, {}, BASE)) == INVALID_EXCHANGE


def test_expired_subject_token(svc, clock):
    subject = access(cc(svc, scope="monitor-system"))
    clock.now += 3600
    assert status_body(exchange(svc, subject, audience=APP)) == INVALID_EXCHANGE


def test_subject_token_of_another_client(svc):
    subject = access(cc(svc, APP, APP_SECRET, scope="logs-read"))
    assert status_body(exchange(svc, subject, audience=APP)) == INVALID_EXCHANGE


# -- token exchange: audience and privileges (steps 5, 6, 10; §11 rows 16, 17, 23) ------------------


def test_no_audience_rejected_by_default(svc):
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, scope="logs-read")) == INVALID_EXCHANGE


def test_audience_switch_off_rejects(svc, tenant):
    tenant.overrides(AGENT)["acceptAudienceParametersInTokenExchangeRequests"] = False
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, audience=APP)) == INVALID_EXCHANGE
    tenant.overrides(AGENT)["providerOverridesEnabled"] = False  # realm value (false) applies
    tenant.overrides(AGENT)["acceptAudienceParametersInTokenExchangeRequests"] = True
    assert status_body(exchange(svc, subject, audience=APP)) == INVALID_EXCHANGE
    tenant.providers[REALM]["advancedOAuth2Config"]["acceptAudienceParametersInTokenExchangeRequests"] = True
    assert exchange(svc, subject, audience=APP)[0] == 200


def test_no_audience_agent_only_switch(svc, options):
    options["token.agent.noAudience"] = "agent-only"
    subject = access(cc(svc, scope="monitor-system"))
    status, body, _ = exchange(svc, subject, scope="monitor-system")
    assert status == 200 and body["scope"] == "monitor-system"
    claims = info(svc, body["access_token"])
    assert (claims["aud"], claims["sub"], claims["act"]) == (AGENT, AGENT, {"sub": AGENT})
    assert status_body(exchange(svc, subject, scope="logs-read")) == err(
        "invalid_scope", "Unknown/invalid scope(s): [logs-read]"
    )


def test_two_audiences_are_refused(svc):
    subject = access(cc(svc, scope="monitor-system"))
    form = {
        "grant_type": TX,
        "subject_token": subject,
        "subject_token_type": AT,
        "client_id": AGENT,
        "client_secret": AGENT_SECRET,
        "audience": [APP, DATA],
    }
    assert status_body(svc.token(REALM, form, {}, BASE)) == INVALID_EXCHANGE


def test_empty_audience(svc):
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, audience="")) == INVALID_AUDIENCE


def test_no_privilege_for_audience(svc, options):
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, audience=DATA)) == INVALID_AUDIENCE
    options["token.agent.noPrivilegeError"] = "exchange"
    assert status_body(exchange(svc, subject, audience=DATA)) == INVALID_EXCHANGE


def test_privilege_of_another_agent_does_not_count(svc, tenant):
    tenant.privs[0]["agentOAuth2ClientId"] = OBO
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, audience=APP)) == INVALID_AUDIENCE


def test_audience_allow_list_switch(svc, options, tenant):
    subject = access(cc(svc, scope="monitor-system"))
    options["token.agent.checkAudienceAllowList"] = True
    assert status_body(exchange(svc, subject, audience=APP, scope="logs-read")) == INVALID_AUDIENCE
    tenant.advanced(AGENT)["allowedResourceServerAudienceValues"] = [APP]
    assert exchange(svc, subject, audience=APP, scope="logs-read")[0] == 200


# -- token exchange: subjects (step 7; §11 rows 18, 19) ---------------------------------------------


def test_autonomous_with_subjects_allowed_by_default(svc, options, tenant):
    tenant.privs[0]["subjectIDs"] = [ALICE_ID]
    subject = access(cc(svc, scope="monitor-system"))
    assert exchange(svc, subject, audience=APP, scope="logs-read")[0] == 200
    options["token.agent.autonomousRequiresNoSubjects"] = True
    assert status_body(exchange(svc, subject, audience=APP, scope="logs-read")) == INVALID_EXCHANGE


def test_on_behalf_of_with_empty_subjects(svc, options, tenant):
    tenant.privs[1]["subjectIDs"] = []
    subject = user_token(svc)
    assert status_body(exchange(svc, subject, agent=OBO, secret=OBO_SECRET, audience=DATA)) == INVALID_EXCHANGE
    options["token.agent.emptySubjects"] = "allow-all"
    assert exchange(svc, subject, agent=OBO, secret=OBO_SECRET, audience=DATA)[0] == 200


# -- token exchange: scopes (step 8; §11 rows 21, 22) -----------------------------------------------


def test_unpermitted_scope_reject_and_downscope(svc, options):
    subject = access(cc(svc, scope="monitor-system"))
    assert status_body(exchange(svc, subject, audience=APP, scope="logs-read logs-delete")) == err(
        "invalid_scope", "Unknown/invalid scope(s): [logs-delete]"
    )
    options["token.agent.unpermittedScope"] = "downscope"
    status, body, _ = exchange(svc, subject, audience=APP, scope="logs-read logs-delete")
    assert (status, body["scope"]) == (200, "logs-read")
    assert status_body(exchange(svc, subject, audience=APP, scope="logs-delete")) == err(
        "invalid_scope", "Unknown/invalid scope(s): [logs-delete]"
    )


def test_missing_scope_all_or_reject(svc, options):
    subject = access(cc(svc, scope="monitor-system"))
    status, body, _ = exchange(svc, subject, audience=APP)
    assert (status, body["scope"]) == (200, "logs-read logs-search")
    options["token.agent.missingScope"] = "reject"
    assert status_body(exchange(svc, subject, audience=APP)) == NO_SCOPE


def test_empty_permissions_mean_every_application_scope(svc, tenant):
    tenant.privs[0]["permissions"] = []
    subject = access(cc(svc, scope="monitor-system"))
    status, body, _ = exchange(svc, subject, audience=APP)
    assert (status, body["scope"]) == (200, "logs-read logs-search logs-delete")
    assert exchange(svc, subject, audience=APP, scope="logs-delete")[0] == 200


def test_scopes_union_over_matching_privileges(svc, tenant):
    tenant.privs.append(privilege("p-logs-2", AGENT, APP, ["logs-delete"]))
    subject = access(cc(svc, scope="monitor-system"))
    assert exchange(svc, subject, audience=APP, scope="logs-delete logs-read")[1]["scope"] == "logs-delete logs-read"


def test_exchange_lifetime_and_token_form_follow_the_agent(svc, tenant):
    tenant.core(AGENT)["accessTokenLifetime"] = 300
    subject = access(cc(svc, scope="monitor-system"))
    tenant.overrides(AGENT)["statelessTokensEnabled"] = False
    status, body, _ = exchange(svc, subject, audience=APP, scope="logs-read")
    assert (status, body["expires_in"]) == (200, 299) and "." not in body["access_token"]
    assert info(svc, body["access_token"])["act"] == {"sub": AGENT}


# -- token exchange: plain clients and may_act (step 4) ---------------------------------------------


def test_plain_client_needs_may_act(svc, tenant, options):
    tenant.advanced(APP)["grantTypes"] = ["client_credentials", TX]
    subject = user_token(svc)
    form = {"grant_type": TX, "subject_token": subject, "subject_token_type": AT, "scope": "logs-read"}
    assert status_body(token(svc, headers=basic(APP, APP_SECRET), **form)) == INVALID_EXCHANGE
    options["token.mayAct"] = {WEB: [APP]}
    subject = user_token(svc)
    status, body, _ = token(svc, headers=basic(APP, APP_SECRET), **{**form, "subject_token": subject})
    assert status == 200 and body["refresh_token"] is None
    claims = info(svc, body["access_token"])
    assert (claims["sub"], claims["client_id"], claims["aud"]) == (ALICE_ID, APP, APP)
    assert "act" not in claims and claims["auth_level"] == 0
    assert status_body(
        token(svc, headers=basic(APP, APP_SECRET), **{**form, "subject_token": subject, "scope": "openid"})
    ) == err("invalid_scope", "Unknown/invalid scope(s): [openid]")


def test_plain_client_audience_needs_switch_and_allow_list(svc, tenant, options):
    tenant.advanced(APP)["grantTypes"] = [TX]
    options["token.mayAct"] = {WEB: APP}
    subject = user_token(svc)
    form = {
        "grant_type": TX,
        "subject_token": subject,
        "subject_token_type": AT,
        "scope": "logs-read",
        "audience": DATA,
    }
    ok = token(svc, headers=basic(APP, APP_SECRET), **form)
    assert info(svc, access(ok))["aud"] == APP  # switch off: audience not applied
    tenant.overrides(APP).update(
        providerOverridesEnabled=True, statelessTokensEnabled=True, acceptAudienceParametersInTokenExchangeRequests=True
    )
    assert status_body(token(svc, headers=basic(APP, APP_SECRET), **form)) == INVALID_AUDIENCE
    tenant.advanced(APP)["allowedResourceServerAudienceValues"] = [DATA]
    assert info(svc, access(token(svc, headers=basic(APP, APP_SECRET), **form)))["aud"] == [APP, DATA]


# -- introspect (§8.7; §11 row 27) ------------------------------------------------------------------


def introspect(svc: OAuthService, value: str, client_id: str, secret: str) -> tuple[int, dict[str, Any]]:
    if client_id in (APP, DATA):
        return status_body(svc.introspect(REALM, {"token": value}, basic(client_id, secret), BASE))
    return status_body(
        svc.introspect(REALM, {"token": value, "client_id": client_id, "client_secret": secret}, {}, BASE)
    )


def test_introspect_requires_client_authentication(svc):
    value = access(cc(svc, scope="monitor-system"))
    status, body, headers = svc.introspect(REALM, {"token": value}, {}, BASE)
    assert (status, body) == (401, INVALID_CLIENT[1]) and headers["WWW-Authenticate"].startswith("Basic")
    assert svc.introspect(REALM, {"token": value, "client_id": AGENT, "client_secret": "x"}, {}, BASE)[0] == 401


def test_introspect_own_client_token(svc):
    value = access(cc(svc, scope="monitor-system"))
    status, body = introspect(svc, value, AGENT, AGENT_SECRET)
    assert status == 200
    assert body == {
        "active": True,
        "scope": "monitor-system",
        "realm": "/alpha",
        "client_id": AGENT,
        "token_type": "Bearer",
        "exp": T0 + 3600,
        "sub": AGENT,
        "subname": AGENT,
        "iss": f"{BASE}/am/oauth2/realms/root/realms/alpha",
        "authGrantId": body["authGrantId"],
        "auditTrackingId": body["auditTrackingId"],
        "expires_in": 3599,
    }


def test_introspect_user_token(svc):
    status, body = introspect(svc, user_token(svc), WEB, WEB_SECRET)
    assert status == 200 and body["active"] is True
    assert (body["user_id"], body["username"], body["auth_level"], body["scope"]) == (ALICE_ID, ALICE_ID, 0, "openid")


def test_introspect_exchanged_token_by_audience(svc, options):
    subject = access(cc(svc, scope="monitor-system"))
    value = access(exchange(svc, subject, audience=APP, scope="logs-read logs-search"))
    status, body = introspect(svc, value, APP, APP_SECRET)
    assert status == 200 and body["active"] is True and body["scope"] == "logs-read logs-search"
    assert (body["aud"], body["act"], body["client_id"]) == ([AGENT, APP], {"sub": AGENT}, AGENT)
    options["token.introspect.includeAudAct"] = False
    assert {"aud", "act"}.isdisjoint(introspect(svc, value, APP, APP_SECRET)[1])


def test_introspect_policy(svc, options, tenant):
    value = access(cc(svc, scope="monitor-system"))
    assert introspect(svc, value, DATA, "data-secret") == (200, {"active": False})
    tenant.core(DATA)["scopes"].append("am-introspect-all-tokens")
    assert introspect(svc, value, DATA, "data-secret")[1]["active"] is True
    tenant.core(DATA)["scopes"].remove("am-introspect-all-tokens")
    options["token.introspect.policy"] = "any-client"
    assert introspect(svc, value, DATA, "data-secret")[1]["active"] is True
    options["token.introspect.policy"] = "owner"
    exchanged = access(exchange(svc, value, audience=APP, scope="logs-read"))
    assert introspect(svc, exchanged, APP, APP_SECRET) == (200, {"active": False})
    assert introspect(svc, exchanged, AGENT, AGENT_SECRET)[1]["active"] is True


def test_introspect_invalid_or_missing_token(svc):
    assert introspect(svc, "garbage", AGENT, AGENT_SECRET) == (200, {"active": False})
    assert introspect(svc, "", AGENT, AGENT_SECRET) == err("invalid_request", "Missing parameter, 'token'")


# -- discovery ---------------------------------------------------------------------------------------


def test_openid_configuration(svc):
    status, body, _ = svc.openid_configuration(REALM, BASE)
    oauth = f"{BASE}/am/oauth2/realms/root/realms/alpha"
    assert status == 200
    assert (body["issuer"], body["token_endpoint"], body["introspection_endpoint"], body["jwks_uri"]) == (
        oauth,
        f"{oauth}/access_token",
        f"{oauth}/introspect",
        f"{oauth}/connect/jwk_uri",
    )
    assert body["grant_types_supported"] == ["authorization_code", "client_credentials", "password"]
    assert svc.openid_configuration(REALM, "https://t.example.com")[1]["issuer"] == (
        "https://t.example.com:443/am/oauth2/realms/root/realms/alpha"
    )
