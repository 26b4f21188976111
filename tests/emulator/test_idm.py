"""IDM managed objects (reference §5, §6.8, §7, §9): CRUD, PATCH, queries, paging, _fields,
relationships, privilege virtual fields, policies."""

from __future__ import annotations

from typing import Any

from .conftest import Emu, fixture, ref

PRIVILEGE_FIELDS = (
    "_id,agent,agentID,agentOAuth2ClientId,description,permissions,resource,resourceData,"
    "subjectGroups,subjectIDs,subjects"
)


def _privilege(emu: Emu, pid: str, agent_uid: str, **extra: Any) -> Any:
    body = {
        "_id": pid,
        "description": "Privilege",
        "permissions": [{"type": "scopes", "values": ["openid"]}],
        "agent": ref("alpha", "aiagent", agent_uid),
        **extra,
    }
    return emu.request(
        "PUT", emu.idm(f"managed/alpha_aiagentprivilege/{pid}"), json=body, headers={"If-None-Match": "*"}
    )


def _setup(emu: Emu) -> dict[str, Any]:
    agent = emu.new_agent("FrodoOpsTestAIAgent11")
    uid = agent["aiAgentIdentityUid"]["value"]
    app = emu.new_app("Priv App", "FrodoOpsPrivApp1")
    seeded = emu.seed(
        users=[{"userName": "bob", "password": "pw-bob"}, {"userName": "carol", "password": "pw"}],
        groups=[{"_id": "FrodoOpsTestAIPrivGroup", "members": ["carol"]}],
    )
    users = {u["userName"]: u["_id"] for u in seeded["users"]}
    return {"uid": uid, "app": app, "users": users}


def test_privilege_create_and_virtual_fields(emu: Emu) -> None:
    s = _setup(emu)
    created = _privilege(emu, "07707883-48f5-46cd-b6be-d740f87aeded", s["uid"])
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {
        "_id",
        "_rev",
        "agentID",
        "subjectIDs",
        "permissions",
        "resourceData",
        "description",
        "agentOAuth2ClientId",
    }
    assert body["agentID"] == s["uid"] and body["agentOAuth2ClientId"] == "FrodoOpsTestAIAgent11"
    assert body["resourceData"] == {} and body["subjectIDs"] == []
    assert created.headers["ETag"] == f'"{body["_rev"]}"'
    assert created.headers["Location"] == emu.idm("managed/alpha_aiagentprivilege/07707883-48f5-46cd-b6be-d740f87aeded")
    url = emu.idm("managed/alpha_aiagentprivilege/07707883-48f5-46cd-b6be-d740f87aeded")
    r = emu.request(
        "PATCH",
        url,
        json=[{"operation": "replace", "field": "/resource", "value": ref("alpha", "application", s["app"]["_id"])}],
    )
    data = r.json()["resourceData"]
    assert data == {
        "ssoEntities": {"oidcId": "FrodoOpsPrivApp1"},
        "_rev": s["app"]["_rev"],
        "_id": s["app"]["_id"],
        "_refResourceCollection": "managed/alpha_application",
        "_refResourceId": s["app"]["_id"],
        "_ref": f"managed/alpha_application/{s['app']['_id']}",
    }
    emu.request(
        "PATCH",
        url,
        json=[
            {"operation": "replace", "field": "/subjects", "value": [ref("alpha", "user", s["users"]["bob"])]},
            {
                "operation": "replace",
                "field": "/subjectGroups",
                "value": [ref("alpha", "group", "FrodoOpsTestAIPrivGroup")],
            },
        ],
    )
    full = emu.request("GET", url, params={"_fields": PRIVILEGE_FIELDS}).json()
    assert full["subjectIDs"] == [s["users"]["bob"], s["users"]["carol"]]
    assert full["resource"]["_refProperties"].keys() == {"_id", "_rev"}
    # a write body's virtual fields are dropped; group membership changes flow into subjectIDs
    emu.request(
        "PATCH",
        emu.idm("managed/alpha_group/FrodoOpsTestAIPrivGroup"),
        json=[{"operation": "replace", "field": "/members", "value": []}],
    )
    assert emu.request("GET", url).json()["subjectIDs"] == [s["users"]["bob"]]
    # the app's client id change flows into resourceData
    emu.request(
        "PATCH",
        emu.idm(f"managed/alpha_application/{s['app']['_id']}"),
        json=[{"operation": "replace", "field": "/ssoEntities/oidcId", "value": "renamed"}],
    )
    assert emu.request("GET", url).json()["resourceData"]["ssoEntities"] == {"oidcId": "renamed"}
    # query by searchable virtual fields
    for flt in (
        'agentOAuth2ClientId eq "FrodoOpsTestAIAgent11"',
        'resourceData/ssoEntities/oidcId eq "renamed"',
        f'subjectIDs eq "{s["users"]["bob"]}"',
        f"agentID eq '{s['uid']}'",
    ):
        found = emu.request("GET", emu.idm("managed/alpha_aiagentprivilege"), params={"_queryFilter": flt}).json()
        assert found["resultCount"] == 1, flt


