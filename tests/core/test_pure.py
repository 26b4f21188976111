"""Unit tests for the pure parts: normalisation, field tables, diff, order, JSON round trip, renderers."""

from __future__ import annotations

import json
import re

import pytest

from provisioner.client.wrapping import unwrap
from provisioner.grants import TOKEN_EXCHANGE
from provisioner.kinds import aiagent, application, provider
from provisioner.kinds.common import properties, string_set, with_property, writable_client_doc
from provisioner.kinds.fields import Target, canonical, desired_canonical
from provisioner.kinds.oauth2client import client_defaults, create_document, update_document
from provisioner.kinds.secrets import make_marker, verify_many, verify_marker
from provisioner.kinds.snapshot import RealmSnapshot, Snapshot, or_filter
from provisioner.manifest import Resource, SecretRef, SourceLocation
from provisioner.plan import Plan, PlanOptions, make_plan
from provisioner.plan.model import PlanFormatError, SecretReference
from provisioner.plan.order import level
from provisioner.render import render_json, render_markdown, render_text

LOC = SourceLocation("m.yaml", 3, 1)


def res(kind: str, name: str, spec: dict, realm: str = "alpha") -> Resource:
    return Resource(
        kind=kind,
        name=name,
        realm=realm,
        spec=spec,
        location=LOC,
        field_locations={"spec.owners[0]": SourceLocation("m.yaml", 9, 7)},
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"inherited": False, "value": ["a"]}, ["a"]),
        ({"inherited": False}, None),
        ({"g": {"f": {"inherited": False, "value": 1}}}, {"g": {"f": 1}}),
        ([1, {"inherited": True, "value": "x"}], [1, "x"]),
    ],
)
def test_unwrap(raw, expected):
    assert unwrap(raw) == expected
    assert unwrap(unwrap(raw)) == unwrap(raw)  # idempotent


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, []),
        ([], []),
        ([""], []),
        (["b", "a", "b"], ["a", "b"]),
        ("[Empty]", []),
        ("x", ["x"]),
    ],
)
def test_string_set(raw, expected):
    assert string_set(raw) == expected


@pytest.mark.parametrize(
    "compare, raw, expected",
    [
        ("scalar", "[Empty]", None),
        ("scalar", None, None),
        ("scalar", 0, 0),
        ("set", ["b", "a"], ["a", "b"]),
        ("one", ["Name"], ["Name"]),
        (
            "refs",
            [{"_ref": "managed/alpha_user/u2", "_refProperties": {"_id": "x"}}, {"_refResourceId": "u1"}],
            ["u1", "u2"],
        ),
        ("scopes", [{"type": "scopes", "values": ["b", "a"]}], ["a", "b"]),
    ],
)
def test_canonical(compare, raw, expected):
    assert canonical(Target("am", ("x",), compare), raw) == expected


def test_one_element_list_compares_with_string():
    target = Target("am", ("clientName",), "one")
    assert desired_canonical(target, "App") == canonical(target, ["App"])
    assert desired_canonical(target, "App") != canonical(target, ["App", "Other"])


def test_custom_properties_keep_foreign_entries_in_place():
    entries = ["owner=team-a", "provisioner.stack=old", "x=y"]
    assert with_property(entries, "provisioner.stack", "new") == ["owner=team-a", "provisioner.stack=new", "x=y"]
    assert with_property(entries, "provisioner.secretHash", "h") == entries + ["provisioner.secretHash=h"]
    assert with_property(entries, "provisioner.stack", None) == ["owner=team-a", "x=y"]


def test_secret_marker_verifies_only_the_same_secret():
    marker = make_marker("s3cret-value", iterations=1000)
    assert marker.startswith("pbkdf2-sha256$1000$")
    assert "s3cret-value" not in marker
    assert verify_marker(marker, "s3cret-value")
    assert not verify_marker(marker, "other-value")
    assert not verify_marker("garbage", "s3cret-value")
    assert not verify_marker(None, "s3cret-value")
    assert verify_many([("a", marker, "s3cret-value"), ("b", marker, "nope")]) == {"a": True, "b": False}


