"""Items 3 and 5: a tenant (or a proxy) that drips, floods or echoes secrets back.

Each request has a total deadline and a response-size cap (``PROVISIONER_HTTP_DEADLINE``,
``PROVISIONER_HTTP_MAX_BYTES``), and the error names the request. A server that quotes the request
body back (JSON-escaped, or form-encoded) does not get the secret printed.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from provisioner import redact
from provisioner.client.auth import BearerAuth
from provisioner.client.bounded import HttpLimits
from provisioner.client.errors import TenantError
from provisioner.client.oauth import OAuthEndpoints, OAuthError
from provisioner.client.retry import RetryPolicy
from provisioner.client.session import TenantClient
from tests import leakcheck
from tests.hostile.hostile_server import hostile_server

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "manifests" / "bot-traffic-analyzer"
FIRST_READ = "GET /am/json/realms/root/realms/alpha/realm-config/services/oauth-oidc"
SPECIAL = 'Sp3c!al+/=&"\\<>é-hostile-echo'
#: The CLI makes several reads in parallel, each with its own 0.5 s deadline: bound the run generously.
CLI_LIMIT = 6.0


@pytest.fixture
def plan_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIC_ACCESS_TOKEN", "hostile-test-token-0001")
    monkeypatch.setenv("PROVISIONER_TOKEN_CACHE", "off")
    monkeypatch.setenv("PROVISIONER_HTTP_DEADLINE", "0.5")
    monkeypatch.setenv("PROVISIONER_HTTP_MAX_BYTES", "100000")


def _plan(cli, url: str):
    return cli("plan", str(STACK), "--tenant", url, "--env-file", str(STACK / "demo.env"))


@pytest.mark.parametrize("mode", ["drip", "drip-headers"])
def test_a_dripping_server_hits_the_total_deadline(cli, plan_env: None, mode: str) -> None:
    with hostile_server(mode) as url:
        _plan(cli, url).check(
            1,
            f"Error: {FIRST_READ}: no complete response within the 0.5 s deadline (attempt 1; "
            "PROVISIONER_HTTP_DEADLINE / PROVISIONER_HTTP_MAX_BYTES change the limits)",
            limit=CLI_LIMIT,
        )


def test_a_flooding_server_is_cut_off_at_the_size_cap(cli, plan_env: None) -> None:
    with hostile_server("flood") as url:
        _plan(cli, url).check(1, f"Error: {FIRST_READ}: the response is larger than 100000 bytes", limit=CLI_LIMIT)


def test_a_declared_huge_body_is_refused_before_reading(cli, plan_env: None) -> None:
    with hostile_server("huge-declared") as url:
        _plan(cli, url).check(
            1, f"Error: {FIRST_READ}: the response is larger than 100000 bytes (400000000 declared)", limit=CLI_LIMIT
        )


def test_a_bad_limit_setting_is_a_clear_error(cli, plan_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_HTTP_DEADLINE", "soon")
    with hostile_server("drip") as url:
        _plan(cli, url).check(1, "Error: PROVISIONER_HTTP_DEADLINE must be a positive number, not 'soon'")


def test_the_token_endpoint_is_bounded_too() -> None:
    with hostile_server("drip-headers") as url:
        endpoints = OAuthEndpoints(
            TenantClient(url, BearerAuth("hostile-test-token-0002"), http_limits=HttpLimits(deadline=0.4)), "alpha"
        )
        start = time.perf_counter()
        with pytest.raises(OAuthError) as caught:
            endpoints.client_credentials("agent-one", "agent-secret-0001", "client_secret_post", None)
        assert time.perf_counter() - start < 2.0
    assert str(caught.value).startswith(
        "POST /am/oauth2/realms/root/realms/alpha/access_token (client credentials, client agent-one): "
        f"no response: cannot reach {url}: no complete response within the 0.4 s deadline"
    )


def test_a_crest_400_echoing_the_body_does_not_print_the_json_escaped_secret() -> None:
    redact.register(SPECIAL)
    leakcheck.add_secret(SPECIAL)
    with hostile_server("echo") as url:
        client = TenantClient(url, BearerAuth("hostile-test-token-0003"), retry=RetryPolicy(max_attempts=1))
        with pytest.raises(TenantError) as caught:
            client.request(
                "PUT",
                "/am/json/realms/root/realms/alpha/realm-config/agents/OAuth2Client/app-one",
                json={"coreOAuth2ClientConfig": {"userpassword": SPECIAL}},
            )
    message = str(caught.value)
    assert message.startswith("PUT /am/json/realms/root/realms/alpha/realm-config/agents/OAuth2Client/app-one")
    assert "(sensitive)" in message
    assert json.dumps(SPECIAL)[1:-1] not in message and "Sp3c" not in message


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
def test_a_token_error_echoing_the_form_does_not_print_the_encoded_secret(auth_method: str) -> None:
    leakcheck.add_secret(SPECIAL)
    with hostile_server("echo") as url:
        endpoints = OAuthEndpoints(url, "alpha")
        with pytest.raises(OAuthError) as caught:
            endpoints.client_credentials("agent-one", SPECIAL, auth_method, ["read"])
    message = str(caught.value)
    assert message.startswith(
        "POST /am/oauth2/realms/root/realms/alpha/access_token (client credentials, client agent-one): 400"
    )
    for form in (
        quote_plus(SPECIAL),
        quote(SPECIAL, safe=""),
        json.dumps(SPECIAL)[1:-1],
        base64.b64encode(SPECIAL.encode()).decode()[:12],
        "Sp3c",
    ):
        assert form not in message, message
