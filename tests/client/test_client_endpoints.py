"""AMApi / IDMApi / EnvironmentApi request shapes, over a real socket (scripted server)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from provisioner.client import BearerAuth, RetryPolicy, TenantClient
from provisioner.client.errors import FeatureDisabled, TenantError
from tests.client.scripted import ScriptedServer, Seen

AM = "/am/json/realms/root/realms/alpha"
AGENTS = f"{AM}/realm-config/agents"
PROVIDER = f"{AM}/realm-config/services/oauth-oidc"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.close()


@pytest.fixture
def client(server: ScriptedServer) -> Iterator[TenantClient]:
    with TenantClient(
        server.url, BearerAuth("static-token-abc123"), retry=RetryPolicy(random=lambda: 0.0), sleep=lambda s: None
    ) as c:
        yield c


def envelope(items: list, cookie: str | None = None) -> dict:
    return {
        "result": items,
        "resultCount": len(items),
        "pagedResultsCookie": cookie,
        "totalPagedResultsPolicy": "NONE",
        "totalPagedResults": -1,
        "remainingPagedResults": -1,
    }


def test_am_list_sends_no_page_size(server: ScriptedServer, client: TenantClient) -> None:
    server.routes[("GET", f"{AGENTS}/AIAgent")] = [(200, {}, envelope([{"_id": "a"}, {"_id": "b"}]))]
    assert [i["_id"] for i in client.am("alpha").list("AIAgent")] == ["a", "b"]
    seen = server.seen[0]
    assert seen.query == {"_queryFilter": ["true"]}
    assert seen.headers["accept-api-version"] == "protocol=2.1,resource=2.0"
    with pytest.raises(ValueError, match="unknown AM agent kind 'WebAgent'"):
        client.am("alpha").list("WebAgent")


def test_am_find_queries_by_id(server: ScriptedServer, client: TenantClient) -> None:
    server.routes[("GET", f"{AGENTS}/OAuth2Client")] = [(200, {}, envelope([{"_id": "app", "_rev": "5"}]))]
    assert client.am("alpha").find("OAuth2Client", "app") == {"_id": "app", "_rev": "5"}
    assert server.seen[0].query == {"_queryFilter": ["_id eq 'app'"]}
    assert client.am("alpha").find("OAuth2Client", "other") is None


def test_am_get_put_delete(server: ScriptedServer, client: TenantClient) -> None:
    path = f"{AGENTS}/OAuth2Client/my%20app"
    server.routes[("GET", path)] = [(404, {}, {"code": 404, "reason": "Not Found", "message": "Not Found"})]
    server.routes[("PUT", path)] = [(201, {"ETag": '"-17"'}, {"_id": "my app", "_rev": "-17"})]
    server.routes[("DELETE", path)] = [
        (200, {}, {"_id": "my app"}),
        (404, {}, {"code": 404, "reason": "Not Found", "message": "Not Found"}),
    ]
    am = client.am("alpha")
    assert am.get("OAuth2Client", "my app") is None
    body = {
        "_id": "my app",
        "_rev": "1",
        "_provider": {},
        "_type": {"_id": "OAuth2Client"},
        "coreOAuth2ClientConfig": {"scopes": ["a"], "userpassword-encrypted": "x"},
    }
    assert am.put("OAuth2Client", "my app", body, create_only=True) == ({"_id": "my app", "_rev": "-17"}, '"-17"')
    put = server.calls("PUT", path)[0]
    assert json.loads(put.body) == {"_type": {"_id": "OAuth2Client"}, "coreOAuth2ClientConfig": {"scopes": ["a"]}}
    assert put.headers["if-none-match"] == "*"
    assert am.delete("OAuth2Client", "my app") == {"_id": "my app"}
    assert am.delete("OAuth2Client", "my app") is None


def test_am_provider(server: ScriptedServer, client: TenantClient) -> None:
    doc = {
        "_id": "",
        "_rev": "566187774",
        "_type": {"_id": "oauth-oidc"},
        "advancedOAuth2Config": {"grantTypes": ["a"]},
    }
    server.routes[("GET", PROVIDER)] = [(200, {"ETag": '"566187774"'}, doc)]
    server.routes[("PUT", PROVIDER)] = [(200, {}, doc)]
    am = client.am("alpha")
    got, rev = am.get_provider()
    assert rev == "566187774" and got == doc
    am.put_provider(got)
    sent = json.loads(server.calls("PUT", PROVIDER)[0].body)
    assert "_rev" not in sent and sent["_id"] == "" and sent["_type"] == {"_id": "oauth-oidc"}
    assert server.calls("PUT", PROVIDER)[0].headers["accept-api-version"] == "protocol=2.1,resource=1.0"


def test_am_agent_types(server: ScriptedServer, client: TenantClient) -> None:
    server.routes[("POST", AGENTS)] = [
        (503, {}, None),
        (200, {}, {"result": [{"_id": "OAuth2Client"}, {"_id": "AIAgent"}]}),
    ]
    assert [t["_id"] for t in client.am("alpha").agent_types()] == ["OAuth2Client", "AIAgent"]
    assert server.seen[-1].query == {"_action": ["getAllTypes"]}


def test_idm_paging_sends_cookie_back_exactly(server: ScriptedServer, client: TenantClient) -> None:
    cookies = ["fHwAAAAAAJiWlA%3D%3D%3A0", "a+b/c==", None]
    pages = [
        envelope([{"_id": "1"}, {"_id": "2"}], cookies[0]),
        envelope([{"_id": "3"}], cookies[1]),
        envelope([], None),
    ]

    def page(seen: Seen):
        cookie = seen.query.get("_pagedResultsCookie", [None])[0]
        index = 0 if cookie is None else cookies.index(cookie) + 1
        return (200, {}, pages[index])

    server.routes[("GET", "/openidm/managed/alpha_application")] = page
    items = client.idm.query("alpha_application", 'name eq "x"', fields=("_id", "name"), page_size=2)
    assert [i["_id"] for i in items] == ["1", "2", "3"]
    queries = [s.query for s in server.seen]
    assert [q.get("_pagedResultsCookie") for q in queries] == [None, [cookies[0]], [cookies[1]]]
    assert queries[0] == {"_queryFilter": ['name eq "x"'], "_pageSize": ["2"], "_fields": ["_id,name"]}
    assert all("accept-api-version" not in s.headers for s in server.seen)


def test_idm_paging_stops_when_cookie_repeats(server: ScriptedServer, client: TenantClient) -> None:
    server.routes[("GET", "/openidm/managed/alpha_user")] = [(200, {}, envelope([{"_id": "1"}], "same"))]
    with pytest.raises(TenantError, match="paging did not advance"):
        client.idm.query("alpha_user")


def test_idm_crud(server: ScriptedServer, client: TenantClient) -> None:
    base = "/openidm/managed/alpha_aiagentprivilege"
    server.routes[("PUT", f"{base}/p1")] = [(201, {}, {"_id": "p1", "_rev": "r1"})]
    server.routes[("POST", base)] = [(201, {}, {"_id": "srv"})]
    server.routes[("PATCH", f"{base}/p1")] = [(503, {}, None), (200, {}, {"_id": "p1", "_rev": "r2"})]
    server.routes[("GET", f"{base}/p1")] = [(200, {}, {"_id": "p1"})]
    server.routes[("DELETE", f"{base}/p1")] = [(404, {}, {"code": 404, "reason": "Not Found", "message": "Not Found"})]
    server.routes[("GET", "/openidm/managed/alpha_aiagent/a1/privileges")] = [
        (200, {}, envelope([{"_refResourceId": "p1"}]))
    ]
    idm = client.idm
    assert idm.put("alpha_aiagentprivilege", "p1", {"_id": "p1"}, if_none_match=True)["_rev"] == "r1"
    assert server.calls("PUT", f"{base}/p1")[0].headers["if-none-match"] == "*"
    assert idm.create("alpha_aiagentprivilege", {"a": 1}) == {"_id": "srv"}
    assert server.calls("POST", base)[0].query == {"_action": ["create"]}
    ops = [{"operation": "replace", "field": "/description", "value": "d"}]
    assert idm.patch("alpha_aiagentprivilege", "p1", ops, if_match="r1")["_rev"] == "r2"  # replace-only: retried
    assert server.calls("PATCH", f"{base}/p1")[0].headers["if-match"] == '"r1"'
    assert idm.get("alpha_aiagentprivilege", "p1", fields=("_id", "agent")) == {"_id": "p1"}
    assert server.calls("GET", f"{base}/p1")[0].query == {"_fields": ["_id,agent"]}
    assert idm.get("alpha_aiagentprivilege", "nope") is None
    assert idm.delete("alpha_aiagentprivilege", "p1") is None
    assert idm.relationship("alpha_aiagent", "a1", "privileges", fields=("_id",)) == [{"_refResourceId": "p1"}]
    assert idm.managed("alpha", "aiagent") == "alpha_aiagent"


def test_idm_patch_with_add_is_not_retried(server: ScriptedServer, client: TenantClient) -> None:
    path = "/openidm/managed/alpha_aiagentprivilege/p1"
    server.routes[("PATCH", path)] = [(503, {}, None), (200, {}, {})]
    with pytest.raises(TenantError):
        client.idm.patch("alpha_aiagentprivilege", "p1", [{"operation": "add", "field": "/subjects/-", "value": {}}])
    assert len(server.seen) == 1


def test_environment(server: ScriptedServer, client: TenantClient) -> None:
    server.routes[("POST", "/environment/aiagent")] = [(200, {}, {})]
    flags = [False, False, True]
    server.routes[("GET", PROVIDER)] = lambda s: (200, {}, {"aiAgentsConfig": {"aiAgentsEnabled": flags.pop(0)}})
    server.routes[("POST", AGENTS)] = [(200, {}, {"result": [{"_id": "AIAgent"}]})]
    server.routes[("GET", "/feature")] = [(404, {}, {"code": 404, "reason": "Not Found", "message": "Not Found"})]
    env = client.environment
    assert env.enable_ai_agents() == {}
    post = server.calls("POST", "/environment/aiagent")[0]
    assert post.query == {"_action": ["enable"]} and json.loads(post.body) == {}
    assert "accept-api-version" not in post.headers
    waits: list[float] = []
    status = env.wait_until_enabled("alpha", timeout=60, interval=30, on_wait=lambda w, s: waits.append(w))
    assert status.enabled and status.feature is None and len(waits) == 2
    flags[:] = [False] * 5
    with pytest.raises(FeatureDisabled, match="AI agents are still not enabled in realm 'alpha'"):
        env.wait_until_enabled("alpha", timeout=30, interval=30)


def test_idm_paging_asks_for_the_next_page_before_decoding_and_the_envelope_decides(
    server: ScriptedServer, client: TenantClient
) -> None:
    # The envelope before the results, and a result holding a key of the cookie's name: the cookie read
    # from the end of the undecoded page is the decoy. The decoded envelope says "real": the page asked
    # for with the decoy is ignored (it fails, too: 400) and the next page is asked for with "real".
    first = {
        "pagedResultsCookie": "real",
        "result": [{"_id": "1", "meta": {"pagedResultsCookie": "decoy"}}],
        "resultCount": 1,
    }

    def page(seen: Seen):
        cookie = seen.query.get("_pagedResultsCookie", [None])[0]
        if cookie is None:
            return (200, {}, first)
        if cookie == "real":
            return (200, {}, envelope([{"_id": "2"}], None))
        return (400, {}, {"code": 400, "message": "a page nobody should use"})

    server.routes[("GET", "/openidm/managed/alpha_application")] = page
    items = client.idm.query("alpha_application", "true", fields=("_id",), page_size=1)
    assert [i["_id"] for i in items] == ["1", "2"]
    deadline = time.monotonic() + 5
    while len(server.seen) < 3 and time.monotonic() < deadline:  # the ignored page may still be on its way
        time.sleep(0.01)
    assert sorted(str(s.query.get("_pagedResultsCookie")) for s in server.seen) == ["None", "['decoy']", "['real']"]


@pytest.mark.parametrize(
    ("content", "cookie"),
    [
        (b'{"result":[],"pagedResultsCookie":"abc=="}', "abc=="),
        (b'{"result":[],"pagedResultsCookie" : "a\\"b\\\\c","x":1}', 'a"b\\c'),
        (b'{"result":[],"pagedResultsCookie":null}', None),
        (b'{"result":[],"pagedResultsCookie":""}', None),
        (b'{"result":[],"pagedResultsCookie":17}', None),
        (b'{"result":[]}', None),
        (b"", None),
        (None, None),
        (b'{"result":[],"pagedResultsCookie":"unterminated', None),
    ],
)
def test_peek_cookie_reads_the_envelope_end(content: bytes | None, cookie: str | None) -> None:
    from provisioner.client.idm import peek_cookie

    assert peek_cookie(content) == cookie


def test_page_stream_fetches_at_most_a_few_pages_ahead_and_stops_when_closed() -> None:
    from provisioner.client.idm import PageStream
    from provisioner.client.response import Response

    asked: list[str | None] = []

    def fetch(cookie: str | None) -> Response:
        asked.append(cookie)
        following = int(cookie or 0) + 1
        return Response(200, {}, content=json.dumps({"result": [], "pagedResultsCookie": str(following)}).encode())

    pages = PageStream(fetch)
    assert json.loads(pages.page(None).content or b"")["pagedResultsCookie"] == "1"
    time.sleep(0.3)  # a slow caller: the stream waits once it holds AHEAD pages
    assert len(asked) <= 2 + PageStream.AHEAD
    assert json.loads(pages.page("1").content or b"")["pagedResultsCookie"] == "2"
    pages.close()
    time.sleep(0.3)
    settled = len(asked)
    time.sleep(0.2)
    assert len(asked) == settled  # nothing asked for after close
    assert pages.page("7").content is not None and asked[-1] == "7"  # closed: one page at a time
