"""Stale-plan detection (pure): compare a plan's observed revisions with a fresh snapshot.

AM revisions are compared list form to list form: both the plan and this check read AM objects
through the per-type list (a single read's ``_rev`` differs).
"""

from __future__ import annotations

from typing import Any

from provisioner.kinds import spec_of
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import Change, Plan


def current_observed(change: Change, snapshot: Snapshot) -> dict[str, Any]:
    """What ``change.observed`` would be if planned against ``snapshot``."""
    spec = spec_of(change.kind)
    if spec is None or spec.observed is None:
        return {}
    return spec.observed(snapshot.realm(change.realm), change.key, change.ids)


def _describe(remote: str, before: Any, after: Any) -> str:
    label = "AM" if remote == "am" else "IDM"
    if before is None:
        return f"{label} object appeared"
    if after is None:
        return f"{label} object was deleted"
    return f"{label} revision {before.get('rev')} → {after.get('rev')}"


def stale_changes(plan: Plan, snapshot: Snapshot) -> list[str]:
    """One message per planned object whose revision moved since the plan (empty when fresh)."""
    messages = []
    for change in plan.changes:
        now = current_observed(change, snapshot)
        moved = [
            _describe(remote, change.observed.get(remote), now.get(remote))
            for remote in sorted(set(change.observed) | set(now))
            if change.observed.get(remote) != now.get(remote)
        ]
        if moved:
            messages.append(f"{change.address}: {'; '.join(moved)}")
    return messages
