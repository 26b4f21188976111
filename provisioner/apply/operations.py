"""The writes behind each change: the steps each kind declares (``KindSpec.steps``), by apply level.

Levels: 1 provider, AM clients and AM agents (independent of each other); 2 IDM application records
and new agents' identity PATCHes (each after its own AM object); 3 privileges (they need the agent
identity and the application record); deletes in reverse: 3 privileges, 4 agents, 5 applications.
The shared write rules (create-only, revision checks, secrets) are in :mod:`provisioner.kinds.write`.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.kinds import spec_of
from provisioner.kinds.write import ApplyContext, StaleObject, current_am, find_am
from provisioner.plan.model import Change

Operation = Callable[[ApplyContext, Change], None]


def steps_of(change: Change) -> tuple[tuple[int, Operation], ...] | None:
    """``(level, step)`` pairs of ``change`` in order; None when its kind has no such action."""
    spec = spec_of(change.kind)
    return spec.steps.get(change.action) if spec is not None else None


__all__ = ["ApplyContext", "Operation", "StaleObject", "current_am", "find_am", "steps_of"]
