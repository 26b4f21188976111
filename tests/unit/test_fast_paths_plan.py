"""The planning helpers' fast paths (exact-type checks before ABC checks) give what the general code
gives, for any JSON-like value, Mapping subclasses and tuples included."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.client.wrapping import UNWRAPPED_GROUPS, unwrap
from provisioner.kinds.common import get_path, is_unset, string_set
from provisioner.plan.model import _plain

leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(["", "[Empty]", "a", "b"])
)
values = st.recursive(
    leaves | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.sampled_from(["inherited", "value", "_id", "x", "y"]), inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2).map(types.MappingProxyType)
    ),
    max_leaves=12,
)


def _string_set(value: Any) -> list[str]:
    if is_unset(value):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)):
        return [str(value)]
    return sorted({str(v) for v in value if not is_unset(v)})


def _plain_ref(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain_ref(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_ref(v) for v in value]
    return value


def _unwrap_ref(value: Any) -> Any:
    if isinstance(value, Mapping) and "inherited" in value and set(value) <= {"inherited", "value"}:
        return _unwrap_ref(value.get("value"))
    if isinstance(value, Mapping):
        return {k: v if str(k).startswith("_") or k in UNWRAPPED_GROUPS else _unwrap_ref(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_ref(v) for v in value]
    return value


def _get_path_ref(doc: Any, path: list[str]) -> Any:
    node = doc
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


@settings(max_examples=300, deadline=None)
@given(values, st.lists(st.sampled_from(["a", "x", "value"]), max_size=3))
def test_fast_paths_agree_with_the_general_code(value: Any, path: list[str]) -> None:
    assert string_set(value) == _string_set(value)
    assert _plain(value) == _plain_ref(value)
    assert unwrap(value) == _unwrap_ref(value)
    assert get_path(value, path) == _get_path_ref(value, path)
