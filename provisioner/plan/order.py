"""Ordering: provider → applications → agents → privileges; deletes in reverse.

A change's *level* is the stage it runs in during apply: every change of a level may run in
parallel, and a level starts only after the previous one finished.
"""
from __future__ import annotations

from collections.abc import Iterable

from provisioner.plan.model import Change

_LEVELS = {
    ("OAuth2Provider", False): 0,
    ("Application", False): 1,
    ("AIAgent", False): 2,
    ("AgentPrivilege", False): 3,
    ("AgentPrivilege", True): 3,
    ("AIAgent", True): 4,
    ("Application", True): 5,
}


def level(change: Change) -> int:
    """The apply stage of ``change``."""
    return _LEVELS.get((change.kind, change.action == "delete"), 6)


def address(kind: str, realm: str, key: str) -> str:
    """``AIAgent alpha/bot``; the provider (keyed by its realm) is ``OAuth2Provider alpha``."""
    return f"{kind} {realm}" if kind == "OAuth2Provider" else f"{kind} {realm}/{key}"


def sort_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Deterministic plan order: by level, then realm, then key."""
    return tuple(sorted(changes, key=lambda c: (level(c), c.realm, c.key, c.action)))


def levels(changes: Iterable[Change]) -> list[list[Change]]:
    """The changes grouped by level, in order (no-ops left out)."""
    groups: dict[int, list[Change]] = {}
    for change in changes:
        if change.action != "no-op":
            groups.setdefault(level(change), []).append(change)
    return [groups[k] for k in sorted(groups)]
