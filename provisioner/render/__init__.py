"""Renderers: text, JSON and Markdown, all generated from the JSON plan (``Plan.to_dict()``)."""
from __future__ import annotations

import json
from typing import Any

from provisioner.render.markdown import render_markdown
from provisioner.render.text import render_text, use_colour

FORMATS = ("text", "json", "markdown")


def render_json(plan: dict[str, Any]) -> str:
    """The JSON plan itself (sorted keys, deterministic)."""
    return json.dumps(plan, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render(plan: dict[str, Any], fmt: str = "text", **options: Any) -> str:
    """Render the JSON plan dict in ``fmt`` (``text`` options: ``colour``, ``header``, ``verbose``)."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, **options)


__all__ = ["FORMATS", "render", "render_json", "render_markdown", "render_text", "use_colour"]