def test_create_document_has_six_groups_template_and_markers():
    desired = {"scopes": ["logs-read"], "displayName": "Logs"}
    doc = create_document(
        application.TEMPLATES["service"], application.FIELDS, desired, "alpha", stack="s1", secret="pw", secret_hash="h"
    )
    assert set(client_defaults()) <= set(doc)
    assert doc["advancedOAuth2ClientConfig"]["grantTypes"] == ["client_credentials"]
    assert doc["advancedOAuth2ClientConfig"]["responseTypes"] == ["token"]
    assert doc["coreOAuth2ClientConfig"]["clientName"] == ["Logs"]
    assert doc["coreOAuth2ClientConfig"]["userpassword"] == "pw"
    assert doc["coreOpenIDClientConfig"]["jwtTokenLifetime"] == 3600
    assert properties(doc) == ["provisioner.stack=s1", "provisioner.secretHash=h"]


def test_update_document_changes_only_managed_paths():
    current = {
        "_id": "app",
        "_rev": "1",
        "coreOAuth2ClientConfig": {
            "scopes": ["b", "a"],
            "redirectionUris": ["https://keep.example/cb"],
            "agentgroup": None,
        },
        "advancedOAuth2ClientConfig": {"customProperties": ["team=x"], "grantTypes": ["client_credentials"]},
        "overrideOAuth2ClientConfig": {"oidcClaimsClass": None, "x": 1},
    }
    body, changed = update_document(current, application.FIELDS, {"scopes": ["a", "b"]}, "alpha")
    assert not changed  # equal as sets: the server's order stays
    assert body["coreOAuth2ClientConfig"]["scopes"] == ["b", "a"]
    body, changed = update_document(current, application.FIELDS, {"scopes": ["a", "c"]}, "alpha")
    assert changed and body["coreOAuth2ClientConfig"]["scopes"] == ["a", "c"]
    assert body["coreOAuth2ClientConfig"]["redirectionUris"] == ["https://keep.example/cb"]
    assert body["advancedOAuth2ClientConfig"]["customProperties"] == ["team=x"]
    assert "_rev" not in body and "agentgroup" not in body["coreOAuth2ClientConfig"]
    assert body["overrideOAuth2ClientConfig"] == {"x": 1}
    assert writable_client_doc(current) == {k: v for k, v in body.items()} | {
        "coreOAuth2ClientConfig": {"scopes": ["b", "a"], "redirectionUris": ["https://keep.example/cb"]}
    }


def test_provider_ensure_appends_missing_keeps_order():
    doc = {"advancedOAuth2Config": {"grantTypes": ["implicit", "client_credentials"]}}
    desired = provider.desired_values({"grantTypes": {"ensure": ["client_credentials", TOKEN_EXCHANGE]}})
    assert provider.field_diffs(doc, desired) == [
        ("grantTypes", ["implicit", "client_credentials"], ["implicit", "client_credentials", TOKEN_EXCHANGE])
    ]
    exact = provider.desired_values({"grantTypes": {"exact": ["client_credentials"]}})
    assert provider.wanted_grants(["implicit", "client_credentials"], exact) == ["client_credentials"]
    doc2 = {"advancedOAuth2Config": {"grantTypes": ["client_credentials", "implicit", TOKEN_EXCHANGE]}}
    assert provider.field_diffs(doc2, desired) == []


def test_or_filter_is_sorted_and_quoted():
    assert or_filter("userName", {"b", 'a"x'}) == 'userName eq "a\\"x" or userName eq "b"'


# -- make_plan ----------------------------------------------------------------------------------------

PROVIDER_DOC = {
    "advancedOAuth2Config": {"grantTypes": ["client_credentials"]},
    "aiAgentsConfig": {"aiAgentsEnabled": True},
}


def empty_snapshot(**kw) -> Snapshot:
    return Snapshot(realms={"alpha": RealmSnapshot(realm="alpha", provider=PROVIDER_DOC, provider_rev="7", **kw)})


def stack() -> list[Resource]:
    return [
        res("OAuth2Provider", "alpha", {"grantTypes": {"ensure": ["client_credentials", TOKEN_EXCHANGE]}}),
        res(
            "Application",
            "app1",
            {"displayName": "App 1", "scopes": ["r", "w"], "clientSecret": SecretRef("env", "APP_SECRET")},
        ),
        res(
            "AIAgent",
            "agent1",
            {
                "displayName": "Agent 1",
                "grantTypes": ["client_credentials", TOKEN_EXCHANGE],
                "applications": [{"application": "app1", "permissions": ["r"]}],
            },
        ),
    ]


