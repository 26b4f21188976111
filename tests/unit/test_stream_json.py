"""``plan --format json`` is streamed: the pieces are exactly render_json's text, each ending at a line break."""

from __future__ import annotations

from provisioner.render import render_json, stream_json


def _plan(n: int) -> dict:
    return {
        "format_version": 2,
        "stack": "s",
        "changes": [
            {
                "address": f"AIAgent alpha/a{i}",
                "action": "create",
                "desired": {"scopes": ["x", "ü", "y\nz"], "n": i, "nested": {"b": None, "a": [True, 1.5]}},
            }
            for i in range(n)
        ],
        "summary": {},
    }


def test_streamed_text_equals_the_whole_text_and_pieces_end_at_line_breaks() -> None:
    for n, chunk in ((0, 10), (1, 1), (50, 64), (200, 1 << 16)):
        pieces: list[str] = []
        stream_json(_plan(n), pieces.append, chunk_size=chunk)
        assert "".join(pieces) == render_json(_plan(n))
        assert all(p.endswith("\n") for p in pieces)
        if n == 200:
            assert len(pieces) >= 1


def test_large_plan_is_written_in_many_pieces() -> None:
    pieces: list[str] = []
    stream_json(_plan(2000), pieces.append, chunk_size=4096)
    assert len(pieces) > 50 and max(len(p) for p in pieces) < 4096 + 1000
