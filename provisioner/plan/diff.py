"""``make_plan``: desired resources + a tenant snapshot → a :class:`Plan`. Pure: no I/O.

Only fields present in a manifest ``spec`` are compared (field ownership). Secrets are compared
through precomputed verdicts (``PlanOptions.secret_status``), never by value.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.grants import TOKEN_EXCHANGE
from provisioner.kinds import access, aiagent, application, privilege, provider
from provisioner.kinds.fields import Field, differing_targets, display
from provisioner.kinds.oauth2client import client_rev, idm_rev
from provisioner.kinds.snapshot import RealmSnapshot, Snapshot
from provisioner.plan.model import (FORMAT_VERSION, Change, FieldChange, Ids, Plan, PlanDiagnostic, SecretReference,
                                    _plain, summarize)
from provisioner.plan.order import address, sort_changes
from provisioner.plan.prune import plan_prune


@dataclass(frozen=True)
class PlanOptions:
    """Everything besides resources and snapshot that shapes a plan.

    ``secret_status``: address → whether the declared secret matches what the tenant holds (hash
    marker, or the live probe with ``--check-secrets``); a missing entry counts as changed.
    ``realms``: realms to consider for prune besides those the manifests name.
    """

    stack: str = "default"
    target: Mapping[str, Any] = field(default_factory=dict)
    environment: str | None = None
    prune: bool = False
    max_deletes: int = 5
    secret_status: Mapping[str, bool] = field(default_factory=dict)
    realms: tuple[str, ...] = ()


class _Context:
    """Accumulates diagnostics and gives user-id → userName lookups for display."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.diagnostics: list[PlanDiagnostic] = []
        self._user_names: dict[str, dict[str, str]] = {}

    def problem(self, resource: Any, path: str, message: str, severity: str = "error") -> None:
        location = str(resource.locate(path)) if hasattr(resource, "locate") else ""
        self.diagnostics.append(PlanDiagnostic(severity=severity, message=message, location=location,  # type: ignore[arg-type]
                                               path=path))

    def names(self, realm: str, ids: Any) -> Any:
        if not isinstance(ids, list):
            return ids
        if realm not in self._user_names:
            self._user_names[realm] = {v: k for k, v in self.snapshot.realm(realm).users.items()}
        reverse = self._user_names[realm]
        return sorted(reverse.get(i, i) for i in ids)


def _field_changes(ctx: _Context, realm: str, fields: Sequence[Field], desired: Mapping[str, Any],
                   docs: Mapping[str, Any], *, create: bool) -> list[FieldChange]:
    out: list[FieldChange] = []
    for fld in fields:
        if fld.sensitive or fld.name not in desired:
            continue
        diffs = differing_targets(fld, desired[fld.name], docs)
        if not diffs:
            continue
        target, before, after = diffs[0]
        before_shown, after_shown = display(target, before), display(target, after)
        if target.compare == "refs" and target.collection.endswith("_user"):
            before_shown, after_shown = ctx.names(realm, before_shown), ctx.names(realm, after_shown)
        out.append(FieldChange(fld.name, None if create else before_shown, after_shown))
    return out


def _secret_change(secret: SecretReference | None, addr: str, options: PlanOptions,
                   create: bool) -> list[FieldChange]:
    if secret is None:
        return []
    if create:
        return [FieldChange("clientSecret", None, None, sensitive=True)]
    if options.secret_status.get(addr, False):
        return []
    return [FieldChange("clientSecret", "(sensitive)", "(sensitive, changed)", sensitive=True)]


def _change(kind: str, realm: str, key: str, action: str, fields: list[FieldChange], observed: dict[str, Any],
            desired: dict[str, Any], reason: str = "", depends_on: Iterable[str] = (), ids: Ids = Ids(),
            secret: SecretReference | None = None, send_secret: bool = False) -> Change:
    return Change(address=address(kind, realm, key), kind=kind, realm=realm, key=key, action=action,  # type: ignore[arg-type]
                  fields=tuple(fields), depends_on=tuple(sorted(set(depends_on))), observed=_plain(observed),
                  desired=_plain(desired), reason=reason, ids=ids, secret=secret, send_secret=send_secret)


def _plan_provider(ctx: _Context, res: Any, snap: RealmSnapshot) -> Change | None:
    desired = provider.desired_values(res.spec)
    if snap.provider is None:
        ctx.problem(res, "", f"the OAuth2 provider of realm {res.realm!r} could not be read")
        return None
    diffs = provider.field_diffs(snap.provider, desired)
    fields = [FieldChange(name, before, after) for name, before, after in diffs]
    observed = {"am": {"id": provider.SERVICE_ID, "rev": snap.provider_rev}}
    return _change(provider.KIND, res.realm, res.realm, "update" if fields else "no-op", fields, observed, desired)


