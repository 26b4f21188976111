"""Planning a run: read the tenant for the stack's realms, settle which secrets it holds, make the plan;
and the destroy plan (the prune of a stack that declares nothing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.errors import UsageError
from provisioner.kinds import spec_of
from provisioner.kinds.snapshot import ReadScope, Snapshot, read_snapshot
from provisioner.orchestrate.options import DestroyOptions, PlanRunOptions
from provisioner.plan import Plan, PlanOptions, make_plan
from provisioner.plan.target import select
from provisioner.plansecrets import secret_status, secret_values


def resources_of(stack: Any, realm: str | None = None) -> list[Any]:
    """The stack's resources, moved to ``realm`` when one is forced (``--realm``)."""
    resources = list(stack.resources)
    if realm:
        resources = [
            dataclasses.replace(r, realm=realm, name=realm if _keyed_by_realm(r.kind) else r.name) for r in resources
        ]
    return resources


def _keyed_by_realm(kind: str) -> bool:
    spec = spec_of(kind)
    return spec is not None and spec.keyed_by_realm


def read_scopes(resources: Sequence[Any], extra_realms: Sequence[str] = ()) -> list[ReadScope]:
    """One :class:`ReadScope` per realm with the users and groups the manifests reference."""
    users: dict[str, set[str]] = {r: set() for r in extra_realms}
    groups: dict[str, set[str]] = {r: set() for r in extra_realms}
    for res in resources:
        users.setdefault(res.realm, set())
        groups.setdefault(res.realm, set())
        spec = spec_of(res.kind)
        if spec is not None:
            names, group_ids = spec.references(res.spec)
            users[res.realm] |= names
            groups[res.realm] |= group_ids
    return [ReadScope(realm, frozenset(users[realm]), frozenset(groups[realm])) for realm in sorted(users)]


def target_info(tenant: Any) -> dict[str, Any]:
    """The plan's ``target``: ``tenant`` is the stable identity (``local`` for the embedded emulator,
    whose URL changes every run), ``url``/``label`` what this run talked to."""
    target = getattr(tenant, "target", None)
    url = getattr(tenant, "url", None)
    local = bool(getattr(target, "is_local", False))
    info = {"url": url, "label": getattr(tenant, "label", None), "tenant": "local" if local else url}
    if local:
        info["local"] = True  # the embedded emulator: a new loopback port every run, the same state folder
    return info


def require_stack(stack: Any) -> None:
    """Plan and apply need a declared stack identity (never a folder name)."""
    if not getattr(stack, "name", ""):
        from provisioner.manifest.stackfile import NO_STACK

        raise UsageError(NO_STACK)


def check_plan_matches(the_plan: Plan, *, tenant: Any = None, stack: Any = None, realm: str | None = None) -> None:
    """Refuse, before any write, a saved plan applied with another tenant, environment, stack or realm."""
    target = the_plan.target or {}
    problems = []
    if tenant is not None:
        now = target_info(tenant)["tenant"]
        planned = target.get("tenant") or target.get("url")
        if planned and now and planned != now:
            problems.append(f"tenant {planned}, not {now}")
    if stack is not None:
        environment = stack.environment.name if getattr(stack, "environment", None) else None
        if environment != the_plan.environment:
            problems.append(
                f"environment {the_plan.environment or '(none)'!r}, not {environment or '(none)'!r} (--env)"
            )
        if getattr(stack, "name", None) and stack.name != the_plan.stack:
            problems.append(f"stack {the_plan.stack!r}, not {stack.name!r}")
    planned_realm = (the_plan.options or {}).get("realm")
    if realm is not None and realm != planned_realm:
        problems.append(f"realm {planned_realm or '(from the manifests)'!r}, not {realm!r} (--realm)")
    if problems:
        raise UsageError(
            f"the plan was made for {'; '.join(problems)}; nothing was written. Apply it with the "
            f"options it was made with, or plan again"
        )


def _environment(stack: Any) -> Any:
    return getattr(stack, "environment", None)


def plan_with_snapshot(
    stack: Any,
    secrets: Any,
    tenant: Any,
    options: PlanRunOptions,
    known_markers: Mapping[str, str] | None = None,
    access: bool = True,
) -> tuple[Plan, Snapshot]:
    """The plan of a loaded stack (see :class:`PlanRunOptions`), and the snapshot it was made from.

    ``known_markers``: address → secret marker this process wrote (apply's confirmation plan); an
    identical marker on the tenant counts as holding the secret without hashing again. ``access``:
    compute the plan's access difference (apply's confirmation plan does not need it).
    """
    require_stack(stack)
    realm = options.realm
    resources = resources_of(stack, realm)
    environment = _environment(stack)
    env_realm = realm or (environment.realm if environment else None)
    extra = [env_realm] if env_realm else []
    # only what planning compares: apply re-reads whole documents before it writes
    snapshot = read_snapshot(tenant.client, read_scopes(resources, extra), options.parallelism, complete=False)
    values = secret_values(resources, secrets)
    status = secret_status(
        resources,
        snapshot,
        values,
        tenant.client,
        options.check_secrets,
        max(4, options.parallelism),
        known_markers,
    )
    plan_options = PlanOptions(
        stack=stack.name,
        target=target_info(tenant),
        environment=environment.name if environment else None,
        prune=options.prune,
        max_deletes=options.max_deletes,
        secret_status=status,
        realms=tuple(extra),
        take_over=options.take_over,
        realm=realm,
        access=access,
    )
    made = make_plan(resources, snapshot, plan_options)
    if options.targets:
        made = select(made, options.targets)
    return made, snapshot


def destroy_plan(stack: Any, tenant: Any, options: DestroyOptions) -> Plan:
    """A plan deleting every object the stack owns (carries its marker) in the realms it names: the
    prune of a stack that declares nothing. Over ``max_deletes`` it carries an error instead."""
    require_stack(stack)
    resources = resources_of(stack, options.realm)
    environment = _environment(stack)
    env_realm = options.realm or (environment.realm if environment else None)
    realms = sorted({r.realm for r in resources} | ({env_realm} if env_realm else set()))
    snapshot = read_snapshot(tenant.client, [ReadScope(r) for r in realms], options.parallelism, complete=False)
    plan_options = PlanOptions(
        stack=stack.name,
        target=target_info(tenant),
        environment=environment.name if environment else None,
        prune=True,
        max_deletes=options.max_deletes,
        realms=tuple(realms),
    )
    made = make_plan([], snapshot, plan_options)
    why = f"owned by stack {stack.name!r}: destroy"

    def reason(kind: str) -> str:
        return why if _declared_alone(kind) else f"its agent is destroyed ({why})"

    # Over the cap the deletes are held back (blocked): their reason says destroy too, then the cap.
    return dataclasses.replace(
        made,
        changes=tuple(
            dataclasses.replace(c, reason=reason(c.kind)) if c.action == "delete" else c for c in made.changes
        ),
        blocked=tuple(
            dataclasses.replace(b, reason=f"{reason(b.kind)}; {b.reason.rsplit('; ', 1)[-1]}") for b in made.blocked
        ),
    )


def _declared_alone(kind: str) -> bool:
    """A kind with its own documents (not one declared inside its parent, like an agent's privileges)."""
    spec = spec_of(kind)
    return spec is None or spec.manifest
