"""The IDM managed types the emulator knows, per realm: relationships, policies, schemas.

Forward relationships are stored on the object as refs; reverse relationships (``reverse_of``) are
computed from the forward side on every read, so they can never drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..errors import NotFound

KINDS = ("application", "aiagent", "aiagentprivilege", "user", "group")
FEATURE_KINDS = ("aiagent", "aiagentprivilege")  # hidden while the AI agents feature is off


@dataclass(frozen=True)
class Rel:
    """A relationship property: its target kind, cardinality, and the forward side it mirrors."""

    target: str
    many: bool
    reverse_of: tuple[str, str] | None = None  # (source kind, source property)


@dataclass(frozen=True)
class TypeDef:
    kind: str
    rels: dict[str, Rel] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    virtual: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()  # stored, never returned (passwords)
    always: dict[str, Any] = field(default_factory=dict)  # returned as this value when unset


TYPES: dict[str, TypeDef] = {
    "application": TypeDef(
        "application",
        rels={
            "owners": Rel("user", True),
            "members": Rel("user", True),
            "roles": Rel("role", True),
            "aiagentprivileges": Rel("aiagentprivilege", True, ("aiagentprivilege", "resource")),
        },
        required=("name",),
        unique=("name",),
    ),
    "aiagent": TypeDef(
        "aiagent",
        rels={"owners": Rel("user", True), "privileges": Rel("aiagentprivilege", True, ("aiagentprivilege", "agent"))},
        required=("name", "oauth2ClientId"),
    ),
    "aiagentprivilege": TypeDef(
        "aiagentprivilege",
        rels={
            "agent": Rel("aiagent", False),
            "resource": Rel("application", False),
            "subjects": Rel("user", True),
            "subjectGroups": Rel("group", True),
        },
        required=("agent",),
        virtual=("agentID", "agentOAuth2ClientId", "resourceData", "subjectIDs"),
    ),
    "user": TypeDef(
        "user",
        rels={
            "ownerOfApp": Rel("application", True, ("application", "owners")),
            "groups": Rel("group", True, ("group", "members")),
        },
        required=("userName",),
        unique=("userName",),
        hidden=("password",),
    ),
    "group": TypeDef(
        "group",
        rels={
            "members": Rel("user", True),
            "aiagentprivileges": Rel("aiagentprivilege", True, ("aiagentprivilege", "subjectGroups")),
        },
    ),
}


def split_type(name: str, realms: tuple[str, ...]) -> tuple[str, str]:
    """``alpha_aiagent`` → ``("alpha", "aiagent")``; ``NotFound`` for anything else."""
    realm, sep, kind = name.partition("_")
    if not sep or realm not in realms or kind not in TYPES:
        raise NotFound()
    return realm, kind


def collection(realm: str, kind: str) -> str:
    return f"managed/{realm}_{kind}"


@cache
def _data(name: str) -> str:
    return resources.files("provisioner.emulator.data").joinpath(name).read_text(encoding="utf-8")


def load_json(name: str) -> Any:
    return json.loads(_data(name))


def _relationship_schema(title: str, target: str, many: bool, reverse: str | None) -> dict[str, Any]:
    item = {
        "type": "relationship",
        "title": title,
        "validate": True,
        "reverseRelationship": reverse is not None,
        "resourceCollection": [
            {
                "path": target,
                "label": target.rsplit("_", 1)[-1].title(),
                "query": {"queryFilter": "true", "fields": ["_id"], "sortKeys": []},
            }
        ],
        "properties": {"_ref": {"type": "string"}, "_refProperties": {"type": "object"}},
    }
    if reverse:
        item["reversePropertyName"] = reverse
    if many:
        return {
            "type": "array",
            "title": title,
            "returnByDefault": False,
            "searchable": False,
            "viewable": True,
            "userEditable": False,
            "items": item,
        }
    return {**item, "returnByDefault": False, "searchable": False, "viewable": True, "userEditable": False}


_PLAIN_PROPS: dict[str, dict[str, dict[str, Any]]] = {
    "application": {
        "name": {"type": "string", "searchable": True, "policies": [{"policyId": "unique"}]},
        "description": {"type": "string", "searchable": True},
        "icon": {"type": "string", "searchable": True},
        "url": {"type": "string", "searchable": True},
        "templateName": {"type": "string"},
        "templateVersion": {"type": "string"},
        "authoritative": {"type": "boolean"},
        "connectorId": {"type": "string"},
        "mappingNames": {"type": "array", "searchable": True},
        "uiConfig": {"type": "object"},
        "ssoEntities": {"type": "object", "userEditable": False, "notifyRelationships": ["aiagentprivileges"]},
    },
    "user": {
        "userName": {"type": "string", "searchable": True},
        "givenName": {"type": "string", "searchable": True},
        "sn": {"type": "string", "searchable": True},
        "mail": {"type": "string", "searchable": True},
        "password": {"type": "string", "scope": "private"},
        "accountStatus": {"type": "string", "searchable": True},
    },
    "group": {"name": {"type": "string", "searchable": True}, "description": {"type": "string", "searchable": True}},
}


def schema(realm: str, kind: str) -> dict[str, Any]:
    """``GET /openidm/schema/managed/<realm>_<kind>``: recorded for agents and privileges, built
    from reference §5.2 for the others."""
    if kind in FEATURE_KINDS:
        text = _data(f"schema-{kind}.json")
        text = text.replace("alpha_", f"{realm}_").replace("Alpha realm", f"{realm.title()} realm")
        return json.loads(text)
    tdef = TYPES[kind]
    props: dict[str, Any] = {"_id": {"type": "string", "searchable": False, "viewable": True, "userEditable": False}}
    for name, prop in _PLAIN_PROPS[kind].items():
        props[name] = {"title": name, "viewable": True, "userEditable": True, "searchable": False, **prop}
        props[name]["returnByDefault"] = name == "name" if kind == "application" else True
    for name, rel in tdef.rels.items():
        reverse = None
        for odef in TYPES.values():
            for oname, orel in odef.rels.items():
                if orel.reverse_of == (kind, name):
                    reverse = oname
        if rel.reverse_of:
            reverse = rel.reverse_of[1]
        props[name] = _relationship_schema(name, collection(realm, rel.target), rel.many, reverse)
    return {
        "$schema": "http://forgerock.org/json-schema#",
        "type": "object",
        "title": f"{realm.title()} realm - {kind.title()}",
        "order": list(props),
        "properties": props,
        "required": list(tdef.required),
        "resourceCollection": collection(realm, kind),
    }
