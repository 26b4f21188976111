"""Pure parts of undo and Frodo import: before-images, their way back to manifest records, Frodo files."""

from __future__ import annotations

import json

from provisioner.export.frodo import read_files
from provisioner.kinds import aiagent, application, privilege, provider
from provisioner.kinds.images import before_image, created_deletes, restore_resources
from provisioner.kinds.snapshot import RealmSnapshot, Snapshot
from provisioner.plan.model import Change, FieldChange, Ids

ALICE = "u-alice"
AGENT_UID = "ident-1"
APP_UID = "rec-1"


def _snapshot() -> Snapshot:
    client = {
        "_id": "app",
        "coreOAuth2ClientConfig": {"scopes": ["read", "write"], "clientName": ["App"]},
        "advancedOAuth2ClientConfig": {"descriptions": [], "grantTypes": ["client_credentials"]},
    }
    agent = {
        "_id": "bot",
        "aiAgentIdentityUid": AGENT_UID,
        "coreOAuth2ClientConfig": {"scopes": ["monitor"]},
        "overrideOAuth2ClientConfig": {"providerOverridesEnabled": False},
    }
    record = {
        "_id": APP_UID,
        "name": "App",
        "templateName": "service",
        "ssoEntities": {"oidcId": "app"},
        "owners": [
            {"_ref": f"managed/alpha_user/{ALICE}", "_refResourceId": ALICE},
            {"_ref": "managed/alpha_user/u-gone", "_refResourceId": "u-gone"},
        ],
    }
    identity = {"_id": AGENT_UID, "name": "Bot", "oauth2ClientId": "bot", "owners": []}
    priv = {
        "_id": "priv-1",
        "agentID": AGENT_UID,
        "agentOAuth2ClientId": "bot",
        "description": "old",
        "resource": {"_ref": f"managed/alpha_application/{APP_UID}", "_refResourceId": APP_UID},
        "permissions": [{"type": "scopes", "values": ["read"]}],
        "subjects": [],
        "subjectGroups": [],
    }
    realm = RealmSnapshot(
        realm="alpha",
        provider={"advancedOAuth2Config": {"grantTypes": ["implicit", "password"]}},
        clients={"app": client},
        agents={"bot": agent},
        apps={"app": record},
        identities={AGENT_UID: identity},
        privileges=(priv,),
        users={"alice": ALICE},
    )
    return Snapshot(realms={"alpha": realm})


def _change(kind: str, key: str, action: str, desired: dict, **kw) -> Change:
    addr = f"{kind} alpha" if kind == provider.KIND else f"{kind} alpha/{key}"
    return Change(address=addr, kind=kind, realm="alpha", key=key, action=action, desired=desired, **kw)


def test_update_images_hold_only_the_managed_fields_with_full_values() -> None:
    snap = _snapshot()
    names = {ALICE: "alice"}
    app = before_image(
        _change(
            application.KIND,
            "app",
            "update",
            {"description": "new", "owners": [], "scopes": ["read"]},
            fields=(FieldChange("clientSecret", sensitive=True),),
        ),
        snap,
        names,
    )
    assert app["image"] == {"description": None, "owners": [{"userName": "alice"}], "scopes": ["read", "write"]}
    assert app["secretChanged"] is True
    assert any("u-gone" in n for n in app["notes"])  # an owner without a user is named, not invented
    prov = before_image(_change(provider.KIND, "alpha", "update", {"grantTypes": {"ensure": ["x"]}}), snap, names)
    assert prov["image"] == {"grantTypes": {"exact": ["implicit", "password"]}}
    created = before_image(_change(aiagent.KIND, "new-bot", "create", {"scopes": ["a"]}), snap, names)
    assert created["image"] is None and created["secretChanged"] is False
    priv = before_image(
        _change(
            privilege.KIND,
            "bot/app",
            "update",
            {"permissions": ["read", "write"]},
            ids=Ids(privilege="priv-1", agent_key="bot"),
        ),
        snap,
        names,
    )
    assert priv["image"] == {
        "application": "app",
        "description": "old",
        "subjects": [],
        "subjectGroups": [],
        "permissions": ["read"],
    }
    assert "clientSecret" not in json.dumps([app, prov, created, priv])


