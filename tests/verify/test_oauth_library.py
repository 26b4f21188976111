"""``OAuthEndpoints`` and ``run_verify`` as a library, over a real socket against the emulator."""

from __future__ import annotations

import os
import shutil

import pytest

from provisioner import redact
from provisioner.client.oauth import OAuthEndpoints, OAuthError
from provisioner.manifest import load
from provisioner.tenant import open_tenant
from provisioner.verify import run_verify
from tests.verify.helpers import ASSISTANT, BOT, assert_no_leak, demo_env, run_cli

AGENT = "bot-traffic-analyzer-agent"
APP = "web-server-logs-api-app"


def test_endpoints_client_credentials_tokeninfo_introspect_and_redaction(tenant):
    secret = demo_env(BOT)["BOT_AGENT_SECRET"]
    endpoints = OAuthEndpoints(tenant.url, "alpha")
    token = endpoints.client_credentials(AGENT, secret, "client_secret_post", ["monitor-system"])
    assert token.scopes == ("monitor-system",)
    assert token.access_token in redact.registered()
    assert token.access_token not in repr(token) and token.fingerprint in repr(token)
    info = endpoints.tokeninfo(token.access_token)
    assert info["sub"] == AGENT and info["scope"] == ["monitor-system"]
    introspection = endpoints.introspect(AGENT, secret, "client_secret_post", token.access_token)
    assert introspection["active"] is True and introspection["scope"] == "monitor-system"


def test_endpoints_basic_auth_and_errors_name_the_request_without_secrets(tenant):
    app_secret = demo_env(BOT)["LOGS_API_APP_SECRET"]
    endpoints = OAuthEndpoints(tenant.url, "alpha")
    # The service template's client authenticates with HTTP Basic (its create default).
    assert endpoints.client_credentials(APP, app_secret, "client_secret_basic", ["logs-read"]).scopes == ("logs-read",)
    with pytest.raises(OAuthError) as caught:
        endpoints.client_credentials(AGENT, "not-the-secret-123", "client_secret_post", ["monitor-system"])
    err = caught.value
    assert (err.status, err.error, err.error_description) == (400, "invalid_client", "Client authentication failed")
    assert str(err) == (
        "POST /am/oauth2/realms/root/realms/alpha/access_token (client credentials, client "
        f"{AGENT}): 400 invalid_client: Client authentication failed"
    )
    assert "not-the-secret-123" not in str(err)


def test_endpoints_accept_the_tenant_client_form(tenant):
    with open_tenant(tenant.url, environ=os.environ) as opened:
        endpoints = OAuthEndpoints(opened.client, "alpha")
        assert endpoints.base_url == tenant.url and endpoints.client is opened.client  # the one session
        # The admin bearer token is never asked for, so never sent to the runtime endpoints.
        asked = []
        auth = opened.client.auth
        original = auth.authorization
        auth.authorization = lambda client: asked.append(1) or original(client)
        try:
            with pytest.raises(OAuthError) as caught:
                endpoints.tokeninfo("not-a-token")
            assert caught.value.error == "invalid_request"
            secret = demo_env(BOT)["BOT_AGENT_SECRET"]
            assert endpoints.client_credentials(AGENT, secret, "client_secret_post", ["monitor-system"]).access_token
        finally:
            auth.authorization = original
        assert asked == []


def test_endpoints_reach_nested_realms_and_trace_through_the_client(tenant):
    from provisioner.client.session import TraceEvent

    events: list[TraceEvent] = []
    with open_tenant(tenant.url, environ=os.environ) as opened:
        opened.client.trace = events.append
        with pytest.raises(OAuthError) as caught:
            OAuthEndpoints(opened.client, "alpha/team").tokeninfo("not-a-token")
    assert caught.value.request == "GET /am/oauth2/realms/root/realms/alpha/realms/team/tokeninfo"
    assert [e.path for e in events] == ["/am/oauth2/realms/root/realms/alpha/realms/team/tokeninfo"]


def test_unreachable_tenant_is_a_sentence():
    from provisioner.client.retry import RetryPolicy

    endpoints = OAuthEndpoints("http://127.0.0.1:9", "alpha", timeout=2, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(OAuthError) as caught:
        endpoints.tokeninfo("x")
    assert caught.value.status is None
    assert str(caught.value) == (
        "GET /am/oauth2/realms/root/realms/alpha/tokeninfo: no response: cannot reach "
        "http://127.0.0.1:9: could not connect (attempt 1)"
    )


@pytest.mark.parametrize("form", ["tenant", "client", "url"])
def test_run_verify_accepts_tenant_client_or_url(tenant, form):
    result = load([str(ASSISTANT)], env="dev", env_file=str(ASSISTANT / "demo.env"), environ={})
    with open_tenant(tenant.url, environ=os.environ) as opened:
        target = {"tenant": opened, "client": opened.client, "url": tenant.url}[form]
        report = run_verify(result.stack, result.secrets, target)
    assert report.ok and report.failed == report.skipped == 0 and len(report.checks) == 10
    assert report.target == tenant.url and report.realm == "alpha"


def test_existing_application_scopes_are_read_from_the_tenant(tenant, tmp_path):
    """Permissions empty + ``existing: true``: the permitted scopes are the tenant's OAuth2Client scopes."""
    copy = tmp_path / "bot"
    shutil.copytree(BOT, copy)
    (copy / "application.yaml").unlink()
    agent = (copy / "agent.yaml").read_text(encoding="utf-8")
    agent = agent.replace(
        "    - application: web-server-logs-api-app\n",
        "    - application: web-server-logs-api-app\n      existing: true\n",
    )
    agent = agent.replace("      permissions: [logs-read, logs-search]\n", "")
    (copy / "agent.yaml").write_text(agent, encoding="utf-8")
    code, out, err = run_cli(
        [
            "verify",
            str(copy),
            "--env",
            "dev",
            "--tenant",
            tenant.url,
            "--env-file",
            str(copy / "demo.env"),
            "--no-color",
        ]
    )
    assert_no_leak(out, err)
    assert code == 0, out + err
    assert "token with [logs-read, logs-search]" in out
    assert "provisioner-verify-unpermitted not granted" in out


def test_invalid_manifests_exit_1_without_touching_the_tenant(tmp_path):
    copy = tmp_path / "bot"
    shutil.copytree(BOT, copy)
    (copy / "agent.yaml").write_text("apiVersion: provisioner/v1\nkind: AIAgent\nmetadata: {}\n", encoding="utf-8")
    code, out, err = run_cli(
        ["verify", str(copy), "--tenant", "http://127.0.0.1:9", "--env-file", str(copy / "demo.env")]
    )
    assert code == 1
    assert "Error: the manifests are not valid; nothing was verified" in err
    assert "Target:" not in out


def test_api_verify_loads_paths_with_its_options_and_adds_the_access_checks(tenant):
    from provisioner import api

    paths = [str(ASSISTANT)]
    with api.tenant(tenant.url, environ=os.environ) as opened:
        report = api.verify(paths, opened, env="dev", env_file=str(ASSISTANT / "demo.env"), environ={})
        with_access = api.verify(
            paths, opened, api.VerifyOptions(env="dev", env_file=str(ASSISTANT / "demo.env"), environ={}, access=True)
        )
    assert report.ok and len(report.checks) == 10
    names = [c.name for c in with_access.checks]
    assert with_access.ok and names[:10] == [c.name for c in report.checks]
    assert names[10:] and all(name.startswith("access: ") for name in names[10:])
