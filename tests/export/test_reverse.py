"""Unit tests for the reverse mapping (pure): defaults elided, aliases, names, notes, file text."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from provisioner import api
from provisioner.errors import UsageError
from provisioner.export.build import ExportOptions, build, parse_kinds, select
from provisioner.export.write import dump, manifest_text
from provisioner.grants import TOKEN_EXCHANGE
from provisioner.kinds.common import set_path
from provisioner.kinds.oauth2client import client_defaults
from provisioner.kinds.reverse import (
    AGENT_ORDER,
    APPLICATION_ORDER,
    DEFAULT_PROVIDER_GRANTS,
    PRIVILEGE_ORDER,
    agent_spec,
    application_defaults,
    application_spec,
    provider_spec,
    secret_env_name,
)
from provisioner.kinds.snapshot import RealmSnapshot
from provisioner.manifest.schema import schema_documents

ALICE_ID, BOB_ID = "u-alice", "u-bob"
USERS = {ALICE_ID: "alice", BOB_ID: "bob"}


def _app(key: str, template: str = "service", **am: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An application exactly as a create with only ``template`` declared leaves it, then ``am`` edits."""
    doc = copy.deepcopy(application_defaults(key, template)["am"])
    doc["_id"] = key
    for dotted, value in am.items():
        set_path(doc, tuple(dotted.split("__")), value)
    record = {"_id": f"rec-{key}", "name": key, "templateName": template, "ssoEntities": {"oidcId": key}}
    return doc, record


