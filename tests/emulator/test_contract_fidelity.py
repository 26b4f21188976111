"""Contract tests for the tenant facts the emulator models (real tenants, 2026-05 and 2026-07).

Marked ``contract``: they use only the documented API, so ``pytest -m contract --tenant-url URL``
runs the same assertions against a real tenant (see docs/emulator.md); by default, the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .contract import AM_V1, AM_V2, ContractTenant, contract_tenant

pytestmark = pytest.mark.contract

LIST_ONLY_OVERRIDES = ("oidcClaimsClass", "customLoginUrlTemplate", "accessTokenModifierClass")
SECRET = "contract-test-secret-4f9a2c7e"  # loopback emulator, or a throw-away client deleted at the end


@pytest.fixture
def tenant(request: pytest.FixtureRequest) -> Iterator[ContractTenant]:
    yield from contract_tenant(request)


def _identity(client_id: str) -> dict[str, object]:
    return {
        "aiAgentIdentityAttributes": {
            "inherited": False,
            "value": {"name": client_id, "description": "provisioner contract test"},
        }
    }


def test_aiagent_list_items_carry_agentgroup_null_and_no_userpassword(tenant: ContractTenant) -> None:
    """Fact 1: per-type and cross-type list items of an AI agent."""
    agent = tenant.name("agent-list")
    created = tenant.put_agent("AIAgent", agent, _identity(agent))
    assert created.status == 201, created.body
    query = {"_queryFilter": f"_id eq '{agent}'"}
    per_type = tenant.call("GET", tenant.agent_path("AIAgent"), version=AM_V2, params=query)
    cross = tenant.call("GET", tenant.am_path("realm-config/agents"), version=AM_V1, params=query)
    for listing in (per_type, cross):
        assert listing.status == 200, listing.body
        (item,) = listing.body["result"]
        core = item["coreOAuth2ClientConfig"]
        assert "agentgroup" in core and core["agentgroup"] is None
        assert "userpassword" not in core
        assert isinstance(item["aiAgentIdentityUid"], str)
    assert "_type" in per_type.body["result"][0] and "_type" not in cross.body["result"][0]


# Fact 2: the provider's supported-algorithm lists (values as a real tenant returns them).
SUPPORTED_LISTS = {
    "advancedOIDCConfig": (
        "supportedAuthorizationResponseEncryptionAlgorithms",
        "supportedAuthorizationResponseEncryptionEnc",
        "supportedAuthorizationResponseSigningAlgorithms",
        "supportedRequestParameterEncryptionAlgorithms",
        "supportedRequestParameterEncryptionEnc",
        "supportedRequestParameterSigningAlgorithms",
        "supportedTokenEndpointAuthenticationSigningAlgorithms",
        "supportedTokenIntrospectionResponseEncryptionAlgorithms",
        "supportedTokenIntrospectionResponseEncryptionEnc",
        "supportedTokenIntrospectionResponseSigningAlgorithms",
        "supportedUserInfoEncryptionAlgorithms",
        "supportedUserInfoEncryptionEnc",
        "supportedUserInfoSigningAlgorithms",
    ),
    "consent": (
        "supportedRcsRequestEncryptionAlgorithms",
        "supportedRcsRequestEncryptionMethods",
        "supportedRcsRequestSigningAlgorithms",
        "supportedRcsResponseEncryptionAlgorithms",
        "supportedRcsResponseEncryptionMethods",
        "supportedRcsResponseSigningAlgorithms",
    ),
    "coreOIDCConfig": ("supportedIDTokenEncryptionAlgorithms", "supportedIDTokenEncryptionMethods"),
}


def test_provider_document_carries_the_21_supported_lists(tenant: ContractTenant) -> None:
    response = tenant.call("GET", tenant.am_path("realm-config/services/oauth-oidc"), version=AM_V1)
    assert response.status == 200, response.body
    assert sum(len(names) for names in SUPPORTED_LISTS.values()) == 21
    for group, names in SUPPORTED_LISTS.items():
        for name in names:
            value = response.body[group][name]
            assert isinstance(value, list) and value and all(isinstance(v, str) for v in value), (group, name)
    assert "RS256" in response.body["advancedOIDCConfig"]["supportedUserInfoSigningAlgorithms"]
    assert "A128CBC-HS256" in response.body["coreOIDCConfig"]["supportedIDTokenEncryptionMethods"]


def test_aiagent_create_and_read_carry_the_newest_tenant_defaults(tenant: ContractTenant) -> None:
    """Fact 3: the 2026-07 tenant's three extra defaults, on the create echo and on a read."""
    agent = tenant.name("agent-defaults")
    created = tenant.put_agent("AIAgent", agent, _identity(agent))
    assert created.status == 201, created.body
    read = tenant.call("GET", tenant.agent_path("AIAgent", agent), version=AM_V2)
    assert read.status == 200
    for body in (created.body, read.body):
        assert body["advancedOAuth2ClientConfig"]["tlsCaSecretLabelIdentifier"] == {"inherited": False}
        overrides = body["overrideOAuth2ClientConfig"]
        assert overrides["tlsClientCertificateChainValidationEnabled"] is False
        assert overrides["useTokenIntrospectionClaimForJWT"] is False


