"""Frodo interop (pure): our realm snapshot ↔ the JSON export files of Frodo (rockcarver/frodo-lib).

Frodo's shapes, as frodo-lib builds them (``AgentOps.exportAIAgents``, ``OAuth2ClientOps
.exportOAuth2Clients``, ``ApplicationOps.exportApplications``):

* AI agents: ``{"meta": {...}, "agent": {<client id>: <AM AIAgent document, with "_aiAgentIdentity":
  <IDM identity, with "_privileges": [<IDM privilege>, ...]>>}}``
* OAuth2 clients: ``{"meta": {...}, "script": {}, "application": {<client id>: <AM OAuth2Client
  document, with "_provider": <the realm's oauth-oidc service document>>}}``
* Applications: ``{"meta": {...}, "managedApplication": {<IDM _id>: <IDM application record>},
  "application": {<client id>: <AM OAuth2Client document, with "_provider">}, "script": {}}``
  (the OAuth2 clients of OIDC applications come along as dependencies).

``meta`` is ``{origin, originAmVersion, exportedBy, exportDate, exportTool, exportToolVersion}``. AM
documents may be in the plain list form (bulk exports) or the wrapped ``{"inherited", "value"}`` form
(single-object exports); both are read.

:func:`to_frodo` writes those shapes from a :class:`RealmSnapshot`; :func:`from_frodo` reads any mix of
such files back into a :class:`RealmSnapshot`, so that the ordinary export (``build``) turns them
into manifests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.client.wrapping import unwrap
from provisioner.export.build import Selection
from provisioner.kinds import REGISTRY
from provisioner.kinds.common import get_path
from provisioner.kinds.reverse import Note
from provisioner.kinds.snapshot import RealmSnapshot

#: The section names Frodo uses for the three kinds of objects we read.
SECTIONS = ("agent", "application", "managedApplication")
#: Sections of a Frodo export that hold things provisioner does not manage (ignored with a note).
OTHER_SECTIONS = (
    "script",
    "saml",
    "connector",
    "mapping",
    "glossarySchema",
    "requestForm",
    "requestType",
    "agentGroup",
)


def meta(origin: str, exported_by: str, date: str, version: str) -> dict[str, Any]:
    """Frodo's ``ExportMetaData`` (``exportTool`` names this tool, not Frodo)."""
    return {
        "origin": origin,
        "originAmVersion": None,
        "exportedBy": exported_by,
        "exportDate": date,
        "exportTool": "provisioner",
        "exportToolVersion": version,
    }


def _provider(snap: RealmSnapshot) -> dict[str, Any] | None:
    if snap.provider is None:
        return None
    doc = copy.deepcopy(dict(snap.provider))
    if snap.provider_rev is not None:
        doc["_rev"] = snap.provider_rev
    return doc


