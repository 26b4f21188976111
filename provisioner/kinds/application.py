"""Application: an AM ``OAuth2Client`` plus its IDM ``<realm>_application`` record (reference §5).

Field table (manifest field → remote path, comparison):

=======================  ==========================================================================
displayName              IDM ``name``; AM ``coreOAuth2ClientConfig.clientName`` = ``[v]``
description              IDM ``description``; AM ``advancedOAuth2ClientConfig.descriptions`` = ``[v]``
template                 IDM ``templateName`` (+ ``templateVersion``); create defaults per template
owners                   IDM ``owners`` (userName → user ``_id``), by id
scopes / defaultScopes   AM ``coreOAuth2ClientConfig.scopes`` / ``defaultScopes`` (sets)
grantTypes               AM ``advancedOAuth2ClientConfig.grantTypes`` (set)
tokenEndpointAuthMethod  AM ``advancedOAuth2ClientConfig.tokenEndpointAuthMethod``
redirectUris             AM ``coreOAuth2ClientConfig.redirectionUris`` (set)
accessTokenLifetime      AM ``coreOAuth2ClientConfig.accessTokenLifetime``
clientType               AM ``coreOAuth2ClientConfig.clientType``
clientSecret             AM ``coreOAuth2ClientConfig.userpassword`` (write-only; hash marker)
=======================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provisioner.kinds.application_names import name_conflicts, names_index, unique_names
from provisioner.kinds.common import deterministic_id, get_path, make_ref, ref_id, resource_id
from provisioner.kinds.fields import Field, Target, canonical
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

KIND = "Application"
AM_KIND = "OAuth2Client"
RANK = 1

FIELDS: tuple[Field, ...] = (
    Field("displayName", (Target("idm", ("name",)), Target("am", ("coreOAuth2ClientConfig", "clientName"), "one"))),
    Field(
        "description",
        (Target("idm", ("description",)), Target("am", ("advancedOAuth2ClientConfig", "descriptions"), "one")),
    ),
    Field("template", (Target("idm", ("templateName",)),)),
    Field("owners", (OWNERS_TARGET,)),
    SECRET_FIELD,
) + CLIENT_FIELDS

#: What a plan reads of each listed client (``SnapshotRead.plan_read``).
PLAN_FIELDS = plan_fields(FIELDS)

TEMPLATE_VERSIONS = {"service": "1.0", "web": "2.0", "native": "2.0"}

_LIFETIMES = {
    "coreOAuth2ClientConfig.accessTokenLifetime": 3600,
    "coreOAuth2ClientConfig.refreshTokenLifetime": 604800,
    "coreOAuth2ClientConfig.authorizationCodeLifetime": 120,
    "coreOpenIDClientConfig.jwtTokenLifetime": 3600,
}

#: Create defaults per template (dotted AM path → value), applied over the §4.7 defaults.
TEMPLATES: dict[str, dict[str, Any]] = {
    "service": {
        "advancedOAuth2ClientConfig.grantTypes": ["client_credentials"],
        "advancedOAuth2ClientConfig.responseTypes": ["token"],
        "advancedOAuth2ClientConfig.isConsentImplied": True,
        "coreOAuth2ClientConfig.clientType": "Confidential",
        **_LIFETIMES,
    },
    "web": {
        "advancedOAuth2ClientConfig.grantTypes": ["authorization_code"],
        "advancedOAuth2ClientConfig.responseTypes": ["code"],
        "coreOAuth2ClientConfig.clientType": "Confidential",
        **_LIFETIMES,
    },
    "native": {
        "advancedOAuth2ClientConfig.grantTypes": ["authorization_code"],
        "advancedOAuth2ClientConfig.responseTypes": ["code"],
        "advancedOAuth2ClientConfig.tokenEndpointAuthMethod": "none",
        "coreOAuth2ClientConfig.clientType": "Public",
        **_LIFETIMES,
    },
}


def record_id(realm: str, key: str) -> str:
    """The deterministic IDM ``_id`` of the application record this tool creates."""
    return deterministic_id(realm, "application", key)


def desired_values(spec: Mapping[str, Any], users: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Managed values from a manifest ``spec`` (owners resolved to user ids) and any problems.

    Problems are ``(manifest path, message)`` pairs.
    """
    out: dict[str, Any] = {k: spec[k] for k in SPEC.plain if k in spec}
    problems: list[tuple[str, str]] = []
    if "owners" in spec:
        out["owners"], problems = resolve_users(spec.get("owners") or [], users, "spec.owners")
    if spec.get("existing"):
        out["existing"] = True
    return out, problems