def _plan_client(ctx: _Context, res: Any, snap: RealmSnapshot, options: PlanOptions,
                 module: Any, desired: dict[str, Any], ids: Ids) -> Change:
    docs = module.observe(snap, res.name)
    addr = address(module.KIND, res.realm, res.name)
    observed = {"am": client_rev(docs["am"]), "idm": idm_rev(docs["idm"])}
    create = docs["am"] is None
    fields = _field_changes(ctx, res.realm, module.FIELDS, desired, docs, create=create)
    ref = res.spec.get("clientSecret")
    secret = SecretReference.of(ref) if ref is not None else None
    secret_fields = _secret_change(secret, addr, options, create)
    fields += secret_fields
    action = "create" if create else ("update" if fields else "no-op")
    reason = ""
    if not create and docs["idm"] is None:
        action, reason = "update", "the IDM record is missing and will be created"
    return _change(module.KIND, res.realm, res.name, action, fields, observed, desired, reason, ids=ids,
                   secret=secret, send_secret=bool(secret_fields) and not create)


def _plan_application(ctx: _Context, res: Any, snap: RealmSnapshot, options: PlanOptions) -> Change | None:
    desired, problems = application.desired_values(res.spec, snap.users)
    for path, message in problems:
        ctx.problem(res, path, message)
    live = res.name in snap.clients or res.name in snap.apps
    if desired.get("existing"):
        if not live:
            ctx.problem(res, "spec.existing", f"application {res.name!r} is declared existing: true but does not "
                        f"exist in realm {res.realm!r}")
        return None
    record = snap.apps.get(res.name)
    ids = Ids(record=str(record["_id"]) if record else application.record_id(res.realm, res.name))
    return _plan_client(ctx, res, snap, options, application, desired, ids)


def _plan_agent(ctx: _Context, res: Any, snap: RealmSnapshot, options: PlanOptions,
                allowed: list[str]) -> Change | None:
    desired, problems = aiagent.desired_values(res.spec, snap.users)
    for path, message in problems:
        ctx.problem(res, path, message)
    if not snap.ai_agents_enabled:
        ctx.problem(res, "", f"the AI agents feature is disabled in this tenant (realm {res.realm!r}); AIAgent "
                    f"{res.name!r} needs it. Run apply with --enable-features to enable it (can take up to 10 minutes)")
        return None
    if TOKEN_EXCHANGE in (desired.get("grantTypes") or []) and TOKEN_EXCHANGE not in allowed:
        ctx.problem(res, "spec.grantTypes", f"agent {res.name!r} uses token exchange, but the OAuth2 provider of realm "
                    f"{res.realm!r} does not allow it (declare an OAuth2Provider with grantTypes.ensure: [token_exchange])")
    identity = snap.identity_of(res.name)
    ids = Ids(identity=str(identity["_id"]) if identity else aiagent.identity_id(res.realm, res.name))
    return _plan_client(ctx, res, snap, options, aiagent, desired, ids)


def _plan_privileges(ctx: _Context, res: Any, snap: RealmSnapshot, agent_change: Change,
                     app_ids: Mapping[str, str], declared_apps: Mapping[str, str]) -> list[Change]:
    realm, agent = res.realm, res.name
    identity_uuid = agent_change.ids.identity
    observed_identity = snap.identity_of(agent)
    observed = privilege.observe_all(snap, str(observed_identity["_id"]) if observed_identity else None, agent)
    changes: list[Change] = []
    for index, entry in enumerate(res.spec.get("applications") or []):
        app = str(entry.get("application"))
        path = f"spec.applications[{index}]"
        desired, problems = privilege.desired_values(entry, snap.users, snap.groups, path)
        for p, message in problems:
            ctx.problem(res, p, message)
        if app not in app_ids:
            ctx.problem(res, f"{path}.application", f"application {app!r} is neither declared nor live in realm {realm!r}")
            continue
        key = privilege.key_of(agent, app)
        existing = observed.pop(app, [])
        wanted_id = privilege.privilege_id(realm, agent, app)
        existing.sort(key=lambda p: (p.get("_id") != wanted_id, str(p.get("_id"))))
        current = existing[0] if existing else None
        depends = [agent_change.address] + ([declared_apps[app]] if app in declared_apps else [])
        ids = Ids(privilege=str(current["_id"]) if current else wanted_id, agent=identity_uuid,
                  resource=app_ids[app], agent_key=agent, application=app)
        docs = {"idm": current}
        fields = _field_changes(ctx, realm, privilege.FIELDS, desired, docs, create=current is None)
        action = "create" if current is None else ("update" if fields else "no-op")
        changes.append(_change(privilege.KIND, realm, key, action, fields, {"idm": idm_rev(current)},
                               desired, depends_on=depends, ids=ids))
        for extra in existing[1:]:
            changes.append(_delete_privilege(snap, realm, agent, f"{app}~{extra.get('_id')}", extra,
                                             "duplicate privilege for the same application"))
    for app, extras in sorted(observed.items()):
        for extra in extras:
            changes.append(_delete_privilege(snap, realm, agent, app or "?", extra,
                                             f"not declared in agent {agent!r}'s applications"))
    return changes


