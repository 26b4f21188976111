"""The access map: which agent can obtain which token, for whom, with which scopes (pure).

Per AI agent: its own token (the client-credentials grant, with the agent's ``scopes``) and, per
application it holds a privilege on, the token exchange into that application: the audience (the
application's client id), the permitted scopes (the privilege's ``permissions``, or every scope of the
application when they are empty) and who it may act for (no one: the agent itself; or the privilege's
``subjects`` users and ``subjectGroups`` groups).

Built from the manifests (:func:`from_resources`, optionally filling undeclared fields from a tenant
snapshot) or from a tenant snapshot (:func:`from_snapshot`); ``kinds/access_diff.py`` turns two maps
into the sentences a reviewer approves ("agent X gains `logs-delete` on web-app"). This module knows the AIAgent,
Application and AgentPrivilege kinds; everything outside ``kinds/`` only handles the map.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from provisioner.client.wrapping import unwrap
from provisioner.grants import CLIENT_CREDENTIALS, TOKEN_EXCHANGE
from provisioner.kinds import aiagent, application
from provisioner.kinds.common import get_path, ref_ids, string_set
from provisioner.kinds.privilege import group_id
from provisioner.kinds.snapshot import RealmSnapshot, Snapshot


@dataclass(frozen=True)
class Exchange:
    """One edge: the agent may exchange a token into ``application``.

    ``scopes`` is None when the permitted scopes are unknown (empty permissions on an application whose
    scopes are neither declared nor read). ``all_scopes``: the privilege lists no permissions, so every
    scope of the application is permitted. No ``users`` and no ``groups``: the agent acts for no one
    but itself (autonomous).
    """

    application: str
    scopes: tuple[str, ...] | None
    all_scopes: bool = False
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def audience(self) -> str:
        return self.application

    @property
    def acts_for_no_one(self) -> bool:
        return not self.users and not self.groups

    def acts_for(self) -> str:
        """``no one (autonomous)``, or ``users a, b; groups g``."""
        if self.acts_for_no_one:
            return "no one (autonomous: only for itself)"
        parts = []
        if self.users:
            parts.append("users " + ", ".join(self.users))
        if self.groups:
            parts.append("groups " + ", ".join(self.groups))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "application": self.application,
            "audience": self.audience,
            "scopes": list(self.scopes) if self.scopes is not None else None,
            "allScopes": self.all_scopes,
            "actsFor": {"noOne": self.acts_for_no_one, "users": list(self.users), "groups": list(self.groups)},
        }


@dataclass(frozen=True)
class AgentAccess:
    """One agent: its grant types (None when unknown), own-token scopes and exchange edges."""

    realm: str
    agent: str
    grant_types: tuple[str, ...] | None
    scopes: tuple[str, ...] | None
    exchanges: tuple[Exchange, ...] = ()

    @property
    def has_own_token(self) -> bool:
        """The client-credentials grant gives the agent a token of its own (unknown grants: assumed)."""
        return self.grant_types is None or CLIENT_CREDENTIALS in self.grant_types

    @property
    def can_exchange(self) -> bool:
        return self.grant_types is None or TOKEN_EXCHANGE in self.grant_types

    def exchange(self, application_key: str) -> Exchange | None:
        return next((e for e in self.exchanges if e.application == application_key), None)

    def to_dict(self) -> dict[str, Any]:
        own = None
        if self.has_own_token:
            own = {"grant": CLIENT_CREDENTIALS, "scopes": list(self.scopes) if self.scopes is not None else None}
        return {
            "realm": self.realm,
            "agent": self.agent,
            "grantTypes": list(self.grant_types) if self.grant_types is not None else None,
            "ownToken": own,
            "tokenExchange": self.can_exchange,
            "exchanges": [e.to_dict() for e in self.exchanges],
        }


@dataclass(frozen=True)
class AccessMap:
    """Every agent's access, sorted by realm and client id. ``source``: ``manifests`` or ``tenant``."""

    source: str
    agents: tuple[AgentAccess, ...] = field(default_factory=tuple)

    @cached_property
    def _index(self) -> dict[tuple[str, str], AgentAccess]:
        # Built once (the map is immutable): diffing maps of thousands of agents stays linear.
        out: dict[tuple[str, str], AgentAccess] = {}
        for agent in self.agents:
            out.setdefault((agent.realm, agent.agent), agent)
        return out

    def get(self, realm: str, agent: str) -> AgentAccess | None:
        return self._index.get((realm, agent))

    def only(self, keys: Iterable[tuple[str, str]]) -> AccessMap:
        """The map restricted to the ``(realm, agent)`` keys given."""
        wanted = set(keys)
        return AccessMap(self.source, tuple(a for a in self.agents if (a.realm, a.agent) in wanted))

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "agents": [a.to_dict() for a in self.agents]}


def _tuple(values: Any) -> tuple[str, ...] | None:
    return tuple(string_set(values)) if isinstance(values, (list, tuple)) else None


def _live_client(doc: Mapping[str, Any] | None, path: tuple[str, str]) -> tuple[str, ...] | None:
    if doc is None:
        return None
    return tuple(string_set(unwrap(get_path(doc, path))))


_SCOPES = ("coreOAuth2ClientConfig", "scopes")
_GRANTS = ("advancedOAuth2ClientConfig", "grantTypes")


def _permitted(permissions: tuple[str, ...], app_scopes: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, bool]:
    if permissions:
        return permissions, False
    return app_scopes, True


