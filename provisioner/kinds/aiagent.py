"""AIAgent: an AM ``AIAgent`` (an OAuth2 client) plus its IDM ``<realm>_aiagent`` identity (reference §6).

Field table (manifest field → remote path, comparison):

=============================================  ====================================================
displayName / description                      IDM identity ``name`` / ``description`` (source of
                                               truth); sent in ``aiAgentIdentityAttributes`` on create
owners                                         IDM identity ``owners`` (user ids)
scopes, defaultScopes, grantTypes, ...         as for Application (AM client groups)
providerOverrides.enabled                      AM ``overrideOAuth2ClientConfig.providerOverridesEnabled``
providerOverrides.clientSideTokens             AM ``overrideOAuth2ClientConfig.statelessTokensEnabled``
providerOverrides.acceptAudienceInTokenExchange AM ``overrideOAuth2ClientConfig.acceptAudienceParametersInTokenExchangeRequests``
clientSecret                                   AM ``coreOAuth2ClientConfig.userpassword`` (write-only)
=============================================  ====================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from provisioner.client.wrapping import unwrap
from provisioner.grants import TOKEN_EXCHANGE
from provisioner.kinds import application
from provisioner.kinds.aiagent_rules import admin_scopes, privilege_rules
from provisioner.kinds.application import resolve_users
from provisioner.kinds.common import deterministic_id, get_path
from provisioner.kinds.fields import Field, Target, canonical, idm_patch_ops
from provisioner.kinds.oauth2client import (
    CLIENT_FIELDS,
    OWNERS_TARGET,
    SECRET_FIELD,
    am_list_read,
    client_rev,
    idm_rev,
    plan_fields,
)
from provisioner.kinds.spec import ExportCandidates, ImageHooks, KindSpec, SnapshotRead

if TYPE_CHECKING:  # planning, apply and snapshot code is imported where it runs: validate needs none of it
    from provisioner.kinds.planning import PlanContext
    from provisioner.kinds.snapshot import RealmSnapshot
    from provisioner.kinds.write import ApplyContext

KIND = "AIAgent"
AM_KIND = "AIAgent"
RANK = 2

_OVERRIDES = {
    "enabled": "providerOverridesEnabled",
    "clientSideTokens": "statelessTokensEnabled",
    "acceptAudienceInTokenExchange": "acceptAudienceParametersInTokenExchangeRequests",
}

#: AM client fields an agent manifest cannot declare (export notes them when set).
_NOT_DECLARABLE = ("redirectUris", "clientType")

FIELDS: tuple[Field, ...] = (
    (
        Field("displayName", (Target("idm", ("name",)),)),
        Field("description", (Target("idm", ("description",)),)),
        Field("owners", (OWNERS_TARGET,)),
        SECRET_FIELD,
    )
    + tuple(replace(f, manifest=False) if f.name in _NOT_DECLARABLE else f for f in CLIENT_FIELDS)
    + tuple(
        Field(f"providerOverrides.{name}", (Target("am", ("overrideOAuth2ClientConfig", path)),))
        for name, path in _OVERRIDES.items()
    )
)

#: What a plan reads of each listed agent (``SnapshotRead.plan_read``): the identity link too.
PLAN_FIELDS = plan_fields(FIELDS, "aiAgentIdentityUid")


def identity_id(realm: str, key: str) -> str:
    """The deterministic IDM identity ``_id`` sent in ``aiAgentIdentityAttributes`` on create."""
    return deterministic_id(realm, "aiagent", key)


def desired_values(spec: Mapping[str, Any], users: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Managed values from a manifest ``spec`` and any ``(path, message)`` problems."""
    out: dict[str, Any] = {k: spec[k] for k in SPEC.plain if k in spec}
    problems: list[tuple[str, str]] = []
    if "owners" in spec:
        out["owners"], problems = resolve_users(spec.get("owners") or [], users, "spec.owners")
    for name in _OVERRIDES:
        overrides = spec.get("providerOverrides")
        if isinstance(overrides, Mapping) and name in overrides:
            out[f"providerOverrides.{name}"] = overrides[name]
    return out, problems


