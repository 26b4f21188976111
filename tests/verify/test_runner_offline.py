"""``run_verify`` paths that need no tenant answer: everything is skipped with its reason, never passed."""

from __future__ import annotations

from provisioner.manifest.model import Environment, Resource, SecretRef, Secrets, SourceLocation, Stack
from provisioner.verify import run_verify

LOC = SourceLocation("m.yaml")
TX = "urn:ietf:params:oauth:grant-type:token-exchange"
UNREACHABLE = "http://127.0.0.1:9"


def _stack(agent_spec, env=None):
    app = Resource("Application", "web", "alpha", {"scopes": ["read"], "clientSecret": SecretRef("env", "W")}, LOC, {})
    agent = Resource("AIAgent", "agent", "alpha", {"clientSecret": SecretRef("env", "A"), **agent_spec}, LOC, {})
    return Stack("s", (app, agent), env)


def test_on_behalf_of_without_test_user_is_skipped_with_the_reason():
    stack = _stack({"grantTypes": [TX], "applications": [{"application": "web", "subjectGroups": ["g"]}]})
    report = run_verify(stack, Secrets({SecretRef("env", "A"): "agent-secret-1"}), UNREACHABLE)
    assert [(c.name, c.status) for c in report.checks] == [
        ("on-behalf-of → web", "skip"),
        ("least privilege: no privilege → provisioner-verify-no-privilege", "skip"),
        ("least privilege: exchange without audience", "skip"),
    ]
    assert report.checks[0].message.startswith("no test user configured: set verify.testUsers")
    # Every check skipped proves nothing: not a pass unless the caller allows it (--allow-skipped).
    assert not report.ok and report.proved_nothing and report.passed == 0 and report.failed == 0
    allowed = run_verify(stack, Secrets({SecretRef("env", "A"): "agent-secret-1"}), UNREACHABLE, allow_skipped=True)
    assert allowed.ok


def test_autonomous_privilege_without_client_credentials_is_skipped():
    stack = _stack({"grantTypes": [TX], "applications": [{"application": "web", "permissions": ["read"]}]})
    report = run_verify(stack, Secrets({SecretRef("env", "A"): "agent-secret-1"}), UNREACHABLE)
    assert report.checks[0].name == "exchange → web" and report.checks[0].status == "skip"
    assert "lacks the client_credentials grant" in report.checks[0].message


def test_unreachable_tenant_fails_with_a_sentence_and_skips_the_rest():
    env = Environment("dev", None, "alpha", {}, {})
    stack = _stack(
        {
            "grantTypes": ["client_credentials", TX],
            "scopes": ["s"],
            "tokenEndpointAuthMethod": "client_secret_post",
            "applications": [{"application": "web", "permissions": ["read"]}],
        },
        env,
    )
    report = run_verify(stack, Secrets({SecretRef("env", "A"): "agent-secret-1"}), UNREACHABLE)
    first = report.checks[0]
    assert (first.name, first.status, first.actual) == ("client credentials: token", "fail", "no response")
    assert first.message.startswith(
        "client credentials token failed: cannot reach http://127.0.0.1:9: could not connect"
    )
    assert report.failed == 1 and report.skipped == len(report.checks) - 1