def from_resources(resources: Iterable[Any], snapshot: Snapshot | None = None) -> AccessMap:
    """The access the manifests declare; fields they leave unmanaged come from ``snapshot`` when given.

    An agent's privileges are fully owned by its ``applications`` list (absent = none), as in plan.
    """
    resources = list(resources)
    app_scopes: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for res in resources:
        if res.kind == application.KIND and "scopes" in res.spec:
            app_scopes[(res.realm, res.name)] = _tuple(res.spec.get("scopes"))
    agents = []
    for res in (r for r in resources if r.kind == aiagent.KIND):
        snap = snapshot.realm(res.realm) if snapshot is not None else None
        live = snap.agents.get(res.name) if snap is not None else None
        scopes = _tuple(res.spec["scopes"]) if "scopes" in res.spec else _live_client(live, _SCOPES)
        grant_types = _tuple(res.spec["grantTypes"]) if "grantTypes" in res.spec else _live_client(live, _GRANTS)
        edges = []
        for entry in res.spec.get("applications") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("application"), str):
                continue
            app = entry["application"]
            known = app_scopes.get((res.realm, app))
            if known is None and snap is not None:
                known = _live_client(snap.clients.get(app), _SCOPES)
            scopes_ok, every = _permitted(tuple(string_set(entry.get("permissions") or [])), known)
            users = tuple(
                sorted(
                    {
                        str(s.get("userName"))
                        for s in entry.get("subjects") or []
                        if isinstance(s, Mapping) and s.get("userName")
                    }
                )
            )
            groups = tuple(sorted({group_id(g) for g in entry.get("subjectGroups") or []}))
            edges.append(Exchange(app, scopes_ok, every, users, groups))
        agents.append(
            AgentAccess(res.realm, res.name, grant_types, scopes, tuple(sorted(edges, key=lambda e: e.application)))
        )
    return AccessMap("manifests", tuple(sorted(agents, key=lambda a: (a.realm, a.agent))))


def _permissions(priv: Mapping[str, Any]) -> tuple[str, ...]:
    values: set[str] = set()
    for entry in priv.get("permissions") or []:
        if isinstance(entry, Mapping) and entry.get("type") in (None, "scopes"):
            values.update(string_set(entry.get("values")))
    return tuple(sorted(values))


def realm_access(snap: RealmSnapshot, user_names: Mapping[str, str] | None = None) -> list[AgentAccess]:
    """Every agent of one realm as the tenant holds it. ``user_names``: user id → userName."""
    names = dict(user_names or {})
    names.update({uid: name for name, uid in snap.users.items()})
    agents = []
    for key, doc in sorted(snap.agents.items()):
        identity = snap.identity_of(key)
        edges = []
        for priv in snap.privileges_of(str(identity["_id"]) if identity else None, key):
            app = snap.privilege_app(priv) or "?"
            scopes, every = _permitted(_permissions(priv), _live_client(snap.clients.get(app), _SCOPES))
            users = tuple(sorted(names.get(uid, uid) for uid in ref_ids(priv.get("subjects"))))
            groups = tuple(ref_ids(priv.get("subjectGroups")))
            edges.append(Exchange(app, scopes, every, users, groups))
        agents.append(
            AgentAccess(
                snap.realm,
                key,
                _live_client(doc, _GRANTS),
                _live_client(doc, _SCOPES),
                tuple(sorted(edges, key=lambda e: e.application)),
            )
        )
    return agents


def subject_user_ids(snap: RealmSnapshot) -> set[str]:
    """The user ids the realm's privileges name as subjects (to read their userNames)."""
    return {uid for priv in snap.privileges for uid in ref_ids(priv.get("subjects"))}


def from_snapshot(snapshot: Snapshot, user_names: Mapping[str, Mapping[str, str]] | None = None) -> AccessMap:
    """The access the tenant grants, in every realm read. ``user_names``: realm → user id → userName."""
    agents: list[AgentAccess] = []
    for realm, snap in sorted(snapshot.realms.items()):
        agents.extend(realm_access(snap, (user_names or {}).get(realm)))
    return AccessMap("tenant", tuple(agents))


# -- the difference a change makes ----------------------------------------------------------------------


def read_tenant(client: Any, realms: Iterable[str], parallelism: int = 4) -> tuple[AccessMap, Snapshot]:
    """Read the tenant (the plan's list reads, plus the userNames of privilege subjects) and map it."""
    from provisioner.kinds.snapshot import PAGE_SIZE, ReadScope, or_filter, read_snapshot

    snapshot = read_snapshot(client, [ReadScope(r) for r in sorted(set(realms))], parallelism)
    names: dict[str, dict[str, str]] = {}
    for realm, snap in snapshot.realms.items():
        ids = sorted(subject_user_ids(snap))
        found: dict[str, str] = {}
        for start in range(0, len(ids), 50):  # bounded filter length
            users = client.idm.query(
                f"{realm}_user", or_filter("_id", ids[start : start + 50]), ("_id", "userName"), PAGE_SIZE
            )
            found.update({str(u["_id"]): str(u["userName"]) for u in users or [] if u.get("userName")})
        names[realm] = found
    return from_snapshot(snapshot, names), snapshot


def read_live(client: Any, realms: Iterable[str], parallelism: int = 4) -> AccessMap:
    """The live tenant's access map for ``realms``."""
    return read_tenant(client, realms, parallelism)[0]