def test_oauth2client_with_a_secret_lists_without_userpassword(tenant: ContractTenant) -> None:
    """Fact 4: list-only null keys only where unset; a client with a secret has no ``userpassword``."""
    client_id = tenant.name("client-secret")
    created = tenant.put_agent(
        "OAuth2Client",
        client_id,
        {"coreOAuth2ClientConfig": {"userpassword": SECRET, "clientName": [client_id], "scopes": ["contract:read"]}},
    )
    assert created.status == 201, created.body
    listing = tenant.call(
        "GET", tenant.agent_path("OAuth2Client"), version=AM_V1, params={"_queryFilter": f"_id eq '{client_id}'"}
    )
    assert listing.status == 200, listing.body
    (item,) = listing.body["result"]
    core = item["coreOAuth2ClientConfig"]
    assert "userpassword" not in core
    assert core["agentgroup"] is None  # unset: the list shows it as null
    assert core["scopes"] == ["contract:read"]
    for key in LIST_ONLY_OVERRIDES:
        assert item["overrideOAuth2ClientConfig"][key] is None
    single = tenant.call("GET", tenant.agent_path("OAuth2Client", client_id), version=AM_V1)
    assert "userpassword" not in single.body["coreOAuth2ClientConfig"]
    assert "agentgroup" not in single.body["coreOAuth2ClientConfig"]  # list-only
    for key in LIST_ONLY_OVERRIDES:
        assert key not in single.body["overrideOAuth2ClientConfig"]


def test_every_listed_agent_type_answers_a_result_list(tenant: ContractTenant) -> None:
    """Fact 5: WebAgent, J2EEAgent, IdentityGatewayAgent, … answer 200 with a (possibly empty) list."""
    types = tenant.call(
        "POST", tenant.am_path("realm-config/agents"), version=AM_V1, params={"_action": "getAllTypes"}, json={}
    )
    assert types.status == 200, types.body
    names = [t["_id"] for t in types.body["result"]]
    assert {"WebAgent", "J2EEAgent", "IdentityGatewayAgent", "OAuth2Client"} <= set(names)
    for kind in names:
        if kind in ("OAuth2Client", "AIAgent"):
            continue
        listing = tenant.call("GET", tenant.agent_path(kind), version=AM_V1, params={"_queryFilter": "true"})
        assert listing.status == 200, (kind, listing.status)
        assert isinstance(listing.body["result"], list)
        assert listing.body["resultCount"] == len(listing.body["result"])


def test_feature_list_is_result_only_with_a_weak_etag(tenant: ContractTenant) -> None:
    """Fact 6: ``GET /feature`` answers ``{"result": [...]}`` and a weak ``ETag``; no paging keys."""
    response = tenant.call("GET", "/feature", params={"_queryFilter": "true"})
    assert response.status == 200, response.body
    assert set(response.body) == {"result"}
    assert any(record["_id"] == "service-accounts" for record in response.body["result"])
    etag = {k.lower(): v for k, v in response.headers.items()}["etag"]
    assert etag.startswith('W/"') and etag.endswith('"')
