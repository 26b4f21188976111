"""The ideal time for a scenario: the round trips the work needs at a given parallelism × latency.

Counting rules (also in docs/performance.md):

* **Token**: one round trip per run (one service-account token per process).
* **Reads** are whatever a plan must read: one list per collection (provider, OAuth2 clients, AI
  agents, IDM applications, IDM agent identities, IDM privileges, owner users). Collections are
  independent, so they run as one parallel batch; IDM pages of one collection are sequential (each
  page needs the previous page's cookie). Read rounds = max(pages of the largest collection,
  ceil(total read requests / parallelism)). Pages are ``page_size`` (default 1,000) objects.
* **Writes** are grouped by dependency level and each level is one parallel batch:
  sum over levels of ceil(writes in the level / parallelism). One HTTP write per remote object that
  changes (an Application create is two: the AM client in level 1, the IDM record in level 2; an
  Application update touches only the side whose fields differ). Levels for creates/updates:
  1 = provider, AM clients, AI agents; 2 = IDM application records; 3 = privileges. Deletes run in
  reverse: privileges, then agents, then IDM application records, then AM clients.
* **Apply extras** (the design's safety rules, DESIGN §6): when a level contains updates, one
  re-read batch before it (read rounds of the collections involved, counted as one round); after an
  apply that wrote anything, one confirmation plan (read rounds again).
* A whole-process ``apply`` also plans first, so it adds the plan's read rounds.

``ideal_serial_am`` is the same count with AM writes one at a time (reference §9.4 suggests keeping AM
writes serial because of the 5-session limit): AM writes add w rounds instead of ceil(w/P).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Manifest fields per side of an Application (docs/architecture.md, manifest fields).
APP_IDM_ONLY = {"owners", "template"}
APP_BOTH = {"displayName", "description"}


@dataclass
class Work:
    """Writes per level (split AM / IDM) and the collections a plan reads."""

    levels: list[dict[str, int]] = field(default_factory=list)  # [{"am": w, "idm": w, "updates": u}]
    plan_reads: int = 0  # minimal read requests of one plan
    plan_read_rounds: int = 0  # as parallel rounds

    @property
    def writes(self) -> int:
        return sum(lv["am"] + lv["idm"] for lv in self.levels)


def plan_reads(
    n_apps: int, n_agents: int, n_privileges: int, *, parallelism: int, page_size: int = 1000
) -> tuple[int, int]:
    """Minimal (read requests, read rounds) of one plan for a tenant holding these objects."""
    pages = [
        1,
        1,
        1,  # provider, OAuth2Client list, AIAgent list (unpaged)
        max(1, math.ceil(n_apps / page_size)),  # IDM applications
        max(1, math.ceil(n_agents / page_size)),  # IDM agent identities
        max(1, math.ceil(n_privileges / page_size)),  # IDM privileges
        1,
    ]  # owner users (one query naming them all)
    total = sum(pages)
    return total, max(max(pages), math.ceil(total / parallelism))


def _field_names(change: dict[str, Any]) -> set[str]:
    names = set()
    for f in change.get("fields") or []:
        path = str(f.get("path", ""))
        path = path[5:] if path.startswith("spec.") else path
        names.add(path.split(".")[0].split("[")[0])
    return names


def work_from_plan(plan: dict[str, Any]) -> tuple[Work, dict[str, Any]]:
    """Writes per level from a JSON plan (``Plan.to_dict()`` / ``plan --format json``).

    Returns the work and a description (changes per kind/action, dependency depth of the plan).
    """
    changes = [c for c in plan.get("changes") or [] if c.get("action") != "no-op"]
    forward = [{"am": 0, "idm": 0, "updates": 0} for _ in range(3)]
    backward = [{"am": 0, "idm": 0, "updates": 0} for _ in range(4)]
    for c in changes:
        kind, action = c.get("kind"), c.get("action")
        upd = 1 if action == "update" else 0
        if action == "delete":
            slot = {"AgentPrivilege": (0, "idm"), "AIAgent": (1, "am")}.get(kind)
            if kind == "Application":
                backward[2]["idm"] += 1
                backward[3]["am"] += 1
            elif slot:
                backward[slot[0]][slot[1]] += 1
            continue
        if kind == "OAuth2Provider" or kind == "AIAgent":
            forward[0]["am"] += 1
            forward[0]["updates"] += upd
        elif kind == "Application":
            names = _field_names(c)
            am = action == "create" or bool(names - APP_IDM_ONLY) or not names
            idm = action == "create" or bool(names & (APP_IDM_ONLY | APP_BOTH))
            forward[0]["am"] += int(am)
            forward[0]["updates"] += upd * int(am)
            forward[1]["idm"] += int(idm)
            forward[1]["updates"] += upd * int(idm)
        else:  # AgentPrivilege (or any IDM-only kind a later version adds)
            forward[2]["idm"] += 1
            forward[2]["updates"] += upd
    work = Work(levels=[lv for lv in backward + forward if lv["am"] or lv["idm"]])
    counts = Counter(f"{c.get('kind')}:{c.get('action')}" for c in plan.get("changes") or [])
    return work, {"changes": dict(sorted(counts.items())), "dependency_depth": dependency_depth(plan)}


def dependency_depth(plan: dict[str, Any]) -> int:
    """Longest ``depends_on`` chain among the changes that do something (1 = no dependencies)."""
    active = {c["address"]: c for c in plan.get("changes") or [] if c.get("action") != "no-op"}
    depth: dict[str, int] = {}

    def visit(addr: str, stack: frozenset[str] = frozenset()) -> int:
        if addr in depth:
            return depth[addr]
        if addr not in active or addr in stack:
            return 0
        deps = [visit(d, stack | {addr}) for d in active[addr].get("depends_on") or []]
        depth[addr] = 1 + max(deps, default=0)
        return depth[addr]

    return max((visit(a) for a in active), default=0)


def ideal(
    work: Work,
    *,
    parallelism: int,
    latency_s: float,
    include_plan: bool,
    is_apply: bool,
    after_read_rounds: int | None = None,
) -> dict[str, Any]:
    """Ideal round trips and seconds for a scenario (see the module docstring)."""
    rounds = {"token": 1, "plan_reads": 0, "reread": 0, "writes": 0, "confirm": 0}
    if include_plan:
        rounds["plan_reads"] = work.plan_read_rounds
    write_rounds = sum(math.ceil((lv["am"] + lv["idm"]) / parallelism) for lv in work.levels)
    serial_am = sum(lv["am"] + math.ceil(lv["idm"] / parallelism) for lv in work.levels)
    if is_apply:
        rounds["writes"] = write_rounds
        rounds["reread"] = sum(1 for lv in work.levels if lv["updates"])
        if work.writes:
            rounds["confirm"] = work.plan_read_rounds if after_read_rounds is None else after_read_rounds
    total = sum(rounds.values())
    total_serial = total - rounds["writes"] + (serial_am if is_apply else 0)
    return {
        "rounds": rounds,
        "total_rounds": total,
        "ideal_s": round(total * latency_s, 4),
        "ideal_serial_am_s": round(total_serial * latency_s, 4),
        "min_writes": work.writes if is_apply else 0,
        "min_reads": work.plan_reads if include_plan else 0,
        "levels": [dict(lv) for lv in work.levels] if is_apply else [],
    }


def levels_text(levels: Iterable[dict[str, int]]) -> str:
    return " → ".join(f"{lv['am']}am+{lv['idm']}idm" for lv in levels) or "-"
