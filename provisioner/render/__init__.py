"""Renderers: text, JSON and Markdown, all generated from the JSON plan (``Plan.to_dict()``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

from provisioner import redact
from provisioner.render.markdown import render_markdown
from provisioner.render.text import render_text, use_colour

FORMATS = ("text", "json", "markdown")


def render_json(plan: dict[str, Any]) -> str:
    """The JSON plan itself (sorted keys, deterministic)."""
    return json.dumps(plan, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def stream_json(plan: dict[str, Any], write: Callable[[str], Any], chunk_size: int = 1 << 16) -> bool:
    """:func:`render_json`'s exact text, redacted, handed to ``write`` in pieces of about ``chunk_size``
    characters that always end at a line break (a JSON string never spans lines, so each piece can be
    redacted on its own). The whole text is never held in memory at once. Each piece is masked by
    :class:`provisioner.redact.LeafScan` from the strings, keys and numbers it was written from (each
    distinct one is scanned once), so ``write`` gets :class:`provisioner.redact.Redacted` text. Returns
    whether masking changed the text (a value holds a secret).

    The encoder is :class:`_IndentedWriter`: the same text as ``json.dumps(plan, sort_keys=True,
    indent=2, ensure_ascii=False)`` (the standard library's indented encoder is pure Python and yields
    every token through nested generators: about twice the CPU)."""
    writer = _IndentedWriter(write, chunk_size)
    writer.document(plan)
    return writer.scan.masked


_FLOAT_REPR = float.__repr__
_INT_REPR = int.__repr__


def _float(value: float) -> str:
    """json's float spelling (allow_nan: NaN, Infinity, -Infinity)."""
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return _FLOAT_REPR(value)


class _IndentedWriter:
    """``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)`` as appended pieces, written out
    in line-aligned chunks after the items of the outer two levels (a plan's changes, one by one)."""

    def __init__(self, write: Callable[[str], Any], chunk_size: int) -> None:
        self.write = write
        self.chunk_size = chunk_size
        self.out: list[str] = []
        self.size = 0  # characters in out[:counted]
        self.counted = 0
        self.leaves: list[str] = []  # the strings (keys too) and numbers (as text) written since the last piece
        self.scan = redact.LeafScan(encode_basestring)

    def document(self, value: Any) -> None:
        self.value(value, "\n", 0)
        self.write(self.scan.text("".join(self.out) + "\n", self.leaves))

    def flush(self) -> None:
        """Write what is held once it reaches ``chunk_size``, up to its last line break."""
        out = self.out
        self.size += sum(map(len, out[self.counted :]))  # a slice: islice would step over the counted pieces
        self.counted = len(out)
        if self.size < self.chunk_size:
            return
        text = "".join(out)
        cut = text.rfind("\n") + 1
        if cut:
            # the leaves of the rest are checked now too: it is written with the next piece, whose
            # check would skip them as seen
            self.write(self.scan.text(text[:cut], self.leaves))
            self.leaves = []
        rest = text[cut:]
        self.out, self.size, self.counted = [rest], len(rest), 1

    def value(self, value: Any, indent: str, depth: int) -> None:
        out = self.out
        if isinstance(value, str):
            out.append(encode_basestring(value))
            self.leaves.append(value)
        elif value is None:
            out.append("null")
        elif value is True:
            out.append("true")
        elif value is False:
            out.append("false")
        elif isinstance(value, (int, float)):
            leaf = _INT_REPR(value) if isinstance(value, int) else _float(value)
            out.append(leaf)
            self.leaves.append(leaf)
        elif isinstance(value, (list, tuple)):
            if not value:
                out.append("[]")
                return
            inner = indent + "  "
            separator = "[" + inner
            for item in value:
                if type(item) is str:  # the common leaf, written without a call
                    self.out.append(separator + encode_basestring(item))
                    self.leaves.append(item)
                else:
                    self.out.append(separator)
                    self.value(item, inner, depth + 1)
                separator = "," + inner
                if depth < 2:
                    self.flush()
            self.out.append(indent + "]")
        elif isinstance(value, dict):
            if not value:
                out.append("{}")
                return
            inner = indent + "  "
            separator = "{" + inner
            for key, item in sorted(value.items()):
                if isinstance(key, str):
                    pass
                elif isinstance(key, float):
                    key = _float(key)
                elif key is True:
                    key = "true"
                elif key is False:
                    key = "false"
                elif key is None:
                    key = "null"
                elif isinstance(key, int):
                    key = _INT_REPR(key)
                else:
                    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
                if type(item) is str:
                    self.out.append(separator + encode_basestring(key) + ": " + encode_basestring(item))
                    self.leaves += key, item
                else:
                    self.out.append(separator + encode_basestring(key) + ": ")
                    self.leaves.append(key)
                    self.value(item, inner, depth + 1)
                separator = "," + inner
                if depth < 2:
                    self.flush()
            self.out.append(indent + "}")
        else:
            raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def render(plan: dict[str, Any], fmt: str = "text", **options: Any) -> str:
    """Render the JSON plan dict in ``fmt`` (``text`` options: ``colour``, ``header``, ``verbose``)."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, **options)


__all__ = ["FORMATS", "render", "render_json", "render_markdown", "render_text", "stream_json", "use_colour"]
