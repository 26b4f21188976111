"""The human plan, like ``terraform plan``, rendered from the JSON plan dict (never from objects)."""

from __future__ import annotations

import os
from typing import Any, TextIO

from provisioner import redact
from provisioner.render.access import plan_access_text
from provisioner.render.values import SYMBOLS, blocked_label, field_line, summary_line, target_line

_COLOURS = {
    "create": "\033[32m",
    "update": "\033[33m",
    "delete": "\033[31m",
    "blocked": "\033[35m",
    "error": "\033[31m",
    "warning": "\033[33m",
}
_RESET = "\033[0m"


def use_colour(stream: TextIO | None, no_color: bool = False, environ: Any = None) -> bool:
    """Colour only on a TTY, and never with ``--no-color`` or ``NO_COLOR`` set."""
    env = os.environ if environ is None else environ
    if no_color or env.get("NO_COLOR") not in (None, ""):
        return False
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def render_text(plan: dict[str, Any], *, colour: bool = False, header: bool = True, verbose: bool = False) -> str:
    """The plan as text. ``header`` prints the target line first; ``verbose`` lists no-ops too."""

    def paint(kind: str, text: str) -> str:
        return f"{_COLOURS[kind]}{text}{_RESET}" if colour and kind in _COLOURS else text

    lines: list[str] = []
    if header:
        lines.append(target_line(plan))
    if plan.get("environment"):
        lines.append(f"Environment: {plan['environment']}")
    if plan.get("stack"):
        lines.append(f"Stack: {plan['stack']}")
    lines.append("")
    # Errors first: a plan that cannot be applied says so before anything else, and before the summary.
    diagnostics = sorted(plan.get("diagnostics") or [], key=lambda d: d.get("severity") != "error")
    for diag in (d for d in diagnostics if d.get("severity") == "error"):
        lines.append(paint("error", _diagnostic(diag)))
    lines += plan_access_text(plan)
    for change in plan.get("changes") or []:
        action = change["action"]
        if action == "no-op" and not verbose:
            continue
        label = "no change" if action == "no-op" else action
        title = f"{SYMBOLS[action]} {label} {change['address']}"
        if change.get("reason"):
            title += f"  # {change['reason']}"
        lines.append(paint(action, title))
        for fld in change.get("fields") or []:
            lines.append("    " + field_line(fld, action))
    for blocked in plan.get("blocked") or []:
        title = f"{SYMBOLS['delete']} {blocked_label(blocked)} {blocked['address']}  # {blocked['reason']}"
        lines.append(paint("blocked", title))
    for diag in (d for d in diagnostics if d.get("severity") != "error"):
        lines.append(paint(diag["severity"], _diagnostic(diag)))
    if lines and lines[-1] != "":
        lines.append("")
    lines.append(summary_line(plan))
    return redact.text("\n".join(lines)) + "\n"


def _diagnostic(diag: dict[str, Any]) -> str:
    """Errors as ``error: file:line:col: path: message``; warnings in validate's format,
    ``file:line:col: path: warning: message``."""
    where = f"{diag['location']}: " if diag.get("location") else ""
    path = f"{diag['path']}: " if diag.get("path") else ""
    if diag.get("severity") == "warning":
        return f"{where}{path}warning: {diag['message']}"
    return f"{diag['severity']}: {where}{path}{diag['message']}"