def test_relationship_collection_shape_matches_fixture(emu: Emu) -> None:
    s = _setup(emu)
    _privilege(
        emu,
        "p1",
        s["uid"],
        resource=ref("alpha", "application", s["app"]["_id"]),
        subjects=[ref("alpha", "user", s["users"]["bob"])],
        subjectGroups=[ref("alpha", "group", "FrodoOpsTestAIPrivGroup")],
    )
    r = emu.request(
        "GET",
        emu.idm(f"managed/alpha_aiagent/{s['uid']}/privileges"),
        params={"_queryFilter": "true", "_pageSize": "1000", "_fields": PRIVILEGE_FIELDS},
    )
    assert r.status_code == 200 and "ETag" not in r.headers
    recorded = fixture("aiagent-privileges-relcollection-sample.json")
    got = r.json()
    assert set(got) == set(recorded)
    assert got["totalPagedResultsPolicy"] == "NONE" and got["pagedResultsCookie"] is None
    item, sample = got["result"][0], recorded["result"][0]
    assert set(item) == set(sample)
    assert set(item["resourceData"]) == set(sample["resourceData"])
    for prop in ("agent", "resource"):
        assert set(item[prop]) == set(sample[prop])
    privilege = emu.request("GET", emu.idm("managed/alpha_aiagentprivilege/p1"), params={"_fields": "agent"}).json()
    # W8: relationship-collection _id == the edge id on the privilege's agent
    assert item["_id"] == privilege["agent"]["_refProperties"]["_id"] == item["_refProperties"]["_id"]
    assert item["_refResourceId"] == "p1" and item["_refResourceRev"] == privilege["_rev"]
    # the agent's reverse side is maintained without bumping its _rev (W6)
    agent = emu.request("GET", emu.idm(f"managed/alpha_aiagent/{s['uid']}"), params={"_fields": "*,privileges"}).json()
    assert [p["_refResourceId"] for p in agent["privileges"]] == ["p1"]
    assert (
        agent["_rev"]
        == emu.get_agent("AIAgent", "FrodoOpsTestAIAgent11").json()["aiAgentIdentityAttributes"]["value"]["_rev"]
    )
    app = emu.request(
        "GET", emu.idm(f"managed/alpha_application/{s['app']['_id']}"), params={"_fields": "name,aiagentprivileges"}
    ).json()
    assert [p["_refResourceId"] for p in app["aiagentprivileges"]] == ["p1"]
    group = emu.request(
        "GET", emu.idm("managed/alpha_group/FrodoOpsTestAIPrivGroup"), params={"_fields": "aiagentprivileges"}
    ).json()
    assert [p["_refResourceId"] for p in group["aiagentprivileges"]] == ["p1"]


def test_policy_failures(emu: Emu) -> None:
    no_agent = emu.request(
        "POST", emu.idm("managed/alpha_aiagentprivilege?_action=create"), json={"description": "x", "permissions": []}
    )
    assert no_agent.status_code == 403
    assert no_agent.json() == {
        "code": 403,
        "reason": "Forbidden",
        "message": "Failed policy validation",
        "detail": {
            "result": False,
            "failedPolicyRequirements": [
                {"policyRequirements": [{"policyRequirement": "REQUIRED"}], "property": "agent"}
            ],
        },
    }
    emu.new_app("Same", "c1")
    dup = emu.request("POST", emu.idm("managed/alpha_application?_action=create"), json={"name": "Same"})
    assert dup.status_code == 403
    assert dup.json()["detail"]["failedPolicyRequirements"][0] == {
        "policyRequirements": [{"policyRequirement": "UNIQUE"}],
        "property": "name",
    }
    app = emu.new_app("Other", "c2")
    reverse = emu.request(
        "PATCH",
        emu.idm(f"managed/alpha_application/{app['_id']}"),
        json=[{"operation": "add", "field": "/aiagentprivileges", "value": ref("alpha", "aiagentprivilege", "p")}],
    )
    assert reverse.status_code == 403
    assert reverse.json()["detail"]["failedPolicyRequirements"] == [
        {
            "policyRequirements": [
                {"params": {"invalidType": "object", "validTypes": ["array"]}, "policyRequirement": "VALID_TYPE"}
            ],
            "property": "aiagentprivileges",
        }
    ]


