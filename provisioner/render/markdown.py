"""The plan as Markdown for pull-request comments: summary first, one ``<details>`` per change."""

from __future__ import annotations

import html
from typing import Any

from provisioner import redact
from provisioner.render.access import plan_access_markdown
from provisioner.render.values import SYMBOLS, blocked_label, field_line, summary_line, target_line


def render_markdown(plan: dict[str, Any]) -> str:
    """Markdown from the JSON plan dict; no secret values (sensitive fields never carry one)."""
    lines = [f"### {summary_line(plan)}", "", f"**{target_line(plan)}**"]
    if plan.get("environment"):
        lines.append(f"Environment: `{plan['environment']}`")
    if plan.get("stack"):
        lines.append(f"Stack: `{plan['stack']}`")
    lines.append("")
    if plan.get("diagnostics"):
        lines.append("**Diagnostics**")
        lines.append("")
        for diag in plan["diagnostics"]:
            where = f"`{diag['location']}` " if diag.get("location") else ""
            lines.append(f"- {diag['severity']}: {where}{diag['message']}")
        lines.append("")
    lines += plan_access_markdown(plan)
    for change in plan.get("changes") or []:
        action = change["action"]
        if action == "no-op":
            continue
        lines.append("<details>")
        lines.append(f"<summary><code>{SYMBOLS[action]} {action} {html.escape(change['address'])}</code></summary>")
        lines.append("")
        if change.get("reason"):
            lines.append(f"_{change['reason']}_")
            lines.append("")
        if change.get("fields"):
            lines.append("```diff")
            for fld in change["fields"]:
                lines.append(f"{SYMBOLS[action]} {field_line(fld, action)}")
            lines.append("```")
        lines.append("</details>")
        lines.append("")
    for blocked in plan.get("blocked") or []:
        lines.append("<details>")
        lines.append(
            f"<summary><code>{SYMBOLS['delete']} {blocked_label(blocked)} {html.escape(blocked['address'])}</code>"
            "</summary>"
        )
        lines.append("")
        lines.append(f"_{blocked['reason']}_")
        lines.append("</details>")
        lines.append("")
    return redact.text("\n".join(lines).rstrip() + "\n")
