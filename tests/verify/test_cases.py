"""Reading what to verify from the stack (pure)."""

from __future__ import annotations

from provisioner.manifest.model import Environment, Resource, SecretRef, SourceLocation, Stack
from provisioner.verify import cases
from provisioner.verify.tenantread import app_from_client

LOC = SourceLocation("m.yaml")


def _res(kind, name, spec):
    return Resource(kind, name, "alpha", spec, LOC, {})


APP = _res(
    "Application",
    "logs-app",
    {"scopes": ["logs-read", "logs-search", "logs-admin"], "clientSecret": SecretRef("env", "APP_SECRET")},
)
AGENT = _res(
    "AIAgent",
    "bot",
    {
        "clientSecret": SecretRef("env", "BOT_SECRET"),
        "tokenEndpointAuthMethod": "client_secret_post",
        "scopes": ["monitor-system"],
        "grantTypes": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "applications": [
            {"application": "logs-app", "permissions": ["logs-read"]},
            {"application": "web", "subjects": [{"userName": "bob"}], "subjectGroups": ["g1"]},
        ],
    },
)


def test_agent_and_privileges():
    agent = cases.agent_of(AGENT)
    assert agent.autonomous and agent.exchanges
    assert agent.auth_method == "client_secret_post"
    first, second = agent.privileges
    assert not first.on_behalf_of and first.permissions == ("logs-read",)
    assert second.on_behalf_of and second.subjects == ("bob",) and second.subject_groups == ("g1",)


def test_permitted_and_unpermitted_scopes():
    app = cases.application_of(APP)
    agent = cases.agent_of(AGENT)
    assert cases.permitted_scopes(agent.privileges[0], app) == ("logs-read",)
    assert cases.unpermitted_scope(agent.privileges[0], app) == "logs-search"
    all_scopes = cases.Privilege("logs-app", ())
    assert cases.permitted_scopes(all_scopes, app) == ("logs-read", "logs-search", "logs-admin")
    assert cases.unpermitted_scope(all_scopes, app) == cases.SYNTHETIC_SCOPE
    unknown = cases.App("x", None, existing=True)
    assert cases.permitted_scopes(all_scopes, unknown) is None


def test_unprivileged_application():
    agent = cases.agent_of(AGENT)
    apps = {"logs-app": cases.application_of(APP), "other": cases.App("other", ("a",))}
    assert cases.unprivileged_application(agent, apps) == "other"
    assert cases.unprivileged_application(agent, {"logs-app": apps["logs-app"]}) == cases.SYNTHETIC_CLIENT


def test_test_users_and_user_for():
    env = Environment(
        "dev",
        None,
        "alpha",
        {},
        {
            "testUsers": [
                {"userName": "alice", "password": SecretRef("env", "A")},
                {"userName": "bob", "password": SecretRef("env", "B")},
            ]
        },
    )
    stack = Stack("s", (APP, AGENT), env)
    users = cases.test_users(stack)
    assert [u.user_name for u in users] == ["alice", "bob"]
    assert cases.user_for(cases.Privilege("a", (), ("bob",)), users).user_name == "bob"
    assert cases.user_for(cases.Privilege("a", (), (), ("g",)), users).user_name == "alice"
    assert cases.user_for(cases.Privilege("a", (), ("carol",)), users) is None
    assert cases.test_users(Stack("s", ())) == ()


def test_existing_application_read_in_wrapped_form():
    app = cases.App("existing-app", None, existing=True)
    body = {
        "coreOAuth2ClientConfig": {"scopes": {"inherited": False, "value": ["a", "b"]}},
        "advancedOAuth2ClientConfig": {"tokenEndpointAuthMethod": {"inherited": False, "value": "client_secret_post"}},
    }
    filled = app_from_client(app, body)
    assert filled.scopes == ("a", "b") and filled.auth_method == "client_secret_post"
