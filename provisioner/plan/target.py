"""``--target ADDRESS``: narrow a plan to some objects and what they need (pure, like Terraform's -target).

An address is what the plan prints (``AIAgent alpha/bot``, ``OAuth2Provider alpha``), or a shorter
unambiguous form: ``AIAgent/bot``, ``alpha/bot`` or just ``bot``. Dependencies are pulled in:
a privilege's agent and application (``depends_on``), an agent's privileges (they are declared in the
agent's manifest) and the realm's OAuth2 provider for clients (its grant types gate theirs). Changes
outside the selection are left out of the plan entirely; blocked deletes are kept only when targeted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from provisioner.errors import UsageError
from provisioner.kinds import REGISTRY, spec_of
from provisioner.plan.model import Change, Plan, summarize


class TargetError(UsageError):
    """A target that names nothing in the plan, or several things."""


def _forms(change_address: str, kind: str, realm: str, key: str) -> set[str]:
    forms = {change_address, key, f"{realm}/{key}", f"{kind}/{key}", f"{kind}.{key}", f"{kind} {key}"}
    return {f.lower() for f in forms}


def resolve(targets: Sequence[str], items: Iterable[tuple[str, str, str, str]]) -> set[str]:
    """The addresses ``targets`` name among ``items`` (address, kind, realm, key); TargetError otherwise."""
    items = list(items)
    chosen: set[str] = set()
    for target in targets:
        wanted = " ".join(target.split()).lower()
        exact = [a for a, *_ in items if a.lower() == wanted]
        hits = exact or sorted({a for a, kind, realm, key in items if wanted in _forms(a, kind, realm, key)})
        if not hits:
            known = ", ".join(sorted({a for a, *_ in items})[:12]) or "(the plan is empty)"
            raise TargetError(f"--target {target!r} matches nothing in the plan; addresses are: {known}")
        if len(hits) > 1:
            raise TargetError(f"--target {target!r} is ambiguous: {', '.join(hits)}; give the full address")
        chosen.add(hits[0])
    return chosen


def _needs(change: Change, by_address: dict[str, Change]) -> set[str]:
    out = set(change.depends_on)
    spec = spec_of(change.kind)
    if spec is None:
        return out
    if spec.am_kind and change.action != "delete":  # a client needs its realm's singletons (the provider)
        for realm_spec in REGISTRY:
            if realm_spec.keyed_by_realm and realm_spec.rank < spec.rank:
                singleton = realm_spec.address(change.realm, change.realm)
                if singleton in by_address:
                    out.add(singleton)
    if spec.owns:  # and a parent its children (an agent its privileges)
        prefix = f"{change.key}/"
        out |= {
            c.address
            for c in by_address.values()
            if c.kind == spec.owns and c.realm == change.realm and c.key.startswith(prefix)
        }
    return out


def select(plan: Plan, targets: Sequence[str]) -> Plan:
    """``plan`` narrowed to ``targets`` and their dependencies (unchanged when ``targets`` is empty)."""
    if not targets:
        return plan
    items = [(c.address, c.kind, c.realm, c.key) for c in plan.changes]
    items += [(b.address, b.kind, b.realm, b.key) for b in plan.blocked]
    chosen = resolve(targets, items)
    by_address = {c.address: c for c in plan.changes}
    pending = list(chosen)
    while pending:
        address = pending.pop()
        change = by_address.get(address)
        if change is None:
            continue
        for need in _needs(change, by_address) - chosen:
            chosen.add(need)
            pending.append(need)
    changes = tuple(c for c in plan.changes if c.address in chosen)
    blocked = tuple(b for b in plan.blocked if b.address in chosen)
    options = {**plan.options, "targets": sorted(" ".join(t.split()) for t in targets)}
    return dataclasses.replace(
        plan, changes=changes, blocked=blocked, summary=summarize(changes, blocked), options=options
    )
