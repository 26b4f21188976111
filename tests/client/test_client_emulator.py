"""The real client against the emulator over a real socket (no mocks): auth, paging, CRUD, faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from provisioner import redact
from provisioner.client import (
    PreconditionFailed,
    RetryPolicy,
    ServiceAccountAuth,
    TenantClient,
    TraceEvent,
    TransportError,
    unwrap,
)
from provisioner.errors import ConfigurationError

try:
    from provisioner.emulator import EmulatorServer  # type: ignore[attr-defined]
except ImportError:  # the emulator is built concurrently; these tests wait for it
    pytest.skip("provisioner.emulator.EmulatorServer is not available yet", allow_module_level=True)

REALM = "alpha"


@pytest.fixture
def emulator() -> Iterator[Any]:
    with EmulatorServer(port=0) as server:
        yield server


class Recorder(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(server: Any, **kw: Any) -> tuple[TenantClient, ServiceAccountAuth]:
    account = server.service_account
    auth = ServiceAccountAuth(account["id"], account["jwk"], server.url)
    kw.setdefault("retry", RetryPolicy(random=lambda: 0.01))
    kw.setdefault("sleep", Recorder())
    return TenantClient(server.url, auth, **kw), auth


def control(client: TenantClient, method: str, what: str, body: Any = None) -> Any:
    return client.request(method, f"/_emulator/{what}", json=body, authenticate=False).body


def test_token_obtained_once_and_shared_by_workers(emulator: Any) -> None:
    events: list[TraceEvent] = []
    client, auth = connect(emulator, trace=events.append)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            client.am(REALM).list("OAuth2Client")
            client.idm.query(f"{REALM}_user", fields=("_id",))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert auth.token_requests == 1
    assert [e.path for e in events].count("/am/oauth2/access_token") == 1


def test_refresh_once_on_401_when_the_token_was_evicted(emulator: Any) -> None:
    client, auth = connect(emulator)
    control(client, "PATCH", "config", {"sa.sessionLimit": 1, "sa.sessionLimitMode": "evict-oldest"})
    client.am(REALM).list("OAuth2Client")
    other, _ = connect(emulator)
    other.am(REALM).list("OAuth2Client")  # a second session evicts the first client's token
    assert client.am(REALM).list("OAuth2Client") == []
    assert auth.token_requests == 2


def test_short_lived_token_is_renewed_not_refetched_per_request(emulator: Any) -> None:
    client, auth = connect(emulator)
    control(client, "PATCH", "config", {"sa.tokenLifetime": 600})
    for _ in range(5):
        client.am(REALM).list("OAuth2Client")
    assert auth.token_requests == 1


def test_idm_paging_across_pages(emulator: Any) -> None:
    events: list[TraceEvent] = []
    client, _ = connect(emulator, trace=events.append)
    users = [{"userName": f"user{n:02d}", "password": "Passw0rd-for-tests!"} for n in range(25)]
    control(client, "POST", "seed", {"realm": REALM, "users": users})
    found = client.idm.query(f"{REALM}_user", fields=("_id", "userName"), page_size=10)
    names = [u.get("userName") for u in found]
    assert {u["userName"] for u in users} <= set(names) and len(names) == len(set(names))
    pages = [e for e in events if e.method == "GET" and e.path == f"/openidm/managed/{REALM}_user"]
    assert len(pages) >= 3


def test_am_oauth2client_roundtrip(emulator: Any) -> None:
    client, _ = connect(emulator)
    am = client.am(REALM)
    assert am.get("OAuth2Client", "orders-api") is None
    body = {
        "coreOAuth2ClientConfig": {"scopes": ["orders.read"], "clientName": ["Orders"]},
        "advancedOAuth2ClientConfig": {"grantTypes": ["client_credentials"]},
    }
    created, etag = am.put("OAuth2Client", "orders-api", body)
    assert etag and created["_id"] == "orders-api"
    doc, etag2 = am.get("OAuth2Client", "orders-api")  # type: ignore[misc]
    plain = unwrap(doc)
    assert plain["coreOAuth2ClientConfig"]["scopes"] == ["orders.read"]
    assert "orders-api" in [i["_id"] for i in am.list("OAuth2Client")]
    found = am.find("OAuth2Client", "orders-api")
    assert found and found["coreOAuth2ClientConfig"]["scopes"] == ["orders.read"] and found["_rev"]
    assert am.find("OAuth2Client", "nope") is None
    plain["coreOAuth2ClientConfig"]["scopes"] = ["orders.read", "orders.write"]
    am.put("OAuth2Client", "orders-api", plain)
    doc, _ = am.get("OAuth2Client", "orders-api")  # type: ignore[misc]
    assert sorted(unwrap(doc)["coreOAuth2ClientConfig"]["scopes"]) == ["orders.read", "orders.write"]
    assert am.delete("OAuth2Client", "orders-api") is not None
    assert am.get("OAuth2Client", "orders-api") is None
    assert am.delete("OAuth2Client", "orders-api") is None


def test_am_aiagent_create_only(emulator: Any) -> None:
    client, _ = connect(emulator)
    am = client.am(REALM)
    body = {
        "aiAgentIdentityAttributes": {"inherited": False, "value": {"oauth2ClientId": "bot-1", "name": "Bot 1"}},
        "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
    }
    created, _ = am.put("AIAgent", "bot-1", body, create_only=True)
    uid = unwrap(created)["aiAgentIdentityUid"]
    assert uid
    with pytest.raises(PreconditionFailed):
        am.put("AIAgent", "bot-1", body, create_only=True)
    identity = client.idm.get(f"{REALM}_aiagent", uid, fields=("_id", "name", "oauth2ClientId"))
    assert identity and identity["oauth2ClientId"] == "bot-1"
    assert [i["_id"] for i in am.list("AIAgent")] == ["bot-1"]
    assert client.idm.relationship(f"{REALM}_aiagent", uid, "privileges", fields=("_id",)) == []


def test_provider_roundtrip_and_feature(emulator: Any) -> None:
    client, _ = connect(emulator)
    am = client.am(REALM)
    doc, rev = am.get_provider()
    assert rev
    grants = doc["advancedOAuth2Config"]["grantTypes"]
    doc["advancedOAuth2Config"]["grantTypes"] = grants + ["urn:ietf:params:oauth:grant-type:token-exchange"]
    am.put_provider(doc)
    assert (
        "urn:ietf:params:oauth:grant-type:token-exchange" in am.get_provider()[0]["advancedOAuth2Config"]["grantTypes"]
    )
    assert client.environment.ai_agents_enabled(REALM)


def test_retries_on_injected_503_and_429(emulator: Any) -> None:
    events: list[TraceEvent] = []
    sleeps = Recorder()
    client, _ = connect(emulator, trace=events.append, sleep=sleeps)
    control(
        client,
        "PUT",
        "faults",
        [{"path": "realm-config/agents/OAuth2Client", "probability": 1, "action": "status", "status": 503, "count": 2}],
    )
    assert client.am(REALM).list("OAuth2Client") == []
    statuses = [e.status for e in events if "OAuth2Client" in e.path]
    assert statuses == [503, 503, 200]
    control(
        client,
        "PUT",
        "faults",
        [
            {
                "path": "/openidm/managed",
                "probability": 1,
                "action": "status",
                "status": 429,
                "retryAfter": 2,
                "count": 1,
            }
        ],
    )
    client.idm.query(f"{REALM}_user")
    assert 2.0 in sleeps


def test_create_under_drop_after_is_ambiguous(emulator: Any) -> None:
    client, _ = connect(emulator)
    control(
        client,
        "PUT",
        "faults",
        [{"path": "AIAgent/bot-2", "method": "PUT", "probability": 1, "action": "drop-after", "count": 1}],
    )
    body = {"aiAgentIdentityAttributes": {"inherited": False, "value": {"oauth2ClientId": "bot-2", "name": "Bot 2"}}}
    with pytest.raises(TransportError) as info:
        client.am(REALM).put("AIAgent", "bot-2", body, create_only=True)
    assert info.value.ambiguous
    assert client.am(REALM).get("AIAgent", "bot-2") is not None  # it was applied: re-read and match


def test_trace_shows_requests_but_no_credentials(emulator: Any) -> None:
    events: list[TraceEvent] = []
    client, auth = connect(emulator, trace=events.append)
    client.am(REALM).list("AIAgent")
    text = "\n".join(str(e) for e in events)
    assert "POST /am/oauth2/access_token -> 200" in text
    assert f"GET /am/json/realms/root/realms/{REALM}/realm-config/agents/AIAgent -> 200" in text
    assert auth._token and auth._token in redact.registered()
    assert auth._token not in text and "Bearer" not in text and "Authorization" not in text


def test_http_to_a_non_loopback_host_is_refused(emulator: Any) -> None:
    account = emulator.service_account
    with pytest.raises(ConfigurationError, match="refusing plain http://"):
        TenantClient("http://tenant.example.com", ServiceAccountAuth(account["id"], account["jwk"], emulator.url))