def resolve_users(entries: Any, users: Mapping[str, str], path: str) -> tuple[list[str], list[tuple[str, str]]]:
    """``[{userName: a}, ...]`` → sorted user ids, plus a problem for every name that does not resolve."""
    ids: set[str] = set()
    problems: list[tuple[str, str]] = []
    for index, entry in enumerate(entries or []):
        name = entry.get("userName") if isinstance(entry, Mapping) else entry
        if isinstance(name, str) and name in users:
            ids.add(users[name])
        else:
            problems.append((f"{path}[{index}]", f"user {name!r} does not exist in the tenant"))
    return sorted(ids), problems


def user_names(spec: Mapping[str, Any]) -> set[str]:
    """Every userName the spec references."""
    return {str(e.get("userName")) for e in spec.get("owners") or [] if isinstance(e, Mapping) and e.get("userName")}


def observe(snap: RealmSnapshot, key: str) -> dict[str, Mapping[str, Any] | None]:
    """The observed documents: AM client (list form) and IDM record (matched by ``ssoEntities.oidcId``)."""
    return {"am": snap.clients.get(key), "idm": snap.apps.get(key)}


def template_defaults(desired: Mapping[str, Any]) -> dict[str, Any]:
    """The create defaults for the desired template (``service`` when none is named)."""
    return TEMPLATES.get(str(desired.get("template") or "service"), TEMPLATES["service"])


def record_body(realm: str, key: str, desired: Mapping[str, Any], record: str) -> dict[str, Any]:
    """The IDM create body (PUT with a deterministic id)."""
    template = str(desired.get("template") or "service")
    body: dict[str, Any] = {
        "_id": record,
        "name": desired.get("displayName") or key,
        "templateName": template,
        "templateVersion": TEMPLATE_VERSIONS.get(template, "1.0"),
        "ssoEntities": {"oidcId": key},
    }
    if desired.get("description"):
        body["description"] = desired["description"]
    if desired.get("owners"):
        body["owners"] = [make_ref(f"managed/{realm}_user", i) for i in desired["owners"]]
    return body


