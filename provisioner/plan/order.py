"""Ordering: kinds by rank (provider → applications → agents → privileges); deletes in reverse, last.

A change's *level* is its place in the plan: creates and updates by their kind's rank, deletes by the
reverse rank after all of them (:attr:`~provisioner.kinds.spec.KindSpec.delete_rank`).
"""

from __future__ import annotations

from collections.abc import Iterable

from provisioner.kinds import REGISTRY, spec_of
from provisioner.plan.model import Change


def level(change: Change) -> int:
    """The plan stage of ``change`` (an unknown kind goes last)."""
    spec = spec_of(change.kind)
    if spec is None:
        return 2 * max(s.rank for s in REGISTRY) + 1
    return spec.delete_rank if change.action == "delete" else spec.rank


def address(kind: str, realm: str, key: str) -> str:
    """``AIAgent alpha/bot``; a kind keyed by its realm (the provider) is ``OAuth2Provider alpha``."""
    spec = spec_of(kind)
    return spec.address(realm, key) if spec is not None else f"{kind} {realm}/{key}"


def sort_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Deterministic plan order: by level, then realm, then key."""
    return tuple(sorted(changes, key=lambda c: (level(c), c.realm, c.key, c.action)))
