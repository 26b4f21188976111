"""``make_plan``: desired resources + a tenant snapshot → a :class:`Plan`. Pure: no I/O.

Only fields present in a manifest ``spec`` are compared (field ownership). Secrets are compared
through precomputed verdicts (``PlanOptions.secret_status``), never by value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner.kinds import REGISTRY, access_diff
from provisioner.kinds.planning import PlanContext
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import FORMAT_VERSION, Change, Plan, PlanDiagnostic, _plain, summarize
from provisioner.plan.order import sort_changes
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
    #: Move objects another stack owns to this stack (``--take-over``) instead of refusing them.
    take_over: bool = False
    #: The realm every resource was forced into (``--realm``), recorded so apply can refuse another.
    realm: str | None = None
    #: Refuse objects another stack owns (off only for undo, which restores before-images whatever owns them).
    check_ownership: bool = True
    #: Compute the access difference (apply's confirmation plan only counts what remains: off there).
    access: bool = True


def make_plan(resources: Iterable[Any], snapshot: Snapshot, options: PlanOptions) -> Plan:
    """Plan ``resources`` (manifest :class:`Resource` records) against ``snapshot``."""
    resources = sorted(resources, key=lambda r: (r.realm, r.kind, r.name))
    ctx = PlanContext(
        snapshot,
        resources,
        options.secret_status,
        stack=options.stack,
        take_over=options.take_over,
        check_ownership=options.check_ownership,
    )
    for spec in REGISTRY:  # rank order: a kind may read the changes planned for the kinds before it
        if spec.plan is None:
            continue
        for res in resources:
            if res.kind == spec.name:
                for change in spec.plan(ctx, res):
                    ctx.add(change)
    changes = ctx.changes
    realms = sorted({r.realm for r in resources} | set(options.realms))
    declared_keys = {(r.kind, r.realm, r.name) for r in resources}
    prune_changes, blocked, prune_diags = plan_prune(
        snapshot,
        realms,
        declared_keys,
        options.stack,
        options.prune,
        options.max_deletes,
        [c for c in changes if c.action == "delete"],
    )
    changes.extend(prune_changes)
    ctx.diagnostics.extend(prune_diags)
    pruned = {(c.realm, c.key) for c in prune_changes}
    for change in changes:
        target = (change.realm, str(change.ids.application))
        if change.ids.application and change.action != "delete" and target in pruned:
            ctx.diagnostics.append(
                PlanDiagnostic(
                    "error",
                    f"{change.address} needs application {target[1]!r}, "
                    f"which this plan prunes; declare the application or drop "
                    f"the privilege",
                )
            )
    ordered = sort_changes(changes)
    # A plan that changes nothing makes no access difference: not computed then (a quarter of a no-op
    # plan's planning time).
    changes_anything = any(c.action != "no-op" for c in ordered)
    access_changes = _access_changes(resources, snapshot, ordered) if options.access and changes_anything else ()
    diagnostics = tuple(sorted(ctx.diagnostics, key=lambda d: (d.location, d.path, d.message)))
    return Plan(
        format_version=FORMAT_VERSION,
        stack=options.stack,
        target=_plain(options.target),
        environment=options.environment,
        changes=ordered,
        blocked=blocked,
        diagnostics=diagnostics,
        summary=summarize(ordered, blocked),
        options={
            "prune": options.prune,
            "max_deletes": options.max_deletes,
            "realm": options.realm,
            "take_over": options.take_over,
        },
        access=tuple(a.to_dict() for a in access_changes),
    )


def _access_changes(
    resources: Sequence[Any], snapshot: Snapshot, changes: Sequence[Change]
) -> tuple[access_diff.AccessChange, ...]:
    """The access difference: the tenant's access map now vs after the plan (agents it touches)."""
    deletes = [(c.kind, c.realm, c.key) for c in changes if c.action == "delete"]
    return access_diff.plan_difference(resources, snapshot, deletes)