def test_plan_on_empty_tenant_is_ordered_and_secret_free():
    plan = make_plan(stack(), empty_snapshot(), PlanOptions(stack="s", target={"url": "http://t"}))
    assert [(c.action, c.address) for c in plan.changes] == [
        ("update", "OAuth2Provider alpha"),
        ("create", "Application alpha/app1"),
        ("create", "AIAgent alpha/agent1"),
        ("create", "AgentPrivilege alpha/agent1/app1"),
    ]
    assert plan.summary["create"] == 3 and plan.summary["update"] == 1
    app = plan.changes[1]
    assert app.secret == SecretReference("env", "APP_SECRET") and "clientSecret" not in app.desired
    assert [f.path for f in app.fields if f.sensitive] == ["clientSecret"]
    priv = plan.changes[3]
    assert priv.ids.resource == app.ids.record and priv.ids.agent == plan.changes[2].ids.identity
    assert set(priv.depends_on) == {"AIAgent alpha/agent1", "Application alpha/app1"}
    assert [level(c) for c in plan.changes] == [0, 1, 2, 3]
    assert not plan.diagnostics


def test_plan_is_deterministic_and_round_trips():
    opts = PlanOptions(stack="s", target={"url": "http://t", "label": "Target: http://t"}, environment="dev")
    first = make_plan(stack(), empty_snapshot(), opts)
    second = make_plan(list(reversed(stack())), empty_snapshot(), opts)
    assert first.to_json() == second.to_json()
    assert Plan.from_json(first.to_json()) == first
    data = json.loads(first.to_json())
    assert data["format_version"] == "2" and "timestamp" not in first.to_json()


def test_plan_rules_name_the_manifest_location():
    resources = [
        res("Application", "app1", {"owners": [{"userName": "ghost"}]}),
        res("Application", "ext", {"existing": True}),
        res(
            "AIAgent",
            "agent1",
            {"grantTypes": [TOKEN_EXCHANGE], "applications": [{"application": "nowhere", "subjectGroups": ["g1"]}]},
        ),
    ]
    plan = make_plan(resources, empty_snapshot(), PlanOptions(stack="s"))
    messages = [str(d) for d in plan.diagnostics]
    assert "m.yaml:9:7: spec.owners[0]: user 'ghost' does not exist in the tenant" in messages
    assert any("'ext' is declared existing: true but does not exist" in m for m in messages)
    assert any("does not allow it" in m and "spec.grantTypes" in m for m in messages)
    assert any("group 'g1' does not exist" in m for m in messages)
    assert any("'nowhere' is neither declared nor live" in m for m in messages)


def test_disabled_feature_is_explained():
    snap = Snapshot(realms={"alpha": RealmSnapshot(realm="alpha", provider=PROVIDER_DOC, ai_agents_enabled=False)})
    plan = make_plan([res("AIAgent", "a", {})], snap, PlanOptions(stack="s"))
    assert any("--enable-features" in d.message and "disabled" in d.message for d in plan.errors)


def _live_snapshot(scopes: list[str], stack_marker: str | None = None) -> Snapshot:
    props = [f"provisioner.stack={stack_marker}"] if stack_marker else []
    client = {
        "_id": "app1",
        "_rev": "11",
        "coreOAuth2ClientConfig": {"scopes": scopes, "clientName": ["App 1"]},
        "advancedOAuth2ClientConfig": {"customProperties": props},
    }
    app = {"_id": "u-app", "_rev": "r1", "name": "App 1", "ssoEntities": {"oidcId": "app1"}}
    return Snapshot(
        realms={
            "alpha": RealmSnapshot(
                realm="alpha", provider=PROVIDER_DOC, provider_rev="7", clients={"app1": client}, apps={"app1": app}
            )
        }
    )