def template_version_op(ops: list[dict[str, Any]], desired: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add the ``templateVersion`` that goes with a changed ``templateName``."""
    if any(op["field"] == "/templateName" for op in ops):
        version = TEMPLATE_VERSIONS.get(str(desired.get("template")), "1.0")
        ops = ops + [{"operation": "replace", "field": "/templateVersion", "value": version}]
    return ops


def apply_am(ctx: ApplyContext, change: Any) -> None:
    """First level: create or update the application's AM client."""
    from provisioner.kinds.write import am_create, am_update

    if change.observed.get("am") is None:
        am_create(ctx, change, FIELDS, AM_KIND, template_defaults(change.desired))
    else:
        am_update(ctx, change, FIELDS, AM_KIND)


def apply_idm(ctx: ApplyContext, change: Any) -> None:
    """Second level (after every AM client): create or update the application's IDM record."""
    from provisioner.kinds.snapshot import APP_FIELDS
    from provisioner.kinds.write import create_once, idm_patch

    realm, key, desired = change.realm, change.key, change.desired
    object_type = f"{realm}_application"
    if change.observed.get("idm") is None:
        record_id = str(change.ids.record)
        body = record_body(realm, key, desired, record_id)
        idm = ctx.client.idm
        create_once(
            lambda: idm.put(object_type, record_id, body, if_none_match=True),
            lambda: idm.get(object_type, record_id, ("_id", "ssoEntities")),
            lambda found: (found.get("ssoEntities") or {}).get("oidcId") == key,
            change.address,
        )
    else:
        idm_patch(
            ctx,
            change,
            object_type,
            FIELDS,
            ctx.snapshot.realm(realm).apps.get(key),
            APP_FIELDS,
            lambda ops: template_version_op(ops, desired),
        )


def apply_delete(ctx: ApplyContext, change: Any) -> None:
    """Delete the IDM record (when there is one), then the AM client."""
    if change.ids.record:
        ctx.client.idm.delete(f"{change.realm}_application", str(change.ids.record))
    ctx.client.am(change.realm).delete(AM_KIND, change.key)


def plan(ctx: PlanContext, res: Any) -> list[Any]:
    """The application's change; nothing for ``existing: true`` (an error when it does not exist)."""
    from provisioner.kinds.planning import grant_problems, plan_client
    from provisioner.plan.model import Ids

    snap = ctx.snapshot.realm(res.realm)
    desired, problems = desired_values(res.spec, snap.users)
    ctx.problems(res, problems)
    if desired.get("existing"):
        if res.name not in snap.clients and res.name not in snap.apps:
            ctx.problem(
                res,
                "spec.existing",
                f"application {res.name!r} is declared existing: true but does not exist in realm {res.realm!r}",
            )
        return []
    record = snap.apps.get(res.name)
    # Preflight: the tenant's name UNIQUE policy would refuse this half way through an apply.
    by_name = ctx.memo.get(("application-names", res.realm))
    if by_name is None:  # once per realm: a scan per application made the check quadratic
        by_name = ctx.memo[("application-names", res.realm)] = names_index(snap.apps)
    ctx.problems(res, name_conflicts(snap.apps, res.name, desired, creating=record is None, by_name=by_name))
    ctx.problems(res, grant_problems(ctx, res, desired, _allowed_grants))
    ids = Ids(record=str(record["_id"]) if record else record_id(res.realm, res.name))
    return [plan_client(ctx, res, SPEC, observe(snap, res.name), desired, ids)]


def observed(snap: RealmSnapshot, key: str, ids: Any = None) -> dict[str, Any]:
    """The revisions a plan records for application ``key`` (AM list ``_rev``, IDM record ``_rev``)."""
    return {"am": client_rev(snap.clients.get(key)), "idm": idm_rev(snap.apps.get(key))}


def dangling(snap: RealmSnapshot, change: Any, deleted_privileges: set[str]) -> list[str]:
    """Warnings for privileges (not deleted with it) that still point at the deleted application."""
    record = snap.apps.get(change.key)
    record_id = str(record["_id"]) if record else None
    out = []
    for priv in snap.privileges:
        pid = str(priv.get("_id"))
        if pid in deleted_privileges:
            continue
        if snap.privilege_app(priv) == change.key or (record_id and resource_id(priv) == record_id):
            agent = priv.get("agentOAuth2ClientId") or priv.get("agentID") or ref_id(priv.get("agent")) or "?"
            out.append(
                f"pruning {change.address} leaves privilege {pid} of agent {agent!r} (not managed by this "
                f"stack) pointing at nothing; delete or re-point that privilege too"
            )
    return out


def references(spec: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    return user_names(spec), set()


def prune_deletes(snap: RealmSnapshot, realm: str, key: str, reason: str) -> list[Any]:
    """The delete of a pruned application (AM client and IDM record)."""
    from provisioner.plan.model import Change, Ids

    record = snap.apps.get(key)
    return [
        Change(
            address=SPEC.address(realm, key),
            kind=KIND,
            realm=realm,
            key=key,
            action="delete",
            observed=observed(snap, key),
            ids=Ids(record=str(record["_id"]) if record else None),
            reason=reason,
        )
    ]


def assemble(results: Mapping[str, Any]) -> dict[str, Any]:
    """The realm snapshot's AM clients by id and IDM applications by client id (``ssoEntities.oidcId``;
    the lowest ``_id`` wins)."""
    from provisioner.kinds.snapshot import by_id

    apps: dict[str, Mapping[str, Any]] = {}
    for app in sorted(results.get("apps") or [], key=lambda a: str(a.get("_id"))):
        oidc = get_path(app, ("ssoEntities", "oidcId"))
        if isinstance(oidc, str) and oidc and oidc not in apps:
            apps[oidc] = app
    return {"clients": by_id(results.get("clients")), "apps": apps}


def export(context: Any, key: str, address: str) -> tuple[list[Any], dict[str, Any] | None, str | None]:
    """The minimal Application spec of client ``key`` and its secret variable (None: a public client)."""
    from provisioner.kinds.reverse import application_spec

    rev, secret = application_spec(context.snap, key, context.users, address)
    return list(rev.notes), rev.spec, secret


def export_select(snap: RealmSnapshot) -> ExportCandidates:
    """Custom applications: AM ``OAuth2Client`` documents with an IDM application record
    (``ssoEntities.oidcId``); other OAuth2 clients (platform clients, agents) are not."""
    apps = sorted(k for k in snap.clients if k in snap.apps and k not in snap.agents)
    plain = sorted(k for k in snap.clients if k not in snap.apps and k not in snap.agents)
    orphans = sorted(k for k in snap.apps if k not in snap.clients)
    refused = dict.fromkeys(plain, "an OAuth2 client without an IDM application record: not a custom application")
    refused.update(dict.fromkeys(orphans, "an IDM application record without its OAuth2 client"))
    skipped = []
    if plain:
        skipped.append(
            f"skipped {len(plain)} OAuth2 client(s) without an IDM application record (not custom applications): "
            f"{', '.join(plain)}"
        )
    if orphans:
        skipped.append(
            f"skipped {len(orphans)} IDM application record(s) without their OAuth2 client: {', '.join(orphans)}"
        )
    return ExportCandidates(tuple(apps), refused, tuple(skipped))


def export_users(snap: RealmSnapshot, key: str) -> set[str]:
    """The owners of application ``key``."""
    return set(canonical(OWNERS_TARGET, (snap.apps.get(key) or {}).get("owners")))


def _image_docs(snap: RealmSnapshot, key: str) -> dict[str, Any]:
    return {"am": snap.clients.get(key), "idm": snap.apps.get(key)}


def capture_image(
    snap: RealmSnapshot, change: Any, names: Mapping[str, str], notes: list[str], record: dict[str, Any]
) -> dict[str, Any] | None:
    """Undo's image of an application: the fields the change writes (all of them for a delete, but a
    template IDM does not know), as the tenant holds them."""
    from provisioner.kinds.images import fields_image, managed_fields, secret_changed

    docs = _image_docs(snap, change.key)
    image = None
    if docs["am"] is not None:
        delete = change.action == "delete"
        wanted = managed_fields(FIELDS) if delete else list(change.desired or {})
        if delete and (docs.get("idm") or {}).get("templateName") not in TEMPLATES:
            wanted = [w for w in wanted if w != "template"]
        image = fields_image(FIELDS, docs, wanted, names, notes)
    record["secretChanged"] = secret_changed(change, docs)
    return image


def created_deletes(snap: RealmSnapshot, rec: Mapping[str, Any], reason: str) -> list[dict[str, Any]]:
    from provisioner.kinds.images import delete_record

    key = rec["key"]
    if key not in snap.clients and key not in snap.apps:
        return []
    record = snap.apps.get(key)
    observed = {"am": client_rev(snap.clients.get(key)), "idm": idm_rev(record)}
    ids = {"record": str(record["_id"]) if record else None}
    return [delete_record(rec["address"], KIND, rec["realm"], key, observed, ids, reason)]


IMAGES = ImageHooks(
    capture=capture_image,
    users=lambda snap, change: export_users(snap, change.key),
    touched_users=lambda snap, rec: export_users(snap, str(rec["key"])),
    created_deletes=created_deletes,
)


def frodo(snap: RealmSnapshot, keys: Sequence[str], meta: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    from provisioner.export.frodo import application_file

    return application_file(snap, keys, meta)


def idm_apps(client: Any, realm: str) -> Any:
    """The realm's application records (one IDM query, paged)."""
    from provisioner.kinds.snapshot import APP_FIELDS, PAGE_SIZE

    return client.idm.query(f"{realm}_application", "true", APP_FIELDS, PAGE_SIZE)


SPEC = KindSpec(
    name=KIND,
    rank=RANK,
    fields=FIELDS,
    am_kind=AM_KIND,
    am_docs=lambda snap: snap.clients,
    prunable=True,
    prune_deletes=prune_deletes,
    dangling=dangling,
    has_secret=True,
    observed=observed,
    references=references,
    verify="audience",
    images=IMAGES,
    export_folder="applications",
    export=export,
    export_select=export_select,
    export_noun="application",
    export_users=export_users,
    frodo=frodo,
    schema="application.schema.json",
    steps={
        "create": ((1, apply_am), (2, apply_idm)),
        "update": ((1, apply_am), (2, apply_idm)),
        "delete": ((5, apply_delete),),
    },
    plan=plan,
    rules=(unique_names,),
    reads=(
        am_list_read("clients", AM_KIND, PLAN_FIELDS),
        SnapshotRead("apps", idm_apps),
    ),
    assemble=assemble,
)


def _allowed_grants(ctx: PlanContext, realm: str) -> list[str]:
    """The realm's grant types once the declared provider (if any) is applied (once per realm, shared
    with the agents' check)."""
    from provisioner.kinds import aiagent

    return aiagent.allowed_grants(ctx, realm)
