"""TenantClient over a real loopback socket (scripted server): headers, retries, 401 refresh, drops, traces."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs

import jwt
import pytest

from provisioner import redact
from provisioner.client import (
    BadRequest,
    BearerAuth,
    RetryBudget,
    RetryPolicy,
    ServerError,
    ServiceAccountAuth,
    TenantClient,
    TraceEvent,
    TransportError,
    Unauthorized,
)
from provisioner.client.errors import RateLimited, TenantError
from provisioner.emulator.oauth.keys import generate_rsa_jwk
from provisioner.errors import ConfigurationError
from tests.client.scripted import DROP, ScriptedServer, Seen

PRIVATE, PUBLIC = generate_rsa_jwk(bits=2048)
SA = "449d7e27-7889-47af-a736-83b6bbf97ec5"
TOKEN_PATH = "/am/oauth2/access_token"
AGENT = "/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/bot"
CLIENT = "/am/json/realms/root/realms/alpha/realm-config/agents/OAuth2Client/app"
OK = (200, {}, {"ok": True})


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.close()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(server: ScriptedServer, auth=None, **kw) -> tuple[TenantClient, Sleeps]:
    sleeps = Sleeps()
    kw.setdefault("retry", RetryPolicy(random=lambda: 0.5))
    client = TenantClient(server.url, auth or BearerAuth("static-token-abc123"), sleep=sleeps, **kw)
    return client, sleeps


def token_endpoint(server: ScriptedServer, expires_in: int = 899):
    counter = itertools.count(1)

    def issue(seen: Seen):
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        assert form["client_id"] == "service-account"
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        assert form["scope"] == "fr:am:* fr:idm:*"
        public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(PUBLIC))
        claims = jwt.decode(
            form["assertion"],
            public,
            algorithms=["RS256"],
            audience=f"{server.url}{TOKEN_PATH}",
            options={"verify_exp": False},
        )
        assert claims["iss"] == claims["sub"] == SA
        return (
            200,
            {},
            {
                "access_token": f"satoken-{next(counter):04d}-abcdef",
                "expires_in": expires_in,
                "token_type": "Bearer",
                "scope": "fr:am:* fr:idm:*",
            },
        )

    server.routes[("POST", TOKEN_PATH)] = issue


def test_headers_per_endpoint(server: ScriptedServer) -> None:
    for path in (AGENT, CLIENT, "/openidm/managed/alpha_user", "/environment/aiagent"):
        server.routes[("GET", path)] = [OK]
    client, _ = make(server)
    for path in (AGENT, CLIENT, "/openidm/managed/alpha_user", "/environment/aiagent"):
        assert client.request("GET", path).body == {"ok": True}
    versions = [s.headers.get("accept-api-version") for s in server.seen]
    assert versions == ["protocol=2.1,resource=2.0", "protocol=2.1,resource=1.0", None, None]
    assert all(s.headers["authorization"] == "Bearer static-token-abc123" for s in server.seen)
    ids = [s.headers["x-forgerock-transactionid"] for s in server.seen]
    assert len(set(ids)) == 4


def test_json_body_and_query(server: ScriptedServer) -> None:
    server.routes[("PUT", CLIENT)] = [(201, {"ETag": '"123"', "Location": "x"}, {"_id": "app"})]
    client, _ = make(server)
    response = client.request("PUT", CLIENT, json={"a": 1}, params={"q": "a b"})
    assert (response.status, response.etag, response.location) == (201, '"123"', "x")
    seen = server.seen[0]
    assert json.loads(seen.body) == {"a": 1} and seen.query == {"q": ["a b"]}
    assert seen.headers["content-type"] == "application/json"


def test_get_retried_on_503_with_backoff(server: ScriptedServer) -> None:
    server.routes[("GET", CLIENT)] = [(503, {}, None), (502, {}, None), OK]
    client, sleeps = make(server)
    assert client.request("GET", CLIENT).status == 200
    assert sleeps == [0.5, 1.0]
    assert client.budget.remaining() == pytest.approx(120 - 1.5)


def test_retry_after_is_honoured(server: ScriptedServer) -> None:
    server.routes[("PUT", CLIENT)] = [(429, {"Retry-After": "3"}, {"code": 429}), OK]
    client, sleeps = make(server)
    assert client.request("PUT", CLIENT, json={}).status == 200
    assert sleeps == [3.0]


def test_gives_up_after_max_attempts(server: ScriptedServer) -> None:
    server.routes[("GET", CLIENT)] = [(503, {}, {"code": 503, "reason": "Service Unavailable", "message": "busy"})]
    client, sleeps = make(server, retry=RetryPolicy(max_attempts=3, random=lambda: 0.1))
    with pytest.raises(ServerError) as info:
        client.request("GET", CLIENT)
    assert str(info.value) == f"GET {CLIENT}: 503 Service Unavailable: busy"
    assert len(server.seen) == 3 and len(sleeps) == 2


def test_shared_budget_stops_retries(server: ScriptedServer) -> None:
    server.routes[("GET", CLIENT)] = [(429, {"Retry-After": "5"}, {"code": 429})]
    client, sleeps = make(server, budget=RetryBudget(2.0))
    with pytest.raises(RateLimited) as info:
        client.request("GET", CLIENT)
    assert info.value.retry_after == 5.0 and sleeps == [] and len(server.seen) == 1


@pytest.mark.parametrize("method,status", [("POST", 503), ("PATCH", 503), ("GET", 400), ("PUT", 412), ("DELETE", 409)])
def test_not_retried(server: ScriptedServer, method: str, status: int) -> None:
    server.routes[(method, CLIENT)] = [(status, {}, {"code": status})]
    client, sleeps = make(server)
    with pytest.raises(TenantError):
        client.request(method, CLIENT, json={})
    assert len(server.seen) == 1 and sleeps == []


def test_idempotent_patch_is_retried(server: ScriptedServer) -> None:
    server.routes[("PATCH", CLIENT)] = [(503, {}, None), OK]
    client, _ = make(server)
    assert client.request("PATCH", CLIENT, json=[], idempotent=True).status == 200


def test_raise_errors_false_returns_the_response(server: ScriptedServer) -> None:
    server.routes[("POST", "/am/oauth2/realms/root/realms/alpha/access_token")] = [
        (400, {}, {"error": "invalid_scope"})
    ]
    client, _ = make(server)
    response = client.request(
        "POST",
        "/am/oauth2/realms/root/realms/alpha/access_token",
        data={"a": "b"},
        authenticate=False,
        raise_errors=False,
    )
    assert response.status == 400 and response.body == {"error": "invalid_scope"}
    assert "authorization" not in server.seen[0].headers


def test_create_dropped_after_sending_is_ambiguous_and_not_retried(server: ScriptedServer) -> None:
    server.routes[("PUT", AGENT)] = [DROP, OK]
    client, sleeps = make(server)
    with pytest.raises(TransportError) as info:
        client.request("PUT", AGENT, json={}, headers={"If-None-Match": "*"})
    assert info.value.ambiguous is True
    assert str(info.value) == (
        f"PUT {AGENT}: the connection was dropped (attempt 1); "
        "the request may have been applied (re-read before retrying)"
    )
    assert len(server.seen) == 1 and sleeps == []


def test_post_dropped_is_ambiguous(server: ScriptedServer) -> None:
    server.routes[("POST", "/openidm/managed/alpha_user")] = [DROP]
    client, _ = make(server)
    with pytest.raises(TransportError) as info:
        client.request("POST", "/openidm/managed/alpha_user", params={"_action": "create"}, json={})
    assert info.value.ambiguous and len(server.seen) == 1


def test_replace_dropped_is_retried(server: ScriptedServer) -> None:
    server.routes[("PUT", AGENT)] = [DROP, OK]
    client, sleeps = make(server)
    assert client.request("PUT", AGENT, json={}).status == 200
    assert len(server.seen) == 2 and sleeps == [0.5]


def test_connection_refused_is_not_ambiguous() -> None:
    srv = ScriptedServer()
    url = srv.url
    srv.close()
    sleeps = Sleeps()
    client = TenantClient(
        url, BearerAuth("static-token-abc123"), sleep=sleeps, retry=RetryPolicy(max_attempts=2, random=lambda: 0.0)
    )
    with pytest.raises(TransportError) as info:
        client.request("PUT", AGENT, json={}, headers={"If-None-Match": "*"})
    assert not info.value.ambiguous
    assert str(info.value) == f"PUT {AGENT}: could not connect (attempt 2)"


def test_service_account_token_is_fetched_once_and_shared(server: ScriptedServer) -> None:
    token_endpoint(server)
    server.routes[("GET", CLIENT)] = [OK]
    auth = ServiceAccountAuth(SA, PRIVATE, server.url)
    client, _ = make(server, auth=auth)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                client.request("GET", CLIENT)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(server.calls("POST", TOKEN_PATH)) == 1
    assert {s.headers["authorization"] for s in server.calls("GET", CLIENT)} == {"Bearer satoken-0001-abcdef"}
    assert "satoken-0001-abcdef" in redact.registered()


def test_token_renewed_before_expiry(server: ScriptedServer) -> None:
    token_endpoint(server, expires_in=200)
    server.routes[("GET", CLIENT)] = [OK]
    now = [1_700_000_000.0]
    auth = ServiceAccountAuth(SA, PRIVATE, server.url, clock=lambda: now[0])
    client, _ = make(server, auth=auth)
    client.request("GET", CLIENT)
    now[0] += 139  # 61 s left: still fine
    client.request("GET", CLIENT)
    now[0] += 2  # 59 s left: inside the 60 s margin
    client.request("GET", CLIENT)
    assert [s.headers["authorization"] for s in server.calls("GET", CLIENT)] == [
        "Bearer satoken-0001-abcdef",
        "Bearer satoken-0001-abcdef",
        "Bearer satoken-0002-abcdef",
    ]


def test_short_lived_token_is_not_fetched_per_request(server: ScriptedServer) -> None:
    token_endpoint(server, expires_in=30)  # shorter than the 60 s margin: renew at half-life instead
    server.routes[("GET", CLIENT)] = [OK]
    now = [1_700_000_000.0]
    auth = ServiceAccountAuth(SA, PRIVATE, server.url, clock=lambda: now[0])
    client, _ = make(server, auth=auth)
    for _ in range(3):
        client.request("GET", CLIENT)
    assert auth.token_requests == 1
    now[0] += 15
    client.request("GET", CLIENT)
    assert auth.token_requests == 2


def test_401_refreshes_once(server: ScriptedServer) -> None:
    token_endpoint(server)
    server.routes[("GET", CLIENT)] = [
        (401, {}, {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}),
        OK,
    ]
    client, _ = make(server, auth=ServiceAccountAuth(SA, PRIVATE, server.url))
    assert client.request("GET", CLIENT).status == 200
    assert len(server.calls("POST", TOKEN_PATH)) == 2
    assert [s.headers["authorization"] for s in server.calls("GET", CLIENT)] == [
        "Bearer satoken-0001-abcdef",
        "Bearer satoken-0002-abcdef",
    ]


def test_401_twice_gives_up(server: ScriptedServer) -> None:
    token_endpoint(server)
    server.routes[("GET", CLIENT)] = [(401, {}, {"code": 401, "reason": "Unauthorized", "message": "Access Denied"})]
    client, _ = make(server, auth=ServiceAccountAuth(SA, PRIVATE, server.url))
    with pytest.raises(Unauthorized) as info:
        client.request("GET", CLIENT)
    assert str(info.value) == f"GET {CLIENT}: 401 Unauthorized: Access Denied"
    assert len(server.calls("POST", TOKEN_PATH)) == 2 and len(server.calls("GET", CLIENT)) == 2


def test_bearer_401_is_not_retried(server: ScriptedServer) -> None:
    server.routes[("GET", CLIENT)] = [(401, {}, {"code": 401, "reason": "Unauthorized", "message": "Access Denied"})]
    client, _ = make(server)
    with pytest.raises(Unauthorized):
        client.request("GET", CLIENT)
    assert len(server.seen) == 1


def test_token_failure_is_fatal_and_not_looped(server: ScriptedServer) -> None:
    server.routes[("POST", TOKEN_PATH)] = [
        (400, {}, {"error": "invalid_grant", "error_description": "Session quota exceeded"})
    ]
    client, _ = make(server, auth=ServiceAccountAuth(SA, PRIVATE, server.url))
    with pytest.raises(BadRequest) as info:
        client.request("GET", CLIENT)
    message = str(info.value)
    assert message.startswith(
        "could not obtain a service-account token: POST /am/oauth2/access_token: 400 Bad "
        "Request: invalid_grant: Session quota exceeded (not a key problem: "
    )
    assert "check the service-account id and key" not in message  # a session quota is not the key's fault
    assert "PROVISIONER_TOKEN_CACHE" in message
    assert len(server.seen) == 1


def test_a_bad_key_is_blamed_on_the_key(server: ScriptedServer) -> None:
    server.routes[("POST", TOKEN_PATH)] = [
        (400, {}, {"error": "invalid_grant", "error_description": "JWT signature is invalid"})
    ]
    client, _ = make(server, auth=ServiceAccountAuth(SA, PRIVATE, server.url))
    with pytest.raises(BadRequest) as info:
        client.request("GET", CLIENT)
    assert str(info.value).endswith("JWT signature is invalid (check the service-account id and key)")


def test_token_request_retried_once_on_429(server: ScriptedServer) -> None:
    server.routes[("POST", TOKEN_PATH)] = [(429, {"Retry-After": "2"}, {}), (503, {}, {}), (503, {}, {})]
    client, sleeps = make(server, auth=ServiceAccountAuth(SA, PRIVATE, server.url))
    with pytest.raises(ServerError):
        client.request("GET", CLIENT)
    assert len(server.seen) == 2 and sleeps == [2.0]


def test_trace_has_no_headers_or_tokens(server: ScriptedServer) -> None:
    token_endpoint(server)
    server.routes[("GET", CLIENT)] = [(503, {}, None), OK]
    events: list[TraceEvent] = []
    client, _ = make(server, auth=ServiceAccountAuth(SA, PRIVATE, server.url), trace=events.append)
    client.request("GET", CLIENT, params={"access_token": "satoken-0001-abcdef"})
    lines = [str(e) for e in events]
    assert [(e.method, e.path, e.status, e.attempt) for e in events] == [
        ("POST", TOKEN_PATH, 200, 1),
        ("GET", CLIENT, 503, 1),
        ("GET", CLIENT, 200, 2),
    ]
    assert lines[1].startswith(f"GET {CLIENT} -> 503 ") and "retrying: 503: attempt 2/5 in 0.50s" in lines[1]
    text = "\n".join(lines)
    assert "satoken" not in text and "Bearer" not in text and "assertion" not in text and "eyJ" not in text


@pytest.mark.parametrize(
    "url,kwargs,message",
    [
        ("http://openam-acme.forgeblocks.com", {}, "refusing plain http:// to openam-acme.forgeblocks.com"),
        ("http://10.1.2.3:8080", {}, "refusing plain http:// to 10.1.2.3"),
        ("https://openam-acme.forgeblocks.com", {"verify": False}, "TLS verification cannot be turned off"),
        (
            "https://openam-acme.forgeblocks.com",
            {"verify": "/nonexistent/ca.pem"},
            "CA bundle '/nonexistent/ca.pem' does not exist",
        ),
    ],
)
def test_transport_security(url: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TenantClient(url, BearerAuth("static-token-abc123"), **kwargs)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "https://x.example.com"])
def test_allowed_urls(url: str) -> None:
    TenantClient(url, BearerAuth("static-token-abc123")).close()
