"""Pure pieces of the OAuth runtime: switch reads, issuer, presented credentials, and the exchange
scope rules (§8.4 step 8) as properties over random permission and request sets."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.emulator.oauth import exchange
from provisioner.emulator.oauth.clientauth import presented
from provisioner.emulator.oauth.errors import OAuthError
from provisioner.emulator.oauth.model import Client, Provider
from provisioner.emulator.oauth.options import DEFAULTS, Switches
from provisioner.emulator.oauth.tokens import ACCESS_TOKEN_TYPE, Token, issuer, new_jti

AGENT, APP = "agent-under-test", "app-under-test"
UNIVERSE = ["s1", "s2", "s3", "s4", "s5"]


def test_switch_defaults_and_coercion() -> None:
    switches = Switches({})
    assert switches.choice("token.agent.unpermittedScope") == "reject"
    assert switches.flag("token.enforceAuthMethod") is True
    live: dict[str, object] = {
        "token.enforceAuthMethod": "false",
        "token.invalidClientStatus": "401",
        "token.agent.emptySubjects": "bogus",
    }
    switches = Switches(live)
    assert switches.flag("token.enforceAuthMethod") is False
    assert switches.choice("token.invalidClientStatus") == 401
    assert switches.choice("token.agent.emptySubjects") == "deny"  # unusable value → default
    live["token.agent.emptySubjects"] = "allow-all"  # read live, not copied
    assert switches.choice("token.agent.emptySubjects") == "allow-all"
    assert Switches({"token.mayAct": {"web": "api"}}).may_act("web") == ["api"]
    assert set(DEFAULTS) >= {"token.agent.noAudience", "token.agent.missingScope", "token.introspect.policy"}


@pytest.mark.parametrize(
    "base, expected",
    [
        ("https://tenant.example.com", "https://tenant.example.com:443/am/oauth2/realms/root/realms/alpha"),
        ("https://tenant.example.com/", "https://tenant.example.com:443/am/oauth2/realms/root/realms/alpha"),
        ("https://tenant.example.com:443", "https://tenant.example.com:443/am/oauth2/realms/root/realms/alpha"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/am/oauth2/realms/root/realms/alpha"),
    ],
)
def test_issuer(base: str, expected: str) -> None:
    assert issuer(base, "alpha") == expected


def test_jti_is_27_base64url_characters() -> None:
    ids = {new_jti() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 27 and "=" not in i and "+" not in i and "/" not in i for i in ids)


def _basic(text: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(text.encode()).decode()}


@pytest.mark.parametrize(
    "form, headers, expected",
    [
        ({"client_id": "a", "client_secret": "s"}, {}, ("a", "s", "client_secret_post")),
        ({"client_id": "a"}, {}, ("a", None, "none")),
        ({}, _basic("a:s:x"), ("a", "s:x", "client_secret_basic")),
        ({}, _basic("my%20client:p%26w"), ("my client", "p&w", "client_secret_basic")),
        ({"client_id": "a"}, _basic("a:s"), ("a", "s", "client_secret_basic")),
        ({"client_id": "b"}, _basic("a:s"), None),  # two different client ids
        ({}, _basic("no-colon"), None),
        ({}, {}, None),
    ],
)
def test_presented_credentials(form, headers, expected) -> None:
    got = presented(form, headers)
    assert ((got.client_id, got.secret, got.method) if got else None) == expected


# -- step 8 as properties ---------------------------------------------------------------------------


class PrivilegeOnlyView:
    """Just enough tenant for :func:`exchange.evaluate`: one privilege and the application's scopes."""

    def __init__(self, permissions: list[str]) -> None:
        self.permissions = permissions

    def privileges(self, realm: str) -> list[dict[str, Any]]:
        return [
            {
                "_id": "p",
                "agentOAuth2ClientId": AGENT,
                "subjectIDs": [],
                "resourceData": {"ssoEntities": {"oidcId": APP}},
                "permissions": [{"type": "scopes", "values": self.permissions}],
            }
        ]

    def oauth_client(self, realm: str, client_id: str) -> dict[str, Any] | None:
        return {"kind": "OAuth2Client", "config": {"coreOAuth2ClientConfig": {"scopes": UNIVERSE}}}

    def user(self, realm: str, user_id: str) -> dict[str, Any] | None:
        return None


AGENT_CLIENT = Client(
    AGENT,
    "AIAgent",
    {
        "overrideOAuth2ClientConfig": {
            "providerOverridesEnabled": True,
            "statelessTokensEnabled": True,
            "acceptAudienceParametersInTokenExchangeRequests": True,
        }
    },
    "secret",
)
SUBJECT = Token("t", {"sub": AGENT, "client_id": AGENT, "scope": ["own"], "realm": "/alpha"}, True)
subsets = st.lists(st.sampled_from(UNIVERSE), unique=True)


def _decide(permitted: list[str], requested: list[str], options: dict[str, object]) -> list[str] | OAuthError:
    form = {"subject_token_type": ACCESS_TOKEN_TYPE, "audience": APP, "scope": " ".join(requested)}
    try:
        result = exchange.evaluate(
            PrivilegeOnlyView(permitted), "alpha", Provider({}), AGENT_CLIENT, form, SUBJECT, Switches(options)
        )
    except OAuthError as error:
        return error
    assert result.flow == exchange.AUTONOMOUS and result.grant.aud == [AGENT, APP]
    return list(result.grant.scopes)


@settings(max_examples=150, deadline=None)
@given(permitted=subsets, requested=subsets)
def test_reject_grants_exactly_a_permitted_request(permitted: list[str], requested: list[str]) -> None:
    allowed = permitted or UNIVERSE  # empty permissions = every application scope
    outcome = _decide(permitted, requested, {})
    if not requested:
        assert outcome == allowed
    elif set(requested) <= set(allowed):
        assert outcome == requested
    else:
        assert isinstance(outcome, OAuthError) and outcome.error == "invalid_scope"
        rejected = [s for s in requested if s not in allowed]
        assert outcome.description == f"Unknown/invalid scope(s): [{', '.join(rejected)}]"


@settings(max_examples=150, deadline=None)
@given(permitted=subsets, requested=subsets)
def test_downscope_grants_the_permitted_part(permitted: list[str], requested: list[str]) -> None:
    allowed = permitted or UNIVERSE
    outcome = _decide(
        permitted, requested, {"token.agent.unpermittedScope": "downscope", "token.agent.missingScope": "reject"}
    )
    kept = [s for s in requested if s in allowed]
    if kept:
        assert outcome == kept
    else:
        assert isinstance(outcome, OAuthError) and outcome.error == "invalid_scope"