def user_names(spec: Mapping[str, Any]) -> set[str]:
    """Every userName the agent spec references (owners and privilege subjects)."""
    names = {str(e.get("userName")) for e in spec.get("owners") or [] if isinstance(e, Mapping) and e.get("userName")}
    for entry in spec.get("applications") or []:
        for subject in entry.get("subjects") or []:
            if isinstance(subject, Mapping) and subject.get("userName"):
                names.add(str(subject["userName"]))
    return names


def group_ids(spec: Mapping[str, Any]) -> set[str]:
    """Every group id the agent's privileges reference."""
    out: set[str] = set()
    for entry in spec.get("applications") or []:
        for group in entry.get("subjectGroups") or []:
            gid = group.get("_id") or group.get("name") if isinstance(group, Mapping) else group
            if gid:
                out.add(str(gid))
    return out


def observe(snap: RealmSnapshot, key: str) -> dict[str, Mapping[str, Any] | None]:
    """The observed documents: AM agent (list form) and IDM identity."""
    return {"am": snap.agents.get(key), "idm": snap.identity_of(key)}


def identity_attributes(
    key: str, uid: str, desired: Mapping[str, Any], observed_identity: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``aiAgentIdentityAttributes.value``: IDM's current values, overridden by the desired ones.

    AM copies these to IDM on a PUT (reference §6.4), so they must never carry stale values.
    """
    value: dict[str, Any] = {"_id": uid, "oauth2ClientId": key}
    if observed_identity:
        for name in ("name", "description", "customAttributes"):
            if name in observed_identity:
                value[name] = observed_identity[name]
    if desired.get("displayName") is not None:
        value["name"] = desired["displayName"]
    value.setdefault("name", key)
    if "description" in desired:  # None (undo restoring "unset") clears it
        value["description"] = desired["description"]
    return value


def add_identity(
    doc: dict[str, Any],
    key: str,
    uid: str,
    desired: Mapping[str, Any],
    observed_identity: Mapping[str, Any] | None = None,
) -> None:
    """Put the identity attributes and uid into an AM agent body (wrapped, as recorded)."""
    doc["aiAgentIdentityAttributes"] = {
        "inherited": False,
        "value": identity_attributes(key, uid, desired, observed_identity),
    }
    doc["aiAgentIdentityUid"] = {"inherited": False, "value": uid}


def _echoed_identity(echo: Any) -> dict[str, Any] | None:
    """The IDM identity from a create PUT's echo (``_id`` and IDM ``_rev`` included)."""
    attrs = unwrap(echo.get("aiAgentIdentityAttributes")) if isinstance(echo, Mapping) else None
    if not isinstance(attrs, dict) or not attrs.get("_id") or not attrs.get("_rev"):
        return None
    return attrs


def refresh_identity(
    body: dict[str, Any], key: str, uid: str, desired: Mapping[str, Any], identity: Mapping[str, Any] | None
) -> None:
    """AM copies the identity attributes to IDM on a PUT: make them carry IDM's (or the desired) values."""
    attrs = body.get("aiAgentIdentityAttributes")
    if isinstance(attrs, dict):
        body["aiAgentIdentityAttributes"] = identity_attributes(key, str(attrs.get("_id") or uid), desired, identity)


def apply_am(ctx: ApplyContext, change: Any) -> None:
    """First level. Create: the AM agent with its settings in one PUT (AM creates the IDM identity).
    Update: the identity (IDM) then the client (AM)."""
    from provisioner.kinds.snapshot import IDENTITY_FIELDS
    from provisioner.kinds.write import am_create, am_update, idm_patch

    realm, key, desired = change.realm, change.key, change.desired
    uid = str(change.ids.identity)
    if change.observed.get("am") is None:
        echo = am_create(ctx, change, FIELDS, AM_KIND, {}, lambda body: add_identity(body, key, uid, desired))
        uid = str(unwrap(echo.get("aiAgentIdentityUid")) or uid) if isinstance(echo, Mapping) else uid
        with ctx.lock:
            ctx.identities[(realm, key)] = uid
            ctx.created_identities[(realm, key)] = _echoed_identity(echo)
        return
    identity = ctx.snapshot.realm(realm).identity_of(key)
    idm_patch(ctx, change, f"{realm}_aiagent", FIELDS, identity, IDENTITY_FIELDS)
    am_update(ctx, change, FIELDS, AM_KIND, lambda body: refresh_identity(body, key, uid, desired, identity))


def apply_identity(ctx: ApplyContext, change: Any) -> None:
    """Second level, creates only: PATCH what AM did not set on the new identity (owners).

    The identity comes from the create PUT's echo, so no read is needed; without a usable echo, or
    when the echoed revision has moved (412), it is read once.
    """
    from provisioner.client.errors import PreconditionFailed
    from provisioner.kinds.snapshot import IDENTITY_FIELDS

    if change.observed.get("am") is not None:
        return
    realm, key, desired = change.realm, change.key, change.desired
    object_type = f"{realm}_aiagent"
    with ctx.lock:
        uid = ctx.identities.get((realm, key), str(change.ids.identity))
        identity = ctx.created_identities.get((realm, key))
    for attempt in (1, 2):
        if identity is None:
            identity = ctx.client.idm.get(object_type, uid, IDENTITY_FIELDS)
        ops = idm_patch_ops(FIELDS, desired, identity, realm)
        if not ops or identity is None:
            return
        try:
            ctx.client.idm.patch(object_type, uid, ops, if_match=identity.get("_rev"))
            return
        except PreconditionFailed:
            if attempt == 2:
                raise
            identity = None


def apply_delete(ctx: ApplyContext, change: Any) -> None:
    """Delete the AM agent, then its IDM identity when AM left it behind."""
    ctx.client.am(change.realm).delete(AM_KIND, change.key)
    identity = change.ids.identity
    if identity and ctx.client.idm.get(f"{change.realm}_aiagent", str(identity), ("_id",)) is not None:
        ctx.client.idm.delete(f"{change.realm}_aiagent", str(identity))


def allowed_grants(ctx: PlanContext, realm: str) -> list[str]:
    """The realm's grant types once the declared provider (if any) is applied."""
    from provisioner.kinds import provider

    memo_key = ("allowed-grants", realm)  # per realm, once: declared() scans every resource
    if memo_key not in ctx.memo:
        declared = ctx.declared(provider.KIND, realm)
        wanted = provider.desired_values(declared[0].spec) if declared else None
        ctx.memo[memo_key] = provider.allowed_grants(ctx.snapshot.realm(realm).provider, wanted)
    return list(ctx.memo[memo_key])


def _application_targets(ctx: PlanContext, realm: str) -> tuple[dict[str, str], dict[str, str]]:
    """Per realm, built once: application client id → IDM record id (live, then planned), and the
    addresses of declared applications (privileges depend on them)."""
    from provisioner.kinds import application

    memo_key = ("application-targets", realm)
    if memo_key not in ctx.memo:
        app_ids = {k: str(a["_id"]) for k, a in ctx.snapshot.realm(realm).apps.items()}
        declared: dict[str, str] = {}
        for key, change in ctx.planned(application.KIND, realm).items():
            app_ids[key] = str(change.ids.record)
            declared[key] = change.address
        ctx.memo[memo_key] = (app_ids, declared)
    return ctx.memo[memo_key]  # type: ignore[no-any-return]


def plan(ctx: PlanContext, res: Any) -> list[Any]:
    """The agent's change and its privileges' changes (declared, and undeclared ones deleted)."""
    from provisioner.kinds import privilege
    from provisioner.kinds.planning import grant_problems, plan_client
    from provisioner.plan.model import Ids

    snap = ctx.snapshot.realm(res.realm)
    desired, problems = desired_values(res.spec, snap.users)
    ctx.problems(res, problems)
    if not snap.ai_agents_enabled:
        ctx.problem(
            res,
            "",
            f"the AI agents feature is disabled in this tenant (realm {res.realm!r}); {KIND} "
            f"{res.name!r} needs it. Run apply with --enable-features to enable it (can take up to 10 minutes)",
        )
        return []
    if TOKEN_EXCHANGE in (desired.get("grantTypes") or []) and TOKEN_EXCHANGE not in allowed_grants(ctx, res.realm):
        ctx.problem(
            res,
            "spec.grantTypes",
            f"agent {res.name!r} uses token exchange, but the OAuth2 provider of realm "
            f"{res.realm!r} does not allow it (declare an OAuth2Provider with grantTypes.ensure: "
            f"[token_exchange])",
        )
    else:
        ctx.problems(res, grant_problems(ctx, res, desired, allowed_grants))
    identity = snap.identity_of(res.name)
    ids = Ids(identity=str(identity["_id"]) if identity else identity_id(res.realm, res.name))
    change = plan_client(ctx, res, SPEC, observe(snap, res.name), desired, ids)
    app_ids, declared = _application_targets(ctx, res.realm)
    return [change, *privilege.plan_entries(ctx, res, change, app_ids, declared)]


def observed(snap: RealmSnapshot, key: str, ids: Any = None) -> dict[str, Any]:
    """The revisions a plan records for agent ``key`` (AM list ``_rev``, IDM identity ``_rev``)."""
    return {"am": client_rev(snap.agents.get(key)), "idm": idm_rev(snap.identity_of(key))}


def references(spec: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    return user_names(spec), group_ids(spec)


def prune_deletes(snap: RealmSnapshot, realm: str, key: str, reason: str) -> list[Any]:
    """The deletes of a pruned agent: its privileges, then the agent (AM agent and IDM identity)."""
    from provisioner.kinds import privilege
    from provisioner.plan.model import Change, Ids

    identity = snap.identity_of(key)
    uid = str(identity["_id"]) if identity else None
    changes = [
        privilege.delete_change(
            realm,
            privilege.key_of(key, snap.privilege_app(priv) or str(priv.get("_id"))),
            priv,
            f"its agent {key!r} is pruned",
        )
        for priv in snap.privileges_of(uid, key)
    ]
    changes.append(
        Change(
            address=SPEC.address(realm, key),
            kind=KIND,
            realm=realm,
            key=key,
            action="delete",
            observed=observed(snap, key),
            ids=Ids(identity=uid),
            reason=reason,
        )
    )
    return changes


def assemble(results: Mapping[str, Any]) -> dict[str, Any]:
    """The realm snapshot's agents and identities by id, and whether AI agents are enabled (both types
    answered and the provider does not switch them off)."""
    from provisioner.kinds.snapshot import by_id

    provider, _ = results.get("provider") or (None, None)
    flag = get_path(unwrap(provider) if provider is not None else None, ("aiAgentsConfig", "aiAgentsEnabled"))
    enabled = results.get("agents") is not None and results.get("identities") is not None and flag is not False
    return {
        "agents": by_id(results.get("agents")),
        "identities": by_id(results.get("identities")),
        "ai_agents_enabled": enabled,
    }


def export(context: Any, key: str, address: str) -> tuple[list[Any], dict[str, Any] | None, str | None]:
    """The minimal AIAgent spec of ``key`` (privileges on the exported applications included) and its secret
    variable."""
    from provisioner.kinds.reverse import agent_spec

    exported_apps = set(context.selected.get(application.KIND, ()))
    rev, secret = agent_spec(context.snap, key, context.users, exported_apps, address)
    return list(rev.notes), rev.spec, secret


def export_select(snap: RealmSnapshot) -> ExportCandidates:
    """Every AI agent of the realm (none while the feature is off, which a note says)."""
    notes = (
        () if snap.ai_agents_enabled else (f"the AI agents feature is off in realm {snap.realm!r}: no agents exported",)
    )
    return ExportCandidates(tuple(sorted(snap.agents)), notes=notes)


def export_users(snap: RealmSnapshot, key: str) -> set[str]:
    """The owners of agent ``key`` and the subjects of its privileges."""
    from provisioner.kinds.privilege import FIELDS as PRIVILEGE_FIELDS

    subjects = next(f.targets[0] for f in PRIVILEGE_FIELDS if f.name == "subjects")
    identity = snap.identity_of(key)
    out = set(canonical(OWNERS_TARGET, (identity or {}).get("owners")))
    for priv in snap.privileges_of(str(identity["_id"]) if identity else None, key):
        out.update(canonical(subjects, priv.get("subjects")))
    return out


def _owners(snap: RealmSnapshot, key: str) -> set[str]:
    return set(canonical(OWNERS_TARGET, (snap.identity_of(key) or {}).get("owners")))


def capture_image(
    snap: RealmSnapshot, change: Any, names: Mapping[str, str], notes: list[str], record: dict[str, Any]
) -> dict[str, Any] | None:
    """Undo's image of an agent: the fields the change writes, and for a delete every field and its
    privileges (as ``applications`` entries), as the tenant holds them."""
    from provisioner.kinds.images import fields_image, managed_fields, secret_changed
    from provisioner.kinds.privilege import privilege_entry

    docs = {"am": snap.agents.get(change.key), "idm": snap.identity_of(change.key)}
    image = None
    if docs["am"] is not None:
        delete = change.action == "delete"
        wanted = managed_fields(FIELDS) if delete else list(change.desired or {})
        image = fields_image(FIELDS, docs, wanted, names, notes)
        if delete:
            identity = docs.get("idm")
            image["applications"] = [
                privilege_entry(snap, p, names, notes)
                for p in snap.privileges_of(str(identity["_id"]) if identity else None, change.key)
                if snap.privilege_app(p)
            ]
    record["secretChanged"] = secret_changed(change, docs)
    return image


def created_deletes(snap: RealmSnapshot, rec: Mapping[str, Any], reason: str) -> list[dict[str, Any]]:
    """The delete of an agent the run created, after the deletes of its privileges."""
    from provisioner.kinds.images import delete_record
    from provisioner.kinds.privilege import image_delete, key_of

    key, realm = rec["key"], rec["realm"]
    if key not in snap.agents:
        return []
    identity = snap.identity_of(key)
    uid = str(identity["_id"]) if identity else None
    out = [
        image_delete(
            realm, key_of(key, snap.privilege_app(priv) or str(priv.get("_id"))), priv, f"its agent {key!r} is deleted"
        )
        for priv in snap.privileges_of(uid, key)
    ]
    observed = {"am": client_rev(snap.agents.get(key)), "idm": idm_rev(identity)}
    out.append(delete_record(rec["address"], KIND, realm, key, observed, {"identity": uid}, reason))
    return out


IMAGES = ImageHooks(
    capture=capture_image,
    users=lambda snap, change: (
        export_users(snap, change.key) if change.action == "delete" else _owners(snap, change.key)
    ),
    touched_users=lambda snap, rec: _owners(snap, str(rec["key"])),
    created_deletes=created_deletes,
)


def frodo(snap: RealmSnapshot, keys: Sequence[str], meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    from provisioner.export.frodo import agent_file

    return agent_file(snap, keys, meta)


def before_put(snap: Any, key: str, current: Mapping[str, Any], body: dict[str, Any]) -> None:
    """AM copies the identity attributes to IDM on a PUT: send IDM's current values, never stale ones."""
    attrs = body.get("aiAgentIdentityAttributes")
    uid = unwrap(current.get("aiAgentIdentityUid")) or (attrs or {}).get("_id")
    if isinstance(attrs, dict) and uid:
        body["aiAgentIdentityAttributes"] = identity_attributes(key, str(uid), {}, snap.identity_of(key))


def idm_identities(client: Any, realm: str) -> Any:
    """The realm's agent identities (one IDM query, paged)."""
    from provisioner.kinds.snapshot import IDENTITY_FIELDS, PAGE_SIZE

    return client.idm.query(f"{realm}_aiagent", "true", IDENTITY_FIELDS, PAGE_SIZE)


SPEC = KindSpec(
    name=KIND,
    rank=RANK,
    fields=FIELDS,
    am_kind=AM_KIND,
    am_docs=lambda snap: snap.agents,
    prunable=True,
    prune_deletes=prune_deletes,
    has_secret=True,
    feature="ai_agents",
    observed=observed,
    references=references,
    verify="agent",
    images=IMAGES,
    export_folder="agents",
    export=export,
    export_select=export_select,
    export_noun="AI agent",
    export_users=export_users,
    frodo=frodo,
    before_put=before_put,
    schema="aiagent.schema.json",
    steps={"create": ((1, apply_am), (2, apply_identity)), "update": ((1, apply_am),), "delete": ((4, apply_delete),)},
    plan=plan,
    owns="AgentPrivilege",
    rules=(privilege_rules, admin_scopes),
    agent_policies=True,
    reads=(
        am_list_read("agents", AM_KIND, PLAN_FIELDS, optional=True),
        SnapshotRead(
            "identities",
            idm_identities,
            optional=True,
        ),
    ),
    assemble=assemble,
)
