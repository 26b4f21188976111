"""Diagnosis mapping: OAuth error → cause, exact texts, no secret values."""

from __future__ import annotations

import pytest

from provisioner.client.oauth import OAuthError
from provisioner.verify.diagnose import Step, diagnose, refused

REQ = "POST /am/oauth2/realms/root/realms/alpha/access_token"


def _err(error, description, status=400):
    return OAuthError(REQ, status=status, error=error, error_description=description)


EXCHANGE = Step(
    "exchange",
    "bot-agent",
    "{fromEnv: BOT_AGENT_SECRET}",
    "client_secret_post",
    audience="logs-app",
    scopes=("logs-read", "logs-search"),
    permitted=("logs-read", "logs-search"),
    agent="bot-agent",
)
CC = Step(
    "client_credentials",
    "bot-agent",
    "{fromEnv: BOT_AGENT_SECRET}",
    "client_secret_post",
    scopes=("monitor-system",),
    agent="bot-agent",
)


def test_unsupported_grant_type_names_the_provider_setting():
    text = diagnose(_err("unsupported_grant_type", "Grant type is not supported"), EXCHANGE)
    assert text == (
        "token exchange refused: unsupported_grant_type (Grant type is not supported) — the realm's "
        "OAuth2 provider does not allow urn:ietf:params:oauth:grant-type:token-exchange "
        "(OAuth2Provider grantTypes)"
    )


def test_invalid_client_names_the_secret_reference_and_method():
    text = diagnose(_err("invalid_client", "Client authentication failed"), CC)
    assert (
        "client authentication failed for bot-agent — check the secret referenced by "
        "{fromEnv: BOT_AGENT_SECRET} and tokenEndpointAuthMethod client_secret_post" in text
    )


def test_invalid_token_exchange_lists_likely_causes():
    text = diagnose(_err("invalid_request", "Invalid token exchange."), EXCHANGE)
    assert text.startswith("token exchange refused: invalid_request (Invalid token exchange.) — likely causes: ")
    assert "providerOverrides.acceptAudienceInTokenExchange" in text
    assert "the subject is not permitted by the privilege" in text


def test_invalid_token_exchange_on_behalf_of_mentions_subjects():
    step = Step("exchange", "da-agent", None, None, audience="web", on_behalf_of=True, agent="da-agent")
    text = diagnose(_err("invalid_request", "Invalid token exchange."), step)
    assert "the user is not a subject of the privilege (subjects / subjectGroups)" in text


def test_invalid_audience_means_no_privilege():
    step = Step("exchange", "bot-agent", None, None, audience="other-app", agent="bot-agent")
    text = diagnose(_err("invalid_request", "Invalid audience requested."), step)
    assert "bot-agent has no privilege for application other-app" in text


def test_invalid_scope_shows_asked_and_permitted():
    step = Step(
        "exchange",
        "bot-agent",
        None,
        None,
        audience="logs-app",
        scopes=("logs-read", "logs-search"),
        permitted=("logs-read",),
        agent="bot-agent",
    )
    text = diagnose(_err("invalid_scope", "Unknown/invalid scope(s): [logs-search]"), step)
    assert text.startswith(
        "token exchange refused: invalid_scope (Unknown/invalid scope(s): [logs-search]) — "
        "asked [logs-read, logs-search]; the privilege of bot-agent on logs-app permits "
        "[logs-read]"
    )


def test_password_grant_failure_names_the_password_reference():
    step = Step(
        "password",
        "web-app",
        "{fromEnv: WEB_SECRET}",
        "client_secret_basic",
        username="demo",
        password_ref="{fromEnv: DEMO_PASSWORD}",
    )
    text = diagnose(_err("invalid_grant", "Authentication failed"), step)
    assert "the test user demo could not sign in: check the password referenced by {fromEnv: DEMO_PASSWORD}" in text


def test_no_response_is_a_sentence_not_a_traceback():
    err = OAuthError(REQ, status=None, error=None, error_description="ConnectionError: cannot reach http://x")
    assert refused(err) == "no response"
    assert diagnose(err, CC) == (
        "client credentials token failed: ConnectionError: cannot reach http://x — check the tenant URL and network"
    )


@pytest.mark.parametrize("error", ["server_error", None])
def test_unknown_errors_fall_back_to_the_tenant_words(error):
    text = diagnose(_err(error, "boom", status=500), CC)
    assert text == f"client credentials token refused: {error or 'HTTP 500'} (boom)"


def test_oauth_error_message_names_request_and_hides_registered_secrets():
    from provisioner import redact

    redact.register("s3cr3t-value-123")
    err = OAuthError(
        REQ + " (client credentials, client bot)",
        status=400,
        error="invalid_client",
        error_description="bad secret s3cr3t-value-123",
    )
    assert str(err) == (f"{REQ} (client credentials, client bot): 400 invalid_client: bad secret (sensitive)")
    assert err.status == 400 and err.error == "invalid_client"