def to_frodo(snap: RealmSnapshot, selection: Selection, meta_data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """File name → Frodo export document for the selected objects of ``snap``, one file per kind (the
    selection already honours ``--kinds``)."""
    files: dict[str, dict[str, Any]] = {}
    for spec in REGISTRY:
        keys = selection.of(spec.name)
        if spec.frodo is not None and keys:
            name, document = spec.frodo(snap, keys, meta_data)
            files[name] = document
    return files


def carries_provider(files: Mapping[str, Mapping[str, Any]]) -> bool:
    """Frodo keeps the realm's OAuth2 provider inside the OAuth2 clients of an application file."""
    return any("managedApplication" in document for document in files.values())


def application_file(
    snap: RealmSnapshot, keys: Sequence[str], meta_data: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """``<realm>.application.json``: the IDM application records and their OAuth2 clients (with the
    provider as ``_provider``)."""
    provider = _provider(snap)
    managed: dict[str, Any] = {}
    clients: dict[str, Any] = {}
    for key in keys:
        record = copy.deepcopy(dict(snap.apps[key]))
        managed[str(record["_id"])] = record
        client = copy.deepcopy(dict(snap.clients[key]))
        if provider is not None:
            client["_provider"] = copy.deepcopy(provider)
        clients[key] = client
    document = {"meta": dict(meta_data), "managedApplication": managed, "application": clients, "script": {}}
    return f"{snap.realm}.application.json", document


def agent_file(snap: RealmSnapshot, keys: Sequence[str], meta_data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``<realm>.agent.json``: the AM agents, each with its identity and the identity's privileges."""
    out: dict[str, Any] = {}
    for key in keys:
        agent = copy.deepcopy(dict(snap.agents[key]))
        identity = snap.identity_of(key)
        if identity is not None:
            ident = copy.deepcopy(dict(identity))
            ident["_privileges"] = [copy.deepcopy(dict(p)) for p in snap.privileges_of(str(identity["_id"]), key)]
            agent["_aiAgentIdentity"] = ident
        out[key] = agent
    return f"{snap.realm}.agent.json", {"meta": dict(meta_data), "agent": out}


def dumps(document: Mapping[str, Any]) -> str:
    """Frodo writes two-space-indented JSON; keys sorted here so the same tenant gives the same bytes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class FrodoFormatError(ValueError):
    """A file that is not a Frodo export of agents, OAuth2 clients or applications."""


@dataclass
class FrodoImport:
    """What a set of Frodo files holds, gathered into one realm."""

    realm: str
    provider: dict[str, Any] | None = None
    provider_rev: str | None = None
    clients: dict[str, Any] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)
    identities: dict[str, Any] = field(default_factory=dict)
    privileges: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def snapshot(self) -> RealmSnapshot:
        return RealmSnapshot(
            realm=self.realm,
            provider=self.provider,
            provider_rev=self.provider_rev,
            clients=self.clients,
            agents=self.agents,
            apps=self.apps,
            identities=self.identities,
            privileges=tuple(self.privileges[k] for k in sorted(self.privileges)),
        )

    def user_ids(self) -> set[str]:
        """Every user id the owners and privilege subjects point at."""
        from provisioner.kinds.common import ref_ids

        ids: set[str] = set()
        for doc in [*self.apps.values(), *self.identities.values()]:
            ids.update(ref_ids(doc.get("owners")))
        for priv in self.privileges.values():
            ids.update(ref_ids(priv.get("subjects")))
        return ids


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise FrodoFormatError(f"{where}: expected a JSON object")
    return dict(value)


def read(name: str, text: str, into: FrodoImport) -> None:
    """Add the agents, OAuth2 clients and applications of one Frodo export file (``name`` for messages)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FrodoFormatError(f"{name}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
    data = _object(data, name)
    if not any(s in data for s in SECTIONS):
        raise FrodoFormatError(
            f"{name}: not a Frodo export of AI agents, OAuth2 clients or applications (no "
            f"{', '.join(repr(s) for s in SECTIONS)} section)"
        )
    for section in sorted(data):
        if section in OTHER_SECTIONS and data[section]:
            into.notes.append(Note("", f"{name}: section {section!r} is not managed by provisioner; ignored"))
    for key, raw in sorted(_object(data.get("application") or {}, f"{name}: application").items()):
        doc = _object(raw, f"{name}: application.{key}")
        provider = doc.pop("_provider", None)
        if isinstance(provider, Mapping) and into.provider is None:
            plain = unwrap(dict(provider))
            into.provider_rev = str(plain.pop("_rev")) if plain.get("_rev") is not None else None
            into.provider = plain
        into.clients[str(doc.get("_id") or key)] = unwrap(doc)
    for key, raw in sorted(_object(data.get("managedApplication") or {}, f"{name}: managedApplication").items()):
        record = _object(raw, f"{name}: managedApplication.{key}")
        oidc = get_path(record, ("ssoEntities", "oidcId"))
        if not isinstance(oidc, str) or not oidc:
            into.notes.append(
                Note(
                    "",
                    f"{name}: managed application {record.get('name') or key!r} is not an "
                    f"OIDC application (no ssoEntities.oidcId); skipped",
                )
            )
            continue
        record.setdefault("_id", key)
        record.pop("glossary", None)
        into.apps[oidc] = record
    for key, raw in sorted(_object(data.get("agent") or {}, f"{name}: agent").items()):
        doc = _object(raw, f"{name}: agent.{key}")
        identity = doc.pop("_aiAgentIdentity", None)
        agent = unwrap(doc)
        agent.setdefault("_id", key)
        into.agents[str(agent["_id"])] = agent
        if isinstance(identity, Mapping):
            ident = dict(identity)
            privileges = ident.pop("_privileges", None) or []
            ident.setdefault("oauth2ClientId", str(agent["_id"]))
            if ident.get("_id"):
                into.identities[str(ident["_id"])] = ident
            for index, priv in enumerate(privileges if isinstance(privileges, list) else []):
                priv = _object(priv, f"{name}: agent.{key}._aiAgentIdentity._privileges[{index}]")
                if not priv.get("agentID") and ident.get("_id"):
                    priv["agentID"] = ident["_id"]
                priv.setdefault("agentOAuth2ClientId", str(agent["_id"]))
                into.privileges[str(priv.get("_id") or f"{key}#{index}")] = priv


def read_files(files: Iterable[tuple[str, str]], realm: str) -> FrodoImport:
    """Read ``(name, text)`` pairs into one :class:`FrodoImport` for ``realm``."""
    into = FrodoImport(realm=realm)
    for name, text in files:
        read(name, text, into)
    return into


__all__ = [
    "SECTIONS",
    "FrodoFormatError",
    "FrodoImport",
    "agent_file",
    "application_file",
    "carries_provider",
    "dumps",
    "meta",
    "read",
    "read_files",
    "to_frodo",
]