def _delete_privilege(snap: RealmSnapshot, realm: str, agent: str, app: str, priv: Mapping[str, Any],
                      reason: str) -> Change:
    key = privilege.key_of(agent, app)
    if app in ("?", ""):
        key = f"{agent}/{priv.get('_id')}"
    return _change(privilege.KIND, realm, key, "delete", [], {"idm": idm_rev(priv)},
                   {}, reason, ids=Ids(privilege=str(priv.get("_id"))))


def make_plan(resources: Iterable[Any], snapshot: Snapshot, options: PlanOptions) -> Plan:
    """Plan ``resources`` (manifest :class:`Resource` records) against ``snapshot``."""
    ctx = _Context(snapshot)
    resources = sorted(resources, key=lambda r: (r.realm, r.kind, r.name))
    changes: list[Change] = []
    providers = {r.realm: r for r in resources if r.kind == provider.KIND}
    for realm, res in sorted(providers.items()):
        change = _plan_provider(ctx, res, snapshot.realm(realm))
        if change:
            changes.append(change)
    app_changes: dict[tuple[str, str], Change] = {}
    # Per realm, built once: application client id → IDM record id (live, then planned) and the
    # addresses of declared applications (privileges depend on them).
    app_targets: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for res in (r for r in resources if r.kind == application.KIND):
        change = _plan_application(ctx, res, snapshot.realm(res.realm), options)
        if change:
            app_changes[(res.realm, res.name)] = change
            changes.append(change)
    for res in (r for r in resources if r.kind == aiagent.KIND):
        snap = snapshot.realm(res.realm)
        declared_provider = provider.desired_values(providers[res.realm].spec) if res.realm in providers else None
        allowed = provider.allowed_grants(snap.provider, declared_provider)
        change = _plan_agent(ctx, res, snap, options, allowed)
        if change is None:
            continue
        changes.append(change)
        if res.realm not in app_targets:
            app_ids = {k: str(a["_id"]) for k, a in snap.apps.items()}
            declared: dict[str, str] = {}
            for (realm, key), app_change in app_changes.items():
                if realm == res.realm:
                    app_ids[key] = str(app_change.ids.record)
                    declared[key] = app_change.address
            app_targets[res.realm] = (app_ids, declared)
        app_ids, declared = app_targets[res.realm]
        changes.extend(_plan_privileges(ctx, res, snap, change, app_ids, declared))
    realms = sorted({r.realm for r in resources} | set(options.realms))
    declared_keys = {(r.kind, r.realm, r.name) for r in resources}
    prune_changes, blocked, prune_diags = plan_prune(snapshot, realms, declared_keys, options.stack,
                                                     options.prune, options.max_deletes,
                                                     [c for c in changes if c.action == "delete"])
    changes.extend(prune_changes)
    ctx.diagnostics.extend(prune_diags)
    pruned_apps = {(c.realm, c.key) for c in prune_changes if c.kind == application.KIND}
    for change in changes:
        target = (change.realm, str(change.ids.application))
        if change.kind == privilege.KIND and change.action != "delete" and target in pruned_apps:
            ctx.diagnostics.append(PlanDiagnostic("error", f"{change.address} needs application {target[1]!r}, "
                                                  f"which this plan prunes; declare the application or drop "
                                                  f"the privilege"))
    ordered = sort_changes(changes)
    access_changes = _access_changes(resources, snapshot, ordered)
    diagnostics = tuple(sorted(ctx.diagnostics, key=lambda d: (d.location, d.path, d.message)))
    return Plan(format_version=FORMAT_VERSION, stack=options.stack, target=_plain(options.target),
                environment=options.environment, changes=ordered, blocked=blocked, diagnostics=diagnostics,
                summary=summarize(ordered, blocked),
                options={"prune": options.prune, "max_deletes": options.max_deletes},
                access=tuple(a.to_dict() for a in access_changes))


def _access_changes(resources: Sequence[Any], snapshot: Snapshot,
                    changes: Sequence[Change]) -> tuple[access.AccessChange, ...]:
    """The access difference: the tenant's access map now vs after the plan (agents it touches)."""
    deletes = [(c.kind, c.realm, c.key) for c in changes if c.action == "delete"]
    return access.plan_difference(resources, snapshot, deletes)