def test_update_shows_only_changed_fields():
    spec = {"displayName": "App 1", "scopes": ["r", "w"]}
    plan = make_plan([res("Application", "app1", spec)], _live_snapshot(["r"]), PlanOptions(stack="s"))
    (change,) = plan.changes
    assert change.action == "update"
    assert [(f.path, f.before, f.after) for f in change.fields] == [("scopes", ["r"], ["r", "w"])]
    assert change.observed == {"am": {"id": "app1", "rev": "11"}, "idm": {"id": "u-app", "rev": "r1"}}
    same = make_plan([res("Application", "app1", spec)], _live_snapshot(["w", "r"]), PlanOptions(stack="s"))
    assert [c.action for c in same.changes] == ["no-op"] and not same.has_changes


def test_prune_only_marked_and_capped():
    marked = _live_snapshot(["r"], stack_marker="s")
    blocked = make_plan([], marked, PlanOptions(stack="s", realms=("alpha",)))
    assert not blocked.changes and blocked.blocked[0].address == "Application alpha/app1"
    assert "--prune" in blocked.blocked[0].reason
    pruned = make_plan([], marked, PlanOptions(stack="s", realms=("alpha",), prune=True))
    assert [(c.action, c.address) for c in pruned.changes] == [("delete", "Application alpha/app1")]
    capped = make_plan([], marked, PlanOptions(stack="s", realms=("alpha",), prune=True, max_deletes=0))
    assert not capped.changes and capped.errors and "max-deletes" in capped.errors[0].message
    other = make_plan(
        [], _live_snapshot(["r"], stack_marker="other"), PlanOptions(stack="s", realms=("alpha",), prune=True)
    )
    unmarked = make_plan([], _live_snapshot(["r"]), PlanOptions(stack="s", realms=("alpha",), prune=True))
    assert not other.changes and not unmarked.changes and not unmarked.blocked


def test_renderers_agree():
    plan = make_plan(
        [
            res(
                "Application",
                "app1",
                {"displayName": "App 1", "scopes": ["r", "w"], "clientSecret": SecretRef("env", "X")},
            )
        ],
        _live_snapshot(["r"]),
        PlanOptions(stack="s", target={"url": "http://t"}, environment="dev"),
    )
    data = plan.to_dict()
    text = render_text(data)
    md = render_markdown(data)
    js = json.loads(render_json(data))
    assert js == data
    assert "~ update Application alpha/app1" in text
    assert "    scopes: [r] → [r, w]" in text
    assert "    clientSecret: (sensitive, changed)" in text
    assert text.rstrip().endswith("Plan: 0 to create, 1 to update, 0 to delete.")
    assert "Environment: dev" in text and text.startswith("Target: http://t")
    assert md.startswith("### Plan: 0 to create, 1 to update, 0 to delete.")
    assert "<details>" in md and "scopes: [r] → [r, w]" in md and "clientSecret: (sensitive, changed)" in md
    assert "\033[" not in text and "\033[" in render_text(data, colour=True)


def test_no_changes_sentence():
    plan = make_plan([], empty_snapshot(), PlanOptions(stack="s"))
    assert render_text(plan.to_dict()).rstrip().endswith("No changes. The tenant matches the manifests.")


def test_agent_identity_attributes_prefer_desired_then_idm():
    attrs = aiagent.identity_attributes("a", "u1", {"displayName": "New"}, {"name": "Old", "description": "D"})
    assert attrs == {"_id": "u1", "oauth2ClientId": "a", "name": "New", "description": "D"}


def test_long_list_changes_render_as_their_difference() -> None:
    from provisioner.render.values import field_line

    before = ["implicit", "refresh_token", "password", "client_credentials", "authorization_code"]
    field = {
        "path": "grantTypes",
        "before": before,
        "after": [*before[1:], "urn:ietf:params:oauth:grant-type:token-exchange"],
    }
    assert field_line(field, "update") == (
        "grantTypes: +urn:ietf:params:oauth:grant-type:token-exchange, -implicit (4 unchanged)"
    )
    short = {"path": "scopes", "before": ["a"], "after": ["a", "b"]}
    assert field_line(short, "update") == "scopes: [a] → [a, b]"