def _agent(key: str, **am: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = client_defaults()
    doc.update({"_id": key, "aiAgentIdentityUid": f"id-{key}"})
    for dotted, value in am.items():
        set_path(doc, tuple(dotted.split("__")), value)
    return doc, {"_id": f"id-{key}", "name": key, "oauth2ClientId": key}


def _snap(
    apps: dict[str, tuple[dict, dict]] | None = None,
    agents: dict[str, tuple[dict, dict]] | None = None,
    privileges: tuple[dict, ...] = (),
    provider: dict | None = None,
) -> RealmSnapshot:
    apps, agents = apps or {}, agents or {}
    return RealmSnapshot(
        realm="alpha",
        provider=provider,
        clients={k: a for k, (a, _) in apps.items()},
        apps={k: r for k, (_, r) in apps.items()},
        agents={k: a for k, (a, _) in agents.items()},
        identities={i["_id"]: i for _, i in agents.values()},
        privileges=privileges,
    )


def _ref(collection: str, object_id: str) -> dict[str, str]:
    return {
        "_ref": f"managed/alpha_{collection}/{object_id}",
        "_refResourceCollection": f"managed/alpha_{collection}",
        "_refResourceId": object_id,
    }


@pytest.mark.parametrize(
    ("client_id", "name"),
    [
        ("bot-traffic-analyzer-agent", "BOT_TRAFFIC_ANALYZER_AGENT_SECRET"),
        ("web_app", "WEB_APP_SECRET"),
        ("MixedCase-1", "MIXEDCASE_1_SECRET"),
        ("9lives", "CLIENT_9LIVES_SECRET"),
        ("--", "CLIENT_SECRET"),
    ],
)
def test_secret_env_name(client_id: str, name: str) -> None:
    assert secret_env_name(client_id) == name


def test_application_with_only_defaults_exports_only_its_secret() -> None:
    snap = _snap(apps={"orders": _app("orders")})
    rev, secret = application_spec(snap, "orders", {}, "Application alpha/orders")
    assert rev.spec == {"clientSecret": {"fromEnv": "ORDERS_SECRET"}}
    assert secret == "ORDERS_SECRET" and rev.notes == []


def test_application_values_in_manifest_vocabulary() -> None:
    am, record = _app(
        "orders",
        **{
            "coreOAuth2ClientConfig__clientName": ["Orders API"],
            "advancedOAuth2ClientConfig__descriptions": ["Orders"],
            "coreOAuth2ClientConfig__scopes": ["orders.write", "orders.read"],
            "advancedOAuth2ClientConfig__grantTypes": [
                TOKEN_EXCHANGE,
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ],
            "advancedOAuth2ClientConfig__tokenEndpointAuthMethod": "client_secret_post",
            "coreOAuth2ClientConfig__accessTokenLifetime": 600,
        },
    )
    record.update(
        {"name": "Orders API", "description": "Orders", "owners": [_ref("user", BOB_ID), _ref("user", ALICE_ID)]}
    )
    rev, _ = application_spec(_snap(apps={"orders": (am, record)}), "orders", USERS, "a")
    assert rev.spec == {
        "displayName": "Orders API",
        "description": "Orders",
        "owners": [{"userName": "alice"}, {"userName": "bob"}],
        "clientSecret": {"fromEnv": "ORDERS_SECRET"},
        "scopes": ["orders.read", "orders.write"],
        "grantTypes": ["client_credentials", "jwt_bearer", "token_exchange"],
        "tokenEndpointAuthMethod": "client_secret_post",
        "accessTokenLifetime": 600,
    }
    assert list(rev.spec) == [k for k in APPLICATION_ORDER if k in rev.spec]


def test_template_defaults_are_elided_per_template() -> None:
    snap = _snap(apps={"spa": _app("spa", "native")})
    rev, secret = application_spec(snap, "spa", {}, "a")
    assert rev.spec == {"template": "native"}  # public client: no secret, native defaults elided
    assert secret is None


def test_display_name_that_differs_between_idm_and_am_is_left_out_with_a_note() -> None:
    am, record = _app("orders", coreOAuth2ClientConfig__clientName=["Old Name"])
    record["name"] = "New Name"
    rev, _ = application_spec(_snap(apps={"orders": (am, record)}), "orders", {}, "Application alpha/orders")
    assert "displayName" not in rev.spec
    assert [str(n) for n in rev.notes] == [
        "Application alpha/orders: displayName differs between the tenant's objects (IDM name = 'New Name', "
        "AM coreOAuth2ClientConfig.clientName = ['Old Name']); left out (not managed) so that plan shows no "
        "change; declare it to make them agree"
    ]


def test_unset_value_that_differs_from_the_default_is_noted() -> None:
    am, record = _app("orders", coreOAuth2ClientConfig__accessTokenLifetime=None)
    rev, _ = application_spec(_snap(apps={"orders": (am, record)}), "orders", {}, "x")
    assert "accessTokenLifetime" not in rev.spec
    assert "accessTokenLifetime is unset in the tenant, which a manifest cannot express" in str(rev.notes[0])


def test_owner_without_user_is_left_out() -> None:
    am, record = _app("orders")
    record["owners"] = [_ref("user", "gone")]
    rev, _ = application_spec(_snap(apps={"orders": (am, record)}), "orders", USERS, "x")
    assert "owners" not in rev.spec and "user id(s) gone have no user" in str(rev.notes[0])


def test_agent_overrides_and_privileges() -> None:
    agent = _agent(
        "bot",
        **{
            "overrideOAuth2ClientConfig__providerOverridesEnabled": True,
            "overrideOAuth2ClientConfig__acceptAudienceParametersInTokenExchangeRequests": True,
            "coreOAuth2ClientConfig__scopes": ["monitor-system"],
            "advancedOAuth2ClientConfig__grantTypes": [TOKEN_EXCHANGE],
        },
    )
    logs, other = _app("logs"), _app("other")
    privileges = (
        {
            "_id": "p1",
            "agentID": "id-bot",
            "description": "logs",
            "resourceData": {"ssoEntities": {"oidcId": "logs"}},
            "permissions": [{"type": "scopes", "values": ["logs-search", "logs-read"]}],
            "subjects": [],
            "subjectGroups": [],
        },
        {
            "_id": "p2",
            "agentID": "id-bot",
            "resourceData": {"ssoEntities": {"oidcId": "other"}},
            "permissions": [{"type": "scopes", "values": []}],
            "subjects": [_ref("user", BOB_ID)],
            "subjectGroups": [_ref("group", "helpers")],
        },
    )
    snap = _snap(apps={"logs": logs, "other": other}, agents={"bot": agent}, privileges=privileges)
    rev, secret = agent_spec(snap, "bot", USERS, {"logs"}, "AIAgent alpha/bot")
    assert rev.spec == {
        "clientSecret": {"fromEnv": "BOT_SECRET"},
        "scopes": ["monitor-system"],
        "grantTypes": ["token_exchange"],
        "providerOverrides": {"enabled": True, "acceptAudienceInTokenExchange": True},
        "applications": [
            {"application": "logs", "description": "logs", "permissions": ["logs-read", "logs-search"]},
            {
                "application": "other",
                "existing": True,
                "subjects": [{"userName": "bob"}],
                "subjectGroups": ["helpers"],
            },  # empty permissions stay absent
        ],
    }
    assert list(rev.spec) == [k for k in AGENT_ORDER if k in rev.spec]


def test_agent_identity_name_is_the_display_name() -> None:
    agent, identity = _agent("bot")
    identity.update({"name": "Bot", "description": "Watches bots", "owners": [_ref("user", ALICE_ID)]})
    rev, _ = agent_spec(_snap(agents={"bot": (agent, identity)}), "bot", USERS, set(), "x")
    assert (rev.spec["displayName"], rev.spec["description"], rev.spec["owners"]) == (
        "Bot",
        "Watches bots",
        [{"userName": "alice"}],
    )


def test_provider_ensure_lists_only_grants_beyond_the_aic_defaults() -> None:
    grants = [g for g in DEFAULT_PROVIDER_GRANTS if g != "implicit"] + [TOKEN_EXCHANGE]
    provider = {"advancedOAuth2Config": {"grantTypes": grants, "acceptAudienceParametersInTokenExchangeRequests": True}}
    rev = provider_spec(_snap(provider=provider), "ensure", "OAuth2Provider alpha/alpha")
    assert rev.spec == {"grantTypes": {"ensure": ["token_exchange"]}, "acceptAudienceInTokenExchange": True}
    assert "does not allow implicit" in str(rev.notes[0]) and "--provider-grant-types exact" in str(rev.notes[0])
    exact = provider_spec(_snap(provider=provider), "exact", "x")
    assert exact.spec["grantTypes"] == {
        "exact": sorted(
            [
                "authorization_code",
                "password",
                "client_credentials",
                "refresh_token",
                "device_code",
                "saml2_bearer",
                "uma_ticket",
                "jwt_bearer",
                "ciba",
                "token_exchange",
            ]
        )
    }


def test_spec_orders_follow_the_schemas() -> None:
    schemas = schema_documents()
    app = list(schemas["application.schema.json"]["properties"]["spec"]["properties"])
    agent_schema = schemas["aiagent.schema.json"]
    assert list(APPLICATION_ORDER) == app
    assert list(AGENT_ORDER) == list(agent_schema["properties"]["spec"]["properties"])
    assert list(PRIVILEGE_ORDER) == list(agent_schema["$defs"]["privilege"]["properties"])


def test_selection_skips_platform_clients_and_build_resolves_secret_name_clashes() -> None:
    apps = {"a-b": _app("a-b"), "a_b": _app("a_b")}
    snap = RealmSnapshot(
        realm="alpha",
        provider=None,
        clients={**{k: a for k, (a, _) in apps.items()}, "RCSClient": {"_id": "RCSClient"}},
        apps={k: r for k, (_, r) in apps.items()},
    )
    options = ExportOptions(kinds=("Application",))
    selection = select(snap, options)
    assert selection.of("Application") == ("a-b", "a_b")
    assert "skipped 1 OAuth2 client(s) without an IDM application record (not custom applications): RCSClient" in str(
        selection.notes[0]
    )
    result = build(snap, selection, {}, options)
    assert result.secrets == [("A_B_2_SECRET", "a_b"), ("A_B_SECRET", "a-b")]


def test_every_exported_kind_declares_its_export_step_and_build_goes_by_the_registry() -> None:
    from provisioner.kinds import REGISTRY

    assert all(spec.export is not None for spec in REGISTRY if spec.export_folder)
    # An application keyed like the realm: the provider's document and the client's secret variable stay apart.
    apps = {"alpha": _app("alpha")}
    grants = [*DEFAULT_PROVIDER_GRANTS, TOKEN_EXCHANGE]
    snap = _snap(apps=apps, provider={"advancedOAuth2Config": {"grantTypes": grants}})
    options = ExportOptions(kinds=("OAuth2Provider", "Application"))
    result = build(snap, select(snap, options), {}, options)
    assert [(d.kind, d.path, d.secret_env) for d in result.documents] == [
        ("OAuth2Provider", "providers/alpha.yaml", None),
        ("Application", "applications/alpha.yaml", "ALPHA_SECRET"),
    ]
    assert result.secrets == [("ALPHA_SECRET", "alpha")]


def test_select_unknown_client_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"--select: cannot export 'nope' \(no application or AI agent"):
        select(_snap(apps={"a": _app("a")}), ExportOptions(select=("nope",)))


