"""Renderers: text, JSON and Markdown, all generated from the JSON plan (``Plan.to_dict()``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from provisioner.render.markdown import render_markdown
from provisioner.render.text import render_text, use_colour

FORMATS = ("text", "json", "markdown")


def render_json(plan: dict[str, Any]) -> str:
    """The JSON plan itself (sorted keys, deterministic)."""
    return json.dumps(plan, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def stream_json(plan: dict[str, Any], write: Callable[[str], Any], chunk_size: int = 1 << 16) -> None:
    """:func:`render_json`'s exact text, handed to ``write`` in pieces of about ``chunk_size`` characters
    that always end at a line break (a JSON string never spans lines, so each piece can be redacted on
    its own). The whole text is never held in memory at once."""
    encoder = json.JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False)
    buffer: list[str] = []
    size = 0
    for part in encoder.iterencode(plan):
        buffer.append(part)
        size += len(part)
        if size >= chunk_size and "\n" in part:
            text = "".join(buffer)
            cut = text.rindex("\n") + 1
            write(text[:cut])
            buffer, size = [text[cut:]], len(text) - cut
    write("".join(buffer) + "\n")


def render(plan: dict[str, Any], fmt: str = "text", **options: Any) -> str:
    """Render the JSON plan dict in ``fmt`` (``text`` options: ``colour``, ``header``, ``verbose``)."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, **options)


__all__ = ["FORMATS", "render", "render_json", "render_markdown", "render_text", "stream_json", "use_colour"]
