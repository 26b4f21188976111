"""Contract tests for the API behaviour provisioner relies on (create, replace, list forms, delete,
privileges). Marked ``contract``: only the documented API, runnable against a real tenant with
``--tenant-url`` (docs/emulator.md); objects are prefixed and deleted in a ``finally``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .contract import AM_V1, AM_V2, ContractTenant, contract_tenant

pytestmark = pytest.mark.contract


@pytest.fixture
def tenant(request: pytest.FixtureRequest) -> Iterator[ContractTenant]:
    yield from contract_tenant(request)


def _agent_body(name: str) -> dict[str, object]:
    return {"aiAgentIdentityAttributes": {"inherited": False, "value": {"name": name}}}


def test_put_creates_with_201_then_replaces_the_whole_agent(tenant: ContractTenant) -> None:
    agent = tenant.name("replace")
    created = tenant.put_agent("AIAgent", agent, _agent_body(agent))
    assert created.status == 201, created.body
    headers = {k.lower(): v for k, v in created.headers.items()}
    assert headers["location"].endswith(tenant.agent_path("AIAgent", agent))
    assert headers["etag"] == f'"{created.body["_rev"]}"'
    assert created.body["coreOAuth2ClientConfig"]["clientType"] == {"inherited": False, "value": "Confidential"}
    assert "userpassword" not in created.body["coreOAuth2ClientConfig"]
    # a PUT on an existing agent stores exactly the body: partial groups, nothing filled in
    replaced = tenant.call(
        "PUT",
        tenant.agent_path("AIAgent", agent),
        version=AM_V2,
        json={"coreOAuth2ClientConfig": {"scopes": ["contract:a"]}},
    )
    assert replaced.status == 200, replaced.body
    assert "location" not in {k.lower() for k in replaced.headers}
    assert replaced.body["coreOAuth2ClientConfig"] == {"scopes": {"inherited": False, "value": ["contract:a"]}}
    assert "advancedOAuth2ClientConfig" not in replaced.body
    read = tenant.call("GET", tenant.agent_path("AIAgent", agent), version=AM_V2)
    assert read.status == 200 and read.body == replaced.body


def test_list_envelopes_and_plain_items(tenant: ContractTenant) -> None:
    agent = tenant.name("list")
    created = tenant.put_agent("AIAgent", agent, _agent_body(agent))
    assert created.status == 201, created.body
    query = {"_queryFilter": f"_id eq '{agent}'"}
    per_type = tenant.call("GET", tenant.agent_path("AIAgent"), version=AM_V2, params=query).body
    assert {k: v for k, v in per_type.items() if k != "result"} == {
        "resultCount": 1,
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "EXACT",
        "totalPagedResults": 1,
        "remainingPagedResults": -1,
    }
    item = per_type["result"][0]
    assert item["aiAgentIdentityUid"] == created.body["aiAgentIdentityUid"]["value"]
    assert item["coreOAuth2ClientConfig"]["clientType"] == "Confidential"  # plain, not wrapped
    cross = tenant.call("GET", tenant.am_path("realm-config/agents"), version=AM_V1, params=query).body
    assert cross["totalPagedResultsPolicy"] == "NONE" and cross["totalPagedResults"] == -1
    nothing = tenant.call(
        "GET", tenant.agent_path("AIAgent"), version=AM_V2, params={"_queryFilter": f"_id eq '{tenant.name('absent')}'"}
    ).body
    assert nothing["result"] == [] and nothing["resultCount"] == 0


def test_delete_echoes_the_agent_and_then_it_is_gone(tenant: ContractTenant) -> None:
    agent = tenant.name("delete")
    assert tenant.put_agent("AIAgent", agent, _agent_body(agent)).status == 201
    path = tenant.agent_path("AIAgent", agent)
    deleted = tenant.call("DELETE", path, version=AM_V2)
    assert deleted.status == 200 and deleted.body["_id"] == agent
    missing = tenant.call("GET", path, version=AM_V2)
    assert missing.status == 404
    assert missing.body == {"code": 404, "reason": "Not Found", "message": "Not Found"}


def test_privilege_create_answers_its_virtual_fields(tenant: ContractTenant) -> None:
    agent, app_client = tenant.name("priv-agent"), tenant.name("priv-app")
    created = tenant.put_agent("AIAgent", agent, _agent_body(agent))
    assert created.status == 201, created.body
    uid = created.body["aiAgentIdentityUid"]["value"]
    app_id, privilege_id = str(uuid.uuid4()), str(uuid.uuid4())
    app = tenant.put_idm(
        f"{tenant.realm}_application",
        app_id,
        {
            "name": app_client,
            "templateName": "service",
            "templateVersion": "1.0",
            "ssoEntities": {"oidcId": app_client},
        },
    )
    assert app.status == 201, app.body
    privilege = tenant.put_idm(
        f"{tenant.realm}_aiagentprivilege",
        privilege_id,
        {
            "description": "provisioner contract test",
            "agent": {"_ref": f"managed/{tenant.realm}_aiagent/{uid}"},
            "resource": {"_ref": f"managed/{tenant.realm}_application/{app_id}"},
            "permissions": [{"type": "scopes", "values": []}],
        },
    )
    assert privilege.status == 201, privilege.body
    body = privilege.body
    assert body["agentID"] == uid and body["agentOAuth2ClientId"] == agent
    assert body["resourceData"]["ssoEntities"] == {"oidcId": app_client}
    assert body["subjectIDs"] == []
    assert tenant.call("GET", tenant.idm_path(f"managed/{tenant.realm}_aiagentprivilege/{privilege_id}")).status == 200