def test_parse_kinds() -> None:
    assert parse_kinds("aiagent, Application") == ("Application", "AIAgent")
    assert parse_kinds(None) == ("OAuth2Provider", "Application", "AIAgent")
    with pytest.raises(UsageError, match="--kinds: unknown kind\\(s\\) 'Agent'"):
        parse_kinds("Agent")


def test_dump_is_block_at_the_top_and_flow_for_leaves() -> None:
    text = dump(
        {
            "apiVersion": "provisioner/v1",
            "kind": "Application",
            "metadata": {"name": "a", "realm": "alpha"},
            "spec": {"scopes": ["x", "y"], "clientSecret": {"fromEnv": "A_SECRET"}, "description": "yes"},
        }
    )
    assert text == (
        "apiVersion: provisioner/v1\nkind: Application\nmetadata:\n  name: a\n  realm: alpha\n"
        "spec:\n  scopes: [x, y]\n  clientSecret: {fromEnv: A_SECRET}\n  description: 'yes'\n"
    )


def test_values_with_template_syntax_stay_literal(tmp_path: Path) -> None:
    document = {
        "apiVersion": "provisioner/v1",
        "kind": "Application",
        "metadata": {"name": "a", "realm": "alpha"},
        "spec": {"description": "uses {{ braces }} and {% tags %}"},
    }
    path = tmp_path / "a.yaml"
    path.write_text(manifest_text(document, "schema.json"))
    result = api.load([str(path)], environ={})
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.stack.resources[0].spec["description"] == "uses {{ braces }} and {% tags %}"


def test_select_says_why_a_client_that_looks_exportable_is_not() -> None:
    a, record = _app("a")
    snap = RealmSnapshot(
        realm="alpha",
        provider=None,
        clients={"a": a, "RCSClient": {"_id": "RCSClient"}},
        apps={"a": record, "gone": {**record, "_id": "gone-record"}},
        ai_agents_enabled=False,
    )
    with pytest.raises(UsageError) as refused:
        select(snap, ExportOptions(select=("RCSClient", "gone")))
    assert str(refused.value) == (
        "--select: cannot export 'RCSClient' (an OAuth2 client without an IDM application record: not a custom "
        "application), 'gone' (an IDM application record without its OAuth2 client) in realm 'alpha'; nothing "
        "was written"
    )
    selection = select(snap, ExportOptions(select=("a",)))
    assert (selection.of("Application"), selection.count) == (("a",), 1)
    assert [str(n) for n in selection.notes] == ["the AI agents feature is off in realm 'alpha': no agents exported"]