def test_restore_merges_privileges_into_their_agent_and_deletes_what_was_created() -> None:
    images = [
        {
            "address": "OAuth2Provider alpha",
            "kind": provider.KIND,
            "realm": "alpha",
            "key": "alpha",
            "action": "update",
            "image": {"grantTypes": {"exact": ["password"]}},
        },
        {
            "address": "AgentPrivilege alpha/bot/app",
            "kind": privilege.KIND,
            "realm": "alpha",
            "key": "bot/app",
            "action": "update",
            "agent": "bot",
            "image": {"application": "app", "permissions": ["read"]},
        },
        {
            "address": "AIAgent alpha/bot",
            "kind": aiagent.KIND,
            "realm": "alpha",
            "key": "bot",
            "action": "update",
            "image": {"scopes": ["monitor"]},
        },
        {
            "address": "AIAgent alpha/new",
            "kind": aiagent.KIND,
            "realm": "alpha",
            "key": "new",
            "action": "create",
            "image": None,
        },
        {
            "address": "Application alpha/app",
            "kind": application.KIND,
            "realm": "alpha",
            "key": "app",
            "action": "create",
            "image": None,
        },
    ]
    made = restore_resources(images, lambda kind, realm, name, spec, rec: (kind, realm, name, spec))
    assert made == [
        (
            aiagent.KIND,
            "alpha",
            "bot",
            {"scopes": ["monitor"], "applications": [{"application": "app", "permissions": ["read"]}]},
        ),
        (provider.KIND, "alpha", "alpha", {"grantTypes": {"exact": ["password"]}}),
    ]
    deletes = created_deletes(images, _snapshot(), "undo")
    # "new" does not exist (nothing to delete); "app" exists: both halves go, by their ids.
    assert [(d["address"], d["ids"]) for d in deletes] == [("Application alpha/app", {"record": APP_UID})]


def test_frodo_files_wrapped_values_provider_and_privileges() -> None:
    agents = {
        "meta": {},
        "agent": {
            "bot": {
                "_id": "bot",
                "aiAgentIdentityUid": {"inherited": False, "value": AGENT_UID},
                "coreOAuth2ClientConfig": {"scopes": {"inherited": False, "value": ["monitor"]}},
                "_aiAgentIdentity": {
                    "_id": AGENT_UID,
                    "name": "Bot",
                    "_privileges": [
                        {"_id": "p1", "resourceData": {"ssoEntities": {"oidcId": "app"}}, "permissions": []}
                    ],
                },
            }
        },
    }
    apps = {
        "meta": {},
        "script": {"s": {}},
        "managedApplication": {APP_UID: {"name": "App", "ssoEntities": {"oidcId": "app"}}},
        "application": {
            "app": {
                "_id": "app",
                "_provider": {
                    "_rev": "7",
                    "advancedOAuth2Config": {"grantTypes": {"inherited": False, "value": ["password"]}},
                },
            }
        },
    }
    imported = read_files([("a.json", json.dumps(agents)), ("b.json", json.dumps(apps))], "alpha")
    snap = imported.snapshot()
    assert snap.agents["bot"]["coreOAuth2ClientConfig"]["scopes"] == ["monitor"]
    assert snap.identity_of("bot")["_id"] == AGENT_UID
    [priv] = snap.privileges
    assert priv["agentID"] == AGENT_UID and snap.privilege_app(priv) == "app"
    assert snap.provider == {"advancedOAuth2Config": {"grantTypes": ["password"]}} and snap.provider_rev == "7"
    assert snap.apps["app"]["_id"] == APP_UID and "_provider" not in snap.clients["app"]
    assert any("'script'" in str(n) for n in imported.notes)


def test_a_kind_undo_does_not_know_is_named_not_silently_skipped() -> None:
    record = before_image(_change("Widget", "w", "update", {"size": 3}), _snapshot(), {})
    assert record["image"] is None and record["notes"] == ["undo cannot restore objects of kind 'Widget' yet"]


def test_every_kind_declares_its_images_and_an_undeclared_kind_is_named_not_restorable() -> None:
    from provisioner.kinds import REGISTRY

    assert all(spec.images is not None for spec in REGISTRY)
    owned = [spec for spec in REGISTRY if spec.owns]
    assert owned and all(
        (hooks := next(s for s in REGISTRY if s.name == spec.owns).images) is not None
        and hooks.entry_field
        and hooks.entry_key
        and hooks.parent_key
        for spec in owned
    )
    record = before_image(_change("Widget", "w", "update", {"size": 2}), _snapshot(), {})
    assert record["image"] is None
    assert record["notes"] == ["undo cannot restore objects of kind 'Widget' yet"]
    assert restore_resources([record], lambda *a: a) == []