def test_put_preconditions_and_revisions(emu: Emu) -> None:
    url = emu.idm("managed/alpha_application/app-1")
    first = emu.request("PUT", url, json={"name": "A"}, headers={"If-None-Match": "*"})
    assert first.status_code == 201
    again = emu.request("PUT", url, json={"name": "A"}, headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json() == {"code": 412, "reason": "Precondition Failed", "message": "Resource already exists"}
    assert emu.request("PUT", url, json={"name": "A"}, headers={"If-None-Match": '"x"'}).status_code == 400
    stale = emu.request("PUT", url, json={"name": "B"}, headers={"If-Match": '"not-the-rev"'})
    assert stale.status_code == 412
    rev = first.json()["_rev"]
    updated = emu.request("PUT", url, json={"name": "B"}, headers={"If-Match": f'"{rev}"'})
    assert updated.status_code == 200 and updated.json()["_rev"] != rev
    prefix, counter = rev.rsplit("-", 1)
    assert updated.json()["_rev"].startswith(prefix) and int(updated.json()["_rev"].rsplit("-", 1)[1]) > int(counter)
    deleted = emu.request("DELETE", url)
    assert deleted.status_code == 200 and deleted.json()["name"] == "B"
    assert emu.request("GET", url).json() == {"code": 404, "reason": "Not Found", "message": "Not Found"}


def test_patch_operations_and_noop(emu: Emu) -> None:
    seeded = emu.seed(users=[{"userName": "u1", "password": "p"}, {"userName": "u2", "password": "p"}])
    ids = [u["_id"] for u in seeded["users"]]
    uid = emu.new_agent("patchy")["aiAgentIdentityUid"]["value"]
    url = emu.idm(f"managed/alpha_aiagent/{uid}")
    owners = [ref("alpha", "user", ids[0])]
    r1 = emu.request("PATCH", url, json=[{"operation": "replace", "field": "/owners", "value": owners}])
    assert r1.status_code == 200 and "owners" not in r1.json() and "x-not-modified" not in r1.headers
    r2 = emu.request("PATCH", url, json=[{"operation": "replace", "field": "/owners", "value": owners}])
    assert r2.headers["x-not-modified"] == "true" and r2.json()["_rev"] == r1.json()["_rev"]
    assert r2.headers["ETag"] == r1.headers["ETag"]
    emu.request("PATCH", url, json=[{"operation": "add", "field": "/owners/-", "value": ref("alpha", "user", ids[1])}])
    got = emu.request("GET", url, params={"_fields": "owners"}).json()["owners"]
    assert [o["_refResourceId"] for o in got] == ids
    emu.request(
        "PATCH",
        url,
        json=[{"operation": "remove", "field": "/owners", "value": {"_ref": f"managed/alpha_user/{ids[0]}"}}],
    )
    got = emu.request("GET", url, params={"_fields": "owners"}).json()["owners"]
    assert [o["_refResourceId"] for o in got] == [ids[1]]
    emu.request(
        "PATCH",
        url,
        json=[
            {"operation": "add", "field": "/customAttributes", "value": {"custom1": "v"}},
            {"operation": "remove", "field": "/description"},
        ],
    )
    body = emu.request("GET", url).json()
    assert body["customAttributes"] == {"custom1": "v"} and "description" not in body
    bad = emu.request("PATCH", url, json=[{"operation": "frobnicate", "field": "/x"}])
    assert bad.status_code == 400


def test_fields_paging_and_hidden_properties(emu: Emu) -> None:
    emu.seed(users=[{"userName": f"user{i:02}", "password": "secret", "givenName": "G", "sn": "S"} for i in range(7)])
    url = emu.idm("managed/alpha_user")
    names, cookie, pages = [], None, 0
    while True:
        params = {"_queryFilter": 'userName sw "user"', "_pageSize": "3", "_fields": "userName"}
        if cookie:
            params["_pagedResultsCookie"] = cookie
        page = emu.request("GET", url, params=params).json()
        pages += 1
        for item in page["result"]:
            assert set(item) == {"_id", "_rev", "userName"}
        names += [i["userName"] for i in page["result"]]
        assert page["totalPagedResults"] == -1 and page["remainingPagedResults"] == -1
        cookie = page["pagedResultsCookie"]
        if cookie is None:
            break
    assert names == [f"user{i:02}" for i in range(7)] and pages == 3
    one = emu.request("GET", url, params={"_queryFilter": 'userName eq "user03"'}).json()["result"][0]
    assert "password" not in one and one["givenName"] == "G"
    assert emu.request("GET", url, params={"_queryFilter": "bad filter here"}).status_code == 400
    assert emu.request("GET", url).status_code == 400
    sorted_desc = emu.request(
        "GET", url, params={"_queryFilter": "true", "_sortKeys": "-userName", "_fields": "userName"}
    ).json()["result"]
    assert sorted_desc[0]["userName"] == "user06"


def test_application_fields_and_delete_keeps_privileges(emu: Emu) -> None:
    s = _setup(emu)
    _privilege(emu, "p1", s["uid"], resource=ref("alpha", "application", s["app"]["_id"]))
    listed = emu.request(
        "GET",
        emu.idm("managed/alpha_application"),
        params={"_queryFilter": "true", "_fields": "_id,name,ssoEntities,authoritative,connectorId"},
    ).json()["result"][0]
    assert set(listed) == {"_id", "_rev", "name", "ssoEntities"}  # W7: unset fields omitted
    assert emu.request("DELETE", emu.idm(f"managed/alpha_application/{s['app']['_id']}")).status_code == 200
    kept = emu.request("GET", emu.idm("managed/alpha_aiagentprivilege/p1"), params={"_fields": "*,resource"})
    assert kept.status_code == 200 and "resource" not in kept.json() and kept.json()["resourceData"] == {}


def test_application_delete_cascade_switch(emu: Emu) -> None:
    emu.control("PATCH", "config", {"idm.app.deleteCascade": True})
    s = _setup(emu)
    _privilege(emu, "p1", s["uid"], resource=ref("alpha", "application", s["app"]["_id"]))
    emu.request("DELETE", emu.idm(f"managed/alpha_application/{s['app']['_id']}"))
    assert emu.request("GET", emu.idm("managed/alpha_aiagentprivilege/p1")).status_code == 404


def test_idm_identity_delete_runs_the_privilege_hook(emu: Emu) -> None:
    s = _setup(emu)
    _privilege(emu, "p1", s["uid"])
    assert emu.request("DELETE", emu.idm(f"managed/alpha_aiagent/{s['uid']}")).status_code == 200
    assert emu.request("GET", emu.idm("managed/alpha_aiagentprivilege/p1")).status_code == 404


def test_schemas_and_unknown_types(emu: Emu) -> None:
    agent = emu.request("GET", emu.idm("schema/managed/alpha_aiagent")).json()
    assert agent == fixture("idm-schema-alpha_aiagent.json")
    privilege = emu.request("GET", emu.idm("schema/managed/bravo_aiagentprivilege")).json()
    assert privilege["resourceCollection"] == "managed/bravo_aiagentprivilege"
    app = emu.request("GET", emu.idm("schema/managed/alpha_application")).json()
    assert app["required"] == ["name"] and app["properties"]["owners"]["returnByDefault"] is False
    assert emu.request("GET", emu.idm("managed/alpha_widget"), params={"_queryFilter": "true"}).status_code == 404
    assert emu.request("GET", emu.idm("managed/charlie_user"), params={"_queryFilter": "true"}).status_code == 404


def test_invalid_reference_is_400(emu: Emu) -> None:
    r = emu.request(
        "POST",
        emu.idm("managed/alpha_aiagentprivilege?_action=create"),
        json={"agent": ref("alpha", "aiagent", "does-not-exist")},
    )
    assert r.status_code == 400
    r = emu.request(
        "POST", emu.idm("managed/alpha_aiagentprivilege?_action=create"), json={"agent": ref("bravo", "user", "x")}
    )
    assert r.status_code == 400


def test_pages_of_a_collection_are_the_whole_list_cut_up(emu: Emu) -> None:
    """Only the requested page is rendered: the pages put together are the unpaged answer exactly
    (virtual fields included), with and without a filter."""
    s = _setup(emu)
    for i in range(5):
        extra = {"resource": ref("alpha", "application", s["app"]["_id"])} if i % 2 else {}
        assert _privilege(emu, f"priv-{i}", s["uid"], **extra).status_code == 201
    url = emu.idm("managed/alpha_aiagentprivilege")
    for query in ("true", 'description eq "Privilege"'):
        fields = {"_fields": "*,resource,subjectIDs,resourceData,agentID"}
        whole = emu.request("GET", url, params={"_queryFilter": query, **fields}).json()["result"]
        pieces, cookie = [], None
        while True:
            params = {"_queryFilter": query, "_pageSize": "2", **fields}
            if cookie:
                params["_pagedResultsCookie"] = cookie
            body = emu.request("GET", url, params=params).json()
            pieces += body["result"]
            assert body["resultCount"] == len(body["result"]) <= 2
            cookie = body["pagedResultsCookie"]
            if cookie is None:
                break
        assert len(whole) == 5 and pieces == whole
