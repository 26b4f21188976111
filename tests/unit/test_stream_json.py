"""``plan --format json`` is streamed: the pieces are exactly render_json's text, each ending at a line break."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
    | st.sampled_from(["", "a\nb", '"quoted"\\', "\u2028\u00e9\U0001f600", "\x00\x1f"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.sampled_from(["action", "address", "b", "a"]), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from([1, 16, 256, 1 << 16]))
def test_the_writer_is_json_dumps_exactly(value: object, chunk: int) -> None:
    """Any JSON value (NaN and infinities, escapes, non-ASCII, empty containers, tuples), any chunk size."""
    pieces: list[str] = []
    stream_json({"changes": [value, {"v": value}], "x": value}, pieces.append, chunk_size=chunk)
    document = {"changes": [value, {"v": value}], "x": value}
    assert "".join(pieces) == json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert all(p.endswith("\n") for p in pieces)


def test_keys_and_values_json_cannot_hold_are_refused_as_json_refuses_them() -> None:
    for bad in ({"k": object()}, {"k": {1, 2}}):
        with pytest.raises(TypeError, match="is not JSON serializable"):
            stream_json(bad, lambda text: None)
    with pytest.raises(TypeError, match="keys must be str"):
        stream_json({(1, 2): 1}, lambda text: None)  # type: ignore[dict-item]
    for document in ({2: "b", 1: "a"}, {2.5: "x", float("nan"): "y"}, {None: 1}, {False: 1}, {True: 2}):
        pieces: list[str] = []
        stream_json({"d": document}, pieces.append)
        assert "".join(pieces) == json.dumps({"d": document}, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
