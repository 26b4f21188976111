"""Read everything a plan needs with few requests: the requests grow with kinds, not objects.

Per realm: the reads each kind declares (``KindSpec.reads``: the provider, the ``OAuth2Client`` and
``AIAgent`` lists, the IDM application, agent-identity and privilege queries), one user query for every
referenced ``userName`` and one group query. The reads are independent and run in a thread pool. The result, :class:`Snapshot`, is plain
data; planning over it is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from provisioner.client.wrapping import unwrap
from provisioner.kinds.common import get_path, ref_id, resource_id

APP_FIELDS = ("_id", "_rev", "name", "description", "templateName", "templateVersion", "ssoEntities", "owners")
IDENTITY_FIELDS = ("_id", "_rev", "name", "description", "oauth2ClientId", "owners", "customAttributes")
PRIVILEGE_FIELDS = (
    "_id",
    "_rev",
    "agent",
    "agentID",
    "agentOAuth2ClientId",
    "description",
    "permissions",
    "resource",
    "resourceData",
    "subjectGroups",
    "subjectIDs",
    "subjects",
)
# A plan reads privileges without the two references (their flattenings agentID and resourceData
# carry the ids; see privilege.idm_privileges_for_plan).
PRIVILEGE_PLAN_FIELDS = tuple(name for name in PRIVILEGE_FIELDS if name not in ("agent", "resource"))
PAGE_SIZE = 1000


@dataclass(frozen=True)
class RealmSnapshot:
    """What one realm holds, as read (AM documents in list form; IDM records with the named fields)."""

    realm: str
    provider: Mapping[str, Any] | None = None
    provider_rev: str | None = None
    clients: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    agents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    apps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # by ssoEntities.oidcId
    identities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # by IDM _id
    privileges: tuple[Mapping[str, Any], ...] = ()
    users: Mapping[str, str] = field(default_factory=dict)  # userName → _id
    groups: frozenset[str] = frozenset()
    ai_agents_enabled: bool = True

    # Lookup indexes, built on first use (the snapshot is immutable): planning asks these once per
    # object, and a scan per question made large plans quadratic.
    @cached_property
    def _identity_by_client(self) -> dict[Any, Mapping[str, Any]]:
        out: dict[Any, Mapping[str, Any]] = {}
        for ident in self.identities.values():
            out.setdefault(ident.get("oauth2ClientId"), ident)  # the first match, as a scan finds it
        return out

    @cached_property
    def _client_by_app_id(self) -> dict[Any, str]:
        out: dict[Any, str] = {}
        for key, app in self.apps.items():
            out.setdefault(app.get("_id"), key)
        return out

    @cached_property
    def _privilege_index(self) -> tuple[dict[Any, list[int]], dict[Any, list[int]], dict[Any, list[int]]]:
        """Positions in ``privileges`` by agent id, by client id (no agent id), by client id (all)."""
        by_agent: dict[Any, list[int]] = {}
        by_client_unlinked: dict[Any, list[int]] = {}
        by_client: dict[Any, list[int]] = {}
        for index, priv in enumerate(self.privileges):
            agent = priv.get("agentID") or ref_id(priv.get("agent"))
            client = priv.get("agentOAuth2ClientId")
            if agent:
                by_agent.setdefault(agent, []).append(index)
            else:
                by_client_unlinked.setdefault(client, []).append(index)
            by_client.setdefault(client, []).append(index)
        return by_agent, by_client_unlinked, by_client

    @cached_property
    def _privilege_by_id(self) -> dict[Any, Mapping[str, Any]]:
        out: dict[Any, Mapping[str, Any]] = {}
        for priv in self.privileges:
            out.setdefault(priv.get("_id"), priv)
        return out

    def privilege(self, privilege_id: Any) -> Mapping[str, Any] | None:
        """The privilege with ``_id`` ``privilege_id`` (the first, as a scan finds it), or None."""
        return self._privilege_by_id.get(privilege_id)

    def identity_of(self, agent_key: str) -> Mapping[str, Any] | None:
        """The IDM identity of the AM agent ``agent_key`` (by ``aiAgentIdentityUid``, else by client id)."""
        agent = self.agents.get(agent_key)
        uid = unwrap(agent.get("aiAgentIdentityUid")) if agent else None
        if isinstance(uid, str) and uid in self.identities:
            return self.identities[uid]
        return self._identity_by_client.get(agent_key)

    def app_client_of(self, app_uuid: str | None) -> str | None:
        """The client id of the IDM application ``app_uuid``."""
        return self._client_by_app_id.get(app_uuid)

    def privileges_of(self, identity_id: str | None, agent_key: str) -> list[Mapping[str, Any]]:
        """The privileges whose agent is ``identity_id`` (or whose agent client id is ``agent_key``)."""
        by_agent, by_client_unlinked, by_client = self._privilege_index
        if identity_id:
            positions = sorted(by_agent.get(identity_id, []) + by_client_unlinked.get(agent_key, []))
        else:
            positions = by_client.get(agent_key, [])
        return sorted((self.privileges[i] for i in positions), key=lambda p: str(p.get("_id")))

    def privilege_app(self, priv: Mapping[str, Any]) -> str | None:
        """The application client id a privilege points at (``resourceData.ssoEntities.oidcId``)."""
        oidc = get_path(priv.get("resourceData"), ("ssoEntities", "oidcId"))
        if isinstance(oidc, str) and oidc:
            return oidc
        return self.app_client_of(resource_id(priv))


@dataclass(frozen=True)
class Snapshot:
    """Every realm read for a plan."""

    realms: Mapping[str, RealmSnapshot] = field(default_factory=dict)

    def realm(self, name: str) -> RealmSnapshot:
        return self.realms.get(name) or RealmSnapshot(realm=name)


@dataclass(frozen=True)
class ReadScope:
    """What to read in one realm besides the fixed lists: the users and groups the manifests name."""

    realm: str
    user_names: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def or_filter(field_name: str, values: Iterable[str]) -> str:
    """``userName eq "a" or userName eq "b"`` (sorted, so the request is deterministic)."""
    return " or ".join(f"{field_name} eq {_quote(v)}" for v in sorted(set(values)))


def _is_not_found(exc: Exception) -> bool:
    from provisioner.client.errors import NotFound

    return isinstance(exc, NotFound)


def read_realm_tasks(client: Any, scope: ReadScope, complete: bool = True) -> dict[str, Callable[[], Any]]:
    """The independent reads for one realm, by name (each a zero-argument callable): every kind's
    ``KindSpec.reads`` (their ``plan_read`` when not ``complete``), then the users and groups the
    manifests name."""
    from provisioner.kinds import REGISTRY

    realm = scope.realm
    idm = client.idm

    def optional(fn: Callable[[Any, str], Any]) -> Callable[[], Any]:
        def run() -> Any:
            try:
                return fn(client, realm)
            except Exception as exc:  # the AI-agent types are absent while the feature is off
                if _is_not_found(exc):
                    return None
                raise

        return run

    tasks: dict[str, Callable[[], Any]] = {}
    for spec in REGISTRY:
        for read in spec.reads:
            fn = read.read if complete or read.plan_read is None else read.plan_read
            tasks[read.name] = optional(fn) if read.optional else partial(fn, client, realm)
    if scope.user_names:
        tasks["users"] = lambda: idm.query(
            f"{realm}_user", or_filter("userName", scope.user_names), ("_id", "userName"), PAGE_SIZE
        )
    if scope.group_ids:
        tasks["groups"] = lambda: idm.query(f"{realm}_group", or_filter("_id", scope.group_ids), ("_id",), PAGE_SIZE)
    return tasks


def build_realm(realm: str, results: Mapping[str, Any]) -> RealmSnapshot:
    """Assemble a :class:`RealmSnapshot` from the raw read results (pure): each kind's ``assemble``, then
    the users and groups."""
    from provisioner.kinds import REGISTRY

    values: dict[str, Any] = {}
    for spec in REGISTRY:
        if spec.assemble is not None:
            values.update(spec.assemble(results))
    users = {str(u["userName"]): str(u["_id"]) for u in results.get("users") or [] if u.get("userName")}
    groups = frozenset(str(g["_id"]) for g in results.get("groups") or [] if g.get("_id"))
    return RealmSnapshot(realm=realm, users=users, groups=groups, **values)


def by_id(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]]:
    """Listed objects by ``_id`` (those without one left out)."""
    return {str(item["_id"]): item for item in items or [] if item.get("_id")}


def read_snapshot(client: Any, scopes: Iterable[ReadScope], parallelism: int = 4, *, complete: bool = True) -> Snapshot:
    """Read every realm in ``scopes`` with a bounded thread pool (≤ 8 requests per realm).

    ``complete=False`` is for plans: objects are read with only the fields planning compares
    (``SnapshotRead.plan_read``: AM lists with ``_fields``, privileges without their references), so
    they must not be exported or written back."""
    jobs: list[tuple[str, str, Callable[[], Any]]] = []
    for scope in sorted(scopes, key=lambda s: s.realm):
        for name, fn in read_realm_tasks(client, scope, complete).items():
            jobs.append((scope.realm, name, fn))
    results: dict[str, dict[str, Any]] = {}
    from concurrent.futures import ThreadPoolExecutor  # not at import: validate never needs it

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        futures = [(realm, name, pool.submit(fn)) for realm, name, fn in jobs]
        for realm, name, future in futures:
            results.setdefault(realm, {})[name] = future.result()
    return Snapshot(realms={realm: build_realm(realm, res) for realm, res in sorted(results.items())})
