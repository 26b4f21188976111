"""The access map as text, JSON or a Mermaid graph (rendered from ``AccessMap.to_dict()``)."""

from __future__ import annotations

import json
import re
from typing import Any

from provisioner import redact

FORMATS = ("text", "json", "mermaid")


def _list(values: list[str] | None, every: bool = False) -> str:
    if values is None:
        return "every scope of the application (its scopes are not known here)"
    shown = "[" + ", ".join(values) + "]"
    return f"{shown} (no permissions listed: every scope of the application)" if every else shown


def acts_for(edge: dict[str, Any]) -> str:
    """``no one (autonomous)`` or ``users a, b; groups g``."""
    who = edge["actsFor"]
    if who["noOne"]:
        return "no one (autonomous: only for itself)"
    parts = []
    if who["users"]:
        parts.append("users " + ", ".join(who["users"]))
    if who["groups"]:
        parts.append("groups " + ", ".join(who["groups"]))
    return "; ".join(parts)


def render_text(access: dict[str, Any]) -> str:
    """One block per agent: its own token, then one block per application it may exchange into."""
    lines: list[str] = []
    for agent in access["agents"]:
        lines.append(f"AIAgent {agent['realm']}/{agent['agent']}")
        own = agent["ownToken"]
        if own is None:
            lines.append("  own token: none (no client_credentials grant)")
        else:
            scopes = _list(own["scopes"]) if own["scopes"] is not None else "unknown (not declared in the manifests)"
            lines.append(f"  own token (client_credentials): scopes {scopes}")
        if not agent["exchanges"]:
            lines.append("  exchanges: none")
        for edge in agent["exchanges"]:
            lines.append(f"  exchange → {edge['application']}")
            lines.append(f"      audience: {edge['audience']}")
            lines.append(f"      scopes:   {_list(edge['scopes'], edge['allScopes'])}")
            lines.append(f"      acts for: {acts_for(edge)}")
            if not agent["tokenExchange"]:
                lines.append("      note:     unusable: the agent lacks the token_exchange grant")
        lines.append("")
    count = len(access["agents"])
    edges = sum(len(a["exchanges"]) for a in access["agents"])
    lines.append(
        f"{count} agent{'s' if count != 1 else ''}, {edges} exchange{'s' if edges != 1 else ''} "
        f"(from the {access['source']})"
    )
    return redact.text("\n".join(lines)) + "\n"


def render_json(access: dict[str, Any]) -> str:
    """The map as JSON: sorted keys, deterministic."""
    return redact.text(json.dumps(access, sort_keys=True, indent=2, ensure_ascii=False)) + "\n"


def _label(text: str) -> str:
    """A Mermaid label in double quotes (quotes and angle brackets as entity codes)."""
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def _node_id(prefix: str, name: str, used: dict[str, str]) -> str:
    key = f"{prefix}:{name}"
    if key not in used:
        used[key] = f"{prefix}{len(used)}_{re.sub(r'[^A-Za-z0-9_]', '_', name)[:40]}"
    return used[key]


def render_mermaid(access: dict[str, Any], fenced: bool = True) -> str:
    """A ``flowchart LR``: agent → own token, agent → application (scopes; acts for ...).

    Inside a ```` ```mermaid ```` fence GitHub renders it in Markdown.
    """
    used: dict[str, str] = {}
    lines = ["flowchart LR"]
    for agent in access["agents"]:
        node = _node_id("agent", f"{agent['realm']}/{agent['agent']}", used)
        lines.append(f"  {node}[{_label('AIAgent ' + agent['agent'])}]")
        own = agent["ownToken"]
        if own is not None:
            token = _node_id("token", f"{agent['realm']}/{agent['agent']}", used)
            lines.append(f"  {token}([{_label('own token')}])")
            scopes = ", ".join(own["scopes"]) if own["scopes"] is not None else "unknown scopes"
            lines.append(f"  {node} -->|{_label('client_credentials: ' + (scopes or 'no scopes'))}| {token}")
        for edge in agent["exchanges"]:
            app = _node_id("app", f"{agent['realm']}/{edge['application']}", used)
            lines.append(f"  {app}[{_label('Application ' + edge['application'])}]")
            scopes = ", ".join(edge["scopes"]) if edge["scopes"] is not None else "every scope"
            if edge["allScopes"] and edge["scopes"] is not None:
                scopes += " (all)"
            label = f"exchange, aud {edge['audience']}: {scopes or 'no scopes'}; acts for {acts_for(edge)}"
            arrow = "-.->" if not agent["tokenExchange"] else "-->"
            lines.append(f"  {node} {arrow}|{_label(label)}| {app}")
    body = "\n".join(lines) + "\n"
    return redact.text(f"```mermaid\n{body}```\n" if fenced else body)


def render(access: dict[str, Any], fmt: str = "text") -> str:
    if fmt == "json":
        return render_json(access)
    if fmt == "mermaid":
        return render_mermaid(access)
    return render_text(access)


def plan_access_markdown(plan: dict[str, Any]) -> list[str]:
    """The plan's access difference as a Markdown list under a heading (nothing when access is unchanged)."""
    changes = plan.get("access") or []
    if not changes:
        return []
    lines = ["**Access changes** (what the agents may do after this change; approve these)", ""]
    lines += [f"- {change['text']}" for change in changes]
    return lines + [""]


def plan_access_text(plan: dict[str, Any]) -> list[str]:
    """The plan's access difference for the text plan (names without Markdown backticks)."""
    changes = plan.get("access") or []
    if not changes:
        return []
    return ["Access changes:"] + [f"  {change['text'].replace('`', '')}" for change in changes] + [""]