def test_plan_from_dict_validates_what_apply_reads():
    plan = make_plan(stack(), empty_snapshot(), PlanOptions(stack="s", target={"url": "http://t"}))
    data = json.loads(plan.to_json())
    assert Plan.from_dict(data) == plan
    app = next(c for c in data["changes"] if c["kind"] == "Application")
    assert app["secret"] == {"source": "env", "name": "APP_SECRET", "base": ""} and app["send_secret"] is False
    bad_cases = [
        ("secret", {"source": "vault", "name": "X", "base": ""}, "secret.source must be 'env' or 'file'"),
        ("secret", {"source": "file", "name": "", "base": "a"}, "secret.name must be a non-empty string"),
        ("secret", "{fromEnv: APP_SECRET}", "secret must be an object"),
        ("ids", {"record": 7}, "ids.record must be a string"),
        ("ids", {"recrod": "x"}, "unknown id key(s) recrod"),
        ("send_secret", "yes", "send_secret must be true or false"),
        ("observed", {"am": "rev-1"}, "observed.am must be null or an object with a rev"),
    ]
    for key, value, message in bad_cases:
        broken = json.loads(plan.to_json())
        next(c for c in broken["changes"] if c["kind"] == "Application")[key] = value
        with pytest.raises(PlanFormatError, match=re.escape(message)):
            Plan.from_dict(broken)
    with pytest.raises(PlanFormatError, match="format_version '1' is not supported"):
        Plan.from_dict({**data, "format_version": "1"})


def test_secret_reference_identity_is_the_file_not_the_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = SecretReference("file", "secret.txt", "a")
    assert relative.key() == SecretReference("file", "secret.txt", str(tmp_path / "a")).key()
    assert relative.key() != SecretReference("file", "secret.txt", "b").key()
    assert str(relative) == "{fromFile: secret.txt}" and relative.path == "a/secret.txt"
    assert SecretReference.of(SecretRef("env", "X")).to_dict() == {"source": "env", "name": "X", "base": ""}


def test_verify_uses_the_one_colour_rule(monkeypatch):
    import io
    import sys

    from provisioner.commands import verify

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Tty())
    assert verify._color(False, {}) is True
    assert verify._color(False, {"NO_COLOR": ""}) is True  # set but empty: colour stays (no-color.org)
    assert verify._color(False, {"NO_COLOR": "1"}) is False
    assert verify._color(True, {}) is False


def test_plan_load_note_lives_beside_the_frozen_plan(tmp_path):
    import dataclasses
    import gc

    from provisioner.manifest.model import Stack
    from provisioner.orchestrate import loading

    manifest = tmp_path / "app.yaml"
    manifest.write_text("x: 1\n")
    the_stack = Stack(name="s", resources=(), environment=None, sources=(str(manifest),))
    plan = make_plan(stack(), empty_snapshot(), PlanOptions(stack="s"))
    key = loading.load_key([str(tmp_path)], None, None, None)
    loading.remember_load(plan, key, the_stack, "secrets", None)
    assert set(vars(plan)) == {f.name for f in dataclasses.fields(plan)}  # nothing hidden on the plan
    assert loading.reuse_load(plan, key, None) == (the_stack, "secrets")
    assert loading.reuse_load(plan, loading.load_key([str(tmp_path)], "dev", None, None), None) is None
    manifest.write_text("x: 22\n")  # a file changed since: load again
    assert loading.reuse_load(plan, key, None) is None
    del plan
    gc.collect()
    assert not loading._LOADED  # forgotten with its plan


def test_apply_settings_are_typed_run_options():
    import dataclasses

    from provisioner import api

    with pytest.raises(TypeError):
        api.apply(Plan.from_dict({"format_version": "2"}), tenant=None, max_delets=1)  # a typo is refused
    options = dataclasses.replace(api.RunOptions(max_deletes=0, prune=True), parallelism=2)
    assert (options.max_deletes, options.prune, options.parallelism, options.targets) == (0, True, 2, ())
    with pytest.raises(TypeError):
        api.plan(Plan.from_dict({"format_version": "2"}), tenant=None, max_delets=1)
    with pytest.raises(TypeError):
        api.destroy_plan(None, tenant=None, prune=True)  # destroy has no prune setting
    with pytest.raises(TypeError):
        api.verify(None, tenant=None, parallelism=2)  # nor verify a parallelism
