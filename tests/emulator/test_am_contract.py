"""AM contract tests against the recorded fixtures (reference §3, §4, §6, §12)."""

from __future__ import annotations

import requests

from .conftest import AM_V1, AM_V2, Emu, fixture

GROUPS = (
    "overrideOAuth2ClientConfig",
    "advancedOAuth2ClientConfig",
    "signEncOAuth2ClientConfig",
    "coreOAuth2ClientConfig",
    "coreOpenIDClientConfig",
    "coreUmaClientConfig",
)
NOT_FOUND = {"code": 404, "reason": "Not Found", "message": "Not Found"}
NOT_AVAILABLE = {
    "code": 403,
    "reason": "Forbidden",
    "message": "This operation is not available in PingOne Advanced Identity Cloud.",
}


def test_bare_aiagent_create_has_the_recorded_key_set_per_group(emu: Emu) -> None:
    recorded = fixture("aiagent-get-full.json")  # recorded on the 2026-05 tenant
    emu.control("PATCH", "config", {"am.tenantVersion": "2026-05"})
    r = emu.put_agent(
        "AIAgent",
        "FrodoTestAIAgent2",
        {
            "aiAgentIdentityAttributes": {
                "inherited": False,
                "value": {
                    "_id": "9abea037-4da5-4e5c-803f-bbbbbbbbbbbb",
                    "oauth2ClientId": "FrodoTestAIAgent2",
                    "name": "Frodo Test AI Agent 2",
                    "description": "Test AI agent 2",
                },
            },
            "aiAgentIdentityUid": {"inherited": False, "value": "9abea037-4da5-4e5c-803f-bbbbbbbbbbbb"},
            "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert list(body) == list(recorded)
    for group in GROUPS:
        assert set(body[group]) == set(recorded[group]), group
        assert body[group] == recorded[group], group  # the defaults are the recorded values
    assert "userpassword" not in body["coreOAuth2ClientConfig"]
    attrs = body["aiAgentIdentityAttributes"]
    assert attrs["inherited"] is False
    assert list(attrs["value"]) == list(recorded["aiAgentIdentityAttributes"]["value"])
    assert attrs["value"]["_id"] == "9abea037-4da5-4e5c-803f-bbbbbbbbbbbb"
    assert attrs["value"]["customAttributes"] is None
    assert body["aiAgentIdentityUid"] == {"inherited": False, "value": "9abea037-4da5-4e5c-803f-bbbbbbbbbbbb"}
    assert r.headers["ETag"] == f'"{body["_rev"]}"'
    assert r.headers["Location"] == emu.agent("AIAgent", "FrodoTestAIAgent2")
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Cache-Control"] == "private"
    # the identity exists in IDM with the AM values and the IDM _rev echoed in AM
    ident = emu.request(
        "GET",
        emu.idm("managed/alpha_aiagent/9abea037-4da5-4e5c-803f-bbbbbbbbbbbb"),
        params={"_fields": "_id,customAttributes,description,name,oauth2ClientId,owners,privileges"},
    )
    assert ident.status_code == 200
    assert ident.json()["_rev"] == attrs["value"]["_rev"]
    assert ident.json()["oauth2ClientId"] == "FrodoTestAIAgent2"
    assert ident.json()["owners"] == [] and ident.json()["privileges"] == []


def test_single_get_is_wrapped_and_list_is_plain_with_w9_keys(emu: Emu) -> None:
    emu.control("PATCH", "config", {"am.tenantVersion": "2026-05"})  # the wrapped sample is from 2026-05
    emu.put_agent(
        "OAuth2Client",
        "mcp-server",
        {"coreOAuth2ClientConfig": {"userpassword": "s3cret", "clientName": ["MCP Server"], "scopes": ["mcp:read"]}},
    )
    single = emu.get_agent("OAuth2Client", "mcp-server")
    assert single.status_code == 200
    body = single.json()
    wrapped = fixture("oauth2client-get-wrapped-sample.json")
    for group in GROUPS:
        assert set(body[group]) == set(wrapped[group]), group
    assert body["coreOAuth2ClientConfig"]["scopes"] == {"inherited": False, "value": ["mcp:read"]}
    assert body["coreOAuth2ClientConfig"]["secretLabelIdentifier"] == {"inherited": False}
    assert body["overrideOAuth2ClientConfig"]["providerOverridesEnabled"] is False  # never wrapped
    assert "userpassword" not in body["coreOAuth2ClientConfig"]
    assert body["_type"] == {"_id": "OAuth2Client", "name": "OAuth2 Clients", "collection": True}

    listing = emu.request("GET", emu.agent("OAuth2Client"), params={"_queryFilter": "true"}, headers=emu.v("x"))
    assert listing.status_code == 200
    envelope = listing.json()
    assert {k: v for k, v in envelope.items() if k != "result"} == {
        "resultCount": 1,
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "EXACT",
        "totalPagedResults": 1,
        "remainingPagedResults": -1,
    }
    item = envelope["result"][0]
    assert item["coreOAuth2ClientConfig"]["scopes"] == ["mcp:read"]
    assert "userpassword" not in item["coreOAuth2ClientConfig"]  # it has a secret (R2)
    assert item["coreOAuth2ClientConfig"]["agentgroup"] is None
    assert item["coreOAuth2ClientConfig"]["secretLabelIdentifier"] is None
    for key in ("oidcClaimsClass", "customLoginUrlTemplate", "accessTokenModifierClass"):
        assert item["overrideOAuth2ClientConfig"][key] is None
    assert item["_type"]["_id"] == "OAuth2Client"
    assert "ETag" not in listing.headers


def test_aiagent_list_item_has_plain_identity_fields(emu: Emu) -> None:
    created = emu.new_agent("agent-one")
    r = emu.request(
        "GET", emu.agent("AIAgent"), params={"_queryFilter": "_id eq 'agent-one'"}, headers=emu.v("AIAgent")
    )
    item = r.json()["result"][0]
    assert item["aiAgentIdentityUid"] == created["aiAgentIdentityUid"]["value"]
    assert item["aiAgentIdentityAttributes"]["_id"] == created["aiAgentIdentityUid"]["value"]
    empty = emu.request("GET", emu.agent("AIAgent"), params={"_queryFilter": "_id eq 'nope'"}, headers=emu.v("AIAgent"))
    assert empty.json() == {
        "result": [],
        "resultCount": 0,
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "EXACT",
        "totalPagedResults": 0,
        "remainingPagedResults": -1,
    }
    cross = emu.request(
        "GET",
        emu.am("realm-config/agents"),
        params={"_queryFilter": "_id eq 'agent-one'"},
        headers={"Accept-API-Version": AM_V1},
    )
    assert cross.json()["totalPagedResultsPolicy"] == "NONE" and cross.json()["totalPagedResults"] == -1
    assert "_type" not in cross.json()["result"][0]


def test_update_is_whole_replacement_with_partial_echo(emu: Emu) -> None:
    created = emu.new_agent("FrodoOpsTestAIAgent1", description="one")
    uid = created["aiAgentIdentityUid"]["value"]
    body = {
        "aiAgentIdentityAttributes": {
            "inherited": False,
            "value": {
                "_id": uid,
                "oauth2ClientId": "FrodoOpsTestAIAgent1",
                "name": "FrodoOpsTestAIAgent1",
                "description": "one",
            },
        },
        "aiAgentIdentityUid": {"inherited": False, "value": uid},
        "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
    }
    r = emu.put_agent("AIAgent", "FrodoOpsTestAIAgent1", body)
    assert r.status_code == 200
    echoed = r.json()
    assert list(echoed) == ["_id", "_rev", "aiAgentIdentityAttributes", "aiAgentIdentityUid", "_type"]
    assert echoed["aiAgentIdentityAttributes"]["value"]["customAttributes"] is None
    assert "Location" not in r.headers
    again = emu.get_agent("AIAgent", "FrodoOpsTestAIAgent1").json()
    assert again == echoed

    # a plain, partial body: stored exactly, nothing filled in
    r = emu.put_agent("AIAgent", "FrodoOpsTestAIAgent1", {"coreOAuth2ClientConfig": {"scopes": ["a"]}})
    assert r.json()["coreOAuth2ClientConfig"] == {"scopes": {"inherited": False, "value": ["a"]}}
    assert "advancedOAuth2ClientConfig" not in r.json()


def test_secret_is_kept_when_missing_or_null_and_never_returned(emu: Emu) -> None:
    emu.put_agent("OAuth2Client", "c1", {"coreOAuth2ClientConfig": {"userpassword": "first"}})
    emu.put_agent("OAuth2Client", "c1", {"coreOAuth2ClientConfig": {"userpassword": None, "scopes": ["x"]}})
    view = emu.server.backend.view.oauth_client("alpha", "c1")
    assert view["secret"] == "first" and view["kind"] == "OAuth2Client"
    emu.put_agent("OAuth2Client", "c1", {"coreOAuth2ClientConfig": {"userpassword": "second"}})
    assert emu.server.backend.view.oauth_client("alpha", "c1")["secret"] == "second"
    assert "second" not in emu.get_agent("OAuth2Client", "c1").text


def test_errors_404_403_412_and_version(emu: Emu) -> None:
    missing = emu.get_agent("AIAgent", "nope")
    assert missing.status_code == 404 and missing.json() == NOT_FOUND
    deleted = emu.request("DELETE", emu.agent("AIAgent", "nope"), headers=emu.v("AIAgent"))
    assert deleted.status_code == 404 and deleted.json() == NOT_FOUND
    root = emu.request(
        "GET",
        f"{emu.url}/am/json/realms/root/realm-config/agents/OAuth2Client",
        params={"_queryFilter": "true"},
        headers={"Accept-API-Version": AM_V1},
    )
    assert root.status_code == 403 and root.json() == NOT_AVAILABLE
    assert root.headers["Cache-Control"] == "private, no-store"
    emu.new_agent("dup")
    again = emu.put_agent("AIAgent", "dup", {}, headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json() == {"code": 412, "reason": "Precondition Failed", "message": "Resource already exists"}
    old = emu.request("GET", emu.agent("AIAgent", "dup"), headers={"Accept-API-Version": AM_V1})
    assert old.status_code == 400 and old.json() == {
        "code": 400,
        "reason": "Bad Request",
        "message": "Unsupported resource version",
    }
    bad_id = emu.put_agent("OAuth2Client", "bad.id", {})
    assert bad_id.status_code == 400 and bad_id.json()["code"] == 400
    csrf = emu.request("PUT", emu.agent("OAuth2Client", "c2"), json={})
    assert csrf.status_code == 403
    unknown = emu.put_agent("OAuth2Client", "c3", {"bogus": 1})
    assert unknown.status_code == 400 and unknown.json()["message"] == "Invalid attribute specified."


def test_delete_echoes_and_cascades_to_identity_and_privileges(emu: Emu) -> None:
    agent = emu.new_agent("gone")
    uid = agent["aiAgentIdentityUid"]["value"]
    app = emu.new_app("App", "app-1")
    from .conftest import ref

    p = emu.request(
        "PUT",
        emu.idm("managed/alpha_aiagentprivilege/p1"),
        headers={"If-None-Match": "*"},
        json={"agent": ref("alpha", "aiagent", uid), "resource": ref("alpha", "application", app["_id"])},
    )
    assert p.status_code == 201
    r = emu.request("DELETE", emu.agent("AIAgent", "gone"), headers=emu.v("AIAgent"))
    assert r.status_code == 200 and r.json()["_id"] == "gone" and "aiAgentIdentityAttributes" in r.json()
    assert emu.request("GET", emu.idm(f"managed/alpha_aiagent/{uid}")).status_code == 404
    assert emu.request("GET", emu.idm("managed/alpha_aiagentprivilege/p1")).status_code == 404


def test_delete_without_cascade_keeps_the_identity(emu: Emu) -> None:
    emu.control("PATCH", "config", {"am.aiagent.deleteCascade": False})
    uid = emu.new_agent("stay")["aiAgentIdentityUid"]["value"]
    emu.request("DELETE", emu.agent("AIAgent", "stay"), headers=emu.v("AIAgent"))
    assert emu.request("GET", emu.idm(f"managed/alpha_aiagent/{uid}")).status_code == 200


def test_identity_sync_and_snapshot(emu: Emu) -> None:
    agent = emu.new_agent("snap", description="d1")
    uid = agent["aiAgentIdentityUid"]["value"]
    rev0 = agent["aiAgentIdentityAttributes"]["value"]["_rev"]
    patched = emu.request(
        "PATCH",
        emu.idm(f"managed/alpha_aiagent/{uid}"),
        json=[{"operation": "replace", "field": "/description", "value": "from idm"}],
    )
    assert patched.json()["_rev"] != rev0
    seen = emu.get_agent("AIAgent", "snap").json()
    assert seen["aiAgentIdentityAttributes"]["value"]["_rev"] == rev0  # a snapshot, not refreshed
    assert seen["_rev"] == agent["_rev"]
    emu.put_agent("AIAgent", "snap", {"aiAgentIdentityAttributes": {"value": {"name": "New name"}}})
    ident = emu.request("GET", emu.idm(f"managed/alpha_aiagent/{uid}")).json()
    assert ident["name"] == "New name"


def test_template_types_and_provider(emu: Emu) -> None:
    template = emu.request(
        "POST", emu.agent("OAuth2Client") + "?_action=template", json={}, headers=emu.v("OAuth2Client")
    )
    assert template.status_code == 200
    assert template.json()["advancedOAuth2ClientConfig"]["grantTypes"] == ["authorization_code"]
    types = emu.request(
        "POST", emu.am("realm-config/agents") + "?_action=getAllTypes", json={}, headers={"Accept-API-Version": AM_V1}
    ).json()
    assert list(types) == ["result"]
    assert [t["_id"] for t in types["result"]] == [
        "WebAgent",
        "J2EEAgent",
        "2.2_Agent",
        "OAuth2Client",
        "SharedAgent",
        "RemoteConsentAgent",
        "SoftwarePublisher",
        "IdentityGatewayAgent",
        "TrustedJwtIssuer",
        "AIAgent",
    ]
    url = emu.am("realm-config/services/oauth-oidc")
    provider = emu.request("GET", url, headers={"Accept-API-Version": AM_V1})
    doc = provider.json()
    recorded = fixture("oauth-oidc-provider-sample.json")
    assert set(doc) == set(recorded) and doc["_id"] == "" and doc["_type"] == recorded["_type"]
    assert provider.headers["ETag"] == f'"{doc["_rev"]}"'
    doc.pop("_rev")
    doc["advancedOAuth2Config"]["grantTypes"].append("urn:ietf:params:oauth:grant-type:token-exchange")
    put = emu.request("PUT", url, json=doc, headers={"Accept-API-Version": AM_V1, "If-Match": '"stale"'})
    assert put.status_code == 200
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in put.json()["advancedOAuth2Config"]["grantTypes"]
    assert put.json()["_rev"] != provider.json()["_rev"]
    # replace: a missing group is gone
    partial = {"advancedOAuth2Config": doc["advancedOAuth2Config"]}
    replaced = emu.request("PUT", url, json=partial, headers={"Accept-API-Version": AM_V1}).json()
    assert "coreOAuth2Config" not in replaced and replaced["aiAgentsConfig"]["aiAgentsEnabled"] is True
    bravo = emu.request(
        "GET", emu.am("realm-config/services/oauth-oidc", "bravo"), headers={"Accept-API-Version": AM_V1}
    ).json()
    assert bravo["aiAgentsConfig"]["aiAgentsIdentityObjectName"] == "managed/bravo_aiagent"


def test_provider_if_match_enforced_when_switched_on(emu: Emu) -> None:
    emu.control("PATCH", "config", {"am.ifMatch": "enforce"})
    url = emu.am("realm-config/services/oauth-oidc")
    doc = emu.request("GET", url, headers={"Accept-API-Version": AM_V1}).json()
    stale = emu.request("PUT", url, json=doc, headers={"Accept-API-Version": AM_V1, "If-Match": '"1"'})
    assert stale.status_code == 412
    fresh = emu.request("PUT", url, json=doc, headers={"Accept-API-Version": AM_V1, "If-Match": f'"{doc["_rev"]}"'})
    assert fresh.status_code == 200


def test_transaction_id_is_echoed(emu: Emu) -> None:
    r = emu.request(
        "GET",
        emu.agent("OAuth2Client"),
        params={"_queryFilter": "true"},
        headers={"Accept-API-Version": AM_V1, "X-ForgeRock-TransactionId": "tx-123"},
    )
    assert r.headers["X-ForgeRock-TransactionId"] == "tx-123"
    idm = emu.request("GET", emu.idm("managed/alpha_user"), params={"_queryFilter": "true"})
    assert idm.headers["Content-Type"] == "application/json;charset=utf-8"
    assert idm.headers["Cache-Control"] == "no-store"


def test_feature_disabled_then_enabled(emu: Emu) -> None:
    emu.control("PATCH", "config", {"feature.aiagents": "disabled"})
    assert emu.get_agent("AIAgent", "x").status_code == 404
    assert emu.put_agent("AIAgent", "x", {}).status_code == 404
    assert emu.request("GET", emu.idm("managed/alpha_aiagent"), params={"_queryFilter": "true"}).status_code == 404
    assert emu.request("GET", emu.idm("schema/managed/alpha_aiagentprivilege")).status_code == 404
    provider = emu.request("GET", emu.am("realm-config/services/oauth-oidc"), headers={"Accept-API-Version": AM_V1})
    assert provider.json()["aiAgentsConfig"]["aiAgentsEnabled"] is False
    info = requests.get(f"{emu.url}/am/json/serverinfo/*", headers={"Accept-API-Version": "resource=1.1"}, timeout=5)
    assert info.json()["oauth2AIAgentsEnabled"] is False
    features = emu.request("GET", f"{emu.url}/feature", params={"_queryFilter": "true"}).json()["result"]
    assert {f["_id"]: f["installedVersion"] for f in features}["aiagent"] is None
    enabled = emu.request("POST", f"{emu.url}/environment/aiagent?_action=enable", json={})
    assert enabled.status_code == 200 and enabled.json() == {}
    assert emu.put_agent("AIAgent", "x", {}).status_code == 201
    assert requests.get(f"{emu.url}/am/json/serverinfo/*", timeout=5).json()["oauth2AIAgentsEnabled"] is True
    types = emu.request(
        "POST", emu.am("realm-config/agents") + "?_action=getAllTypes", json={}, headers={"Accept-API-Version": AM_V1}
    ).json()["result"]
    assert types[-1]["_id"] == "AIAgent"


def test_server_started_with_ai_agents_disabled() -> None:
    from provisioner.emulator import EmulatorServer

    from .conftest import admin_token

    with EmulatorServer(ai_agents=False, realms=("alpha",)) as server:
        headers = {"Authorization": f"Bearer {admin_token(server)}", "Accept-API-Version": AM_V2}
        url = f"{server.url}/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/x"
        assert requests.get(url, headers=headers, timeout=5).status_code == 404
        bravo = f"{server.url}/am/json/realms/root/realms/bravo/realm-config/services/oauth-oidc"
        assert requests.get(bravo, headers=headers, timeout=5).status_code == 404
