"""Value formatting shared by the renderers (one place, so text and Markdown agree)."""

from __future__ import annotations

import json
from typing import Any

ARROW = "→"


def value(v: Any) -> str:
    """``[a, b]`` for lists, ``"text"`` for strings, ``(unset)`` for None, JSON otherwise."""
    if v is None:
        return "(unset)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(item if isinstance(item, str) else value(item) for item in v) + "]"
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def field_line(field: dict[str, Any], action: str) -> str:
    """``scopes: [a] → [a, b]``; sensitive fields never show a value."""
    path = field["path"]
    if field.get("sensitive"):
        return f"{path}: (sensitive)" if action == "create" else f"{path}: (sensitive, changed)"
    before, after = field.get("before"), field.get("after")
    if action == "create":
        return f"{path}: {value(after)}"
    if isinstance(before, list) and isinstance(after, list) and len({*map(str, before), *map(str, after)}) > 4:
        return f"{path}: {set_delta(before, after)}"
    return f"{path}: {value(before)} {ARROW} {value(after)}"


def set_delta(before: list[Any], after: list[Any]) -> str:
    """Long lists (a realm's grant types) as their difference: ``+a, -b (8 unchanged)``."""
    old, new = [str(v) for v in before], [str(v) for v in after]
    added = [f"+{v}" for v in new if v not in old]
    removed = [f"-{v}" for v in old if v not in new]
    kept = len([v for v in new if v in old])
    return ", ".join(added + removed) + f" ({kept} unchanged)"


def target_line(plan: dict[str, Any]) -> str:
    """``Target: <label> (<url>)``."""
    target = plan.get("target") or {}
    label, url = target.get("label"), target.get("url")
    if isinstance(label, str) and label.startswith("Target:"):
        return label
    if label and url and label != url:
        return f"Target: {label} ({url})"
    return f"Target: {label or url or '(unknown)'}"


def summary_line(plan: dict[str, Any]) -> str:
    """``Plan: 2 to create, 1 to update, 0 to delete.`` (plus blocked deletes), the no-changes sentence, or,
    when the plan has errors, the sentence saying nothing can be applied."""
    errors = [d for d in plan.get("diagnostics") or [] if d.get("severity") == "error"]
    if errors:
        return (
            f"Plan failed: {len(errors)} error{'s' if len(errors) != 1 else ''} (above); nothing can be "
            f"applied until {'they are' if len(errors) != 1 else 'it is'} fixed."
        )
    s = plan.get("summary") or {}
    blocked = s.get("blocked", 0) or len(plan.get("blocked") or [])
    if not (s.get("create") or s.get("update") or s.get("delete") or blocked):
        return "No changes. The tenant matches the manifests."
    line = f"Plan: {s.get('create', 0)} to create, {s.get('update', 0)} to update, {s.get('delete', 0)} to delete"
    if blocked:
        line += f", {blocked} to delete with --prune"
    return line + "."


BLOCKED_LABEL = "delete (needs --prune)"


def blocked_label(blocked: dict[str, Any]) -> str:
    """What holds a delete back: ``--prune`` not given, or (with it, and in destroy) the --max-deletes cap."""
    return "delete (over --max-deletes)" if "--max-deletes" in str(blocked.get("reason")) else BLOCKED_LABEL


SYMBOLS = {"create": "+", "update": "~", "delete": "-", "no-op": " "}
