"""The planning helpers' fast paths (exact-type checks before ABC checks, equal values compared as they
are) give what the general code gives, for any JSON-like value, Mapping subclasses and tuples included."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.client.wrapping import UNWRAPPED_GROUPS, unwrap
from provisioner.kinds.common import get_path, is_unset, properties, property_value, string_set
from provisioner.kinds.fields import Target, canonical, desired_canonical, equal_as_is
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


def _properties_ref(doc: Any) -> list[str]:
    value = _unwrap_ref(_get_path_ref(doc, ["advancedOAuth2ClientConfig", "customProperties"]))
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if isinstance(v, str)]


@settings(max_examples=100, deadline=None)
@given(values | st.lists(st.sampled_from(["provisioner.stack=a", "k=v", ""]), max_size=3))
def test_custom_properties_fast_path_agrees(value: Any) -> None:
    """A plain list of strings (the AM list form) skips unwrapping: the same entries."""
    doc = {"advancedOAuth2ClientConfig": {"customProperties": value}}
    assert properties(doc) == _properties_ref(doc)
    for key in ("provisioner.stack", "k"):
        assert property_value(doc, key) == next(
            (e[len(key) + 1 :] for e in _properties_ref(doc) if e.startswith(key + "=")), None
        )


_TARGETS = {
    "scalar": Target("am", ("x",)),
    "set": Target("am", ("x",), "set"),
    "one": Target("am", ("x",), "one"),
    "refs": Target("idm", ("x",), "refs", "managed/{realm}_user"),
    "scopes": Target("idm", ("x",), "scopes"),
}
_strings = st.lists(st.sampled_from(["", "[Empty]", "a", "b", "c"]), max_size=4)


def _clone(value: Any) -> Any:
    """An equal copy (not the same objects)."""
    if isinstance(value, Mapping):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    return value


def _equal_looking(desired: Any) -> st.SearchStrategy[Any]:
    """Remote values built from a desired value the way the tenant stores it (so the fast path is taken)."""
    return st.sampled_from(
        [
            _clone(desired),
            [desired],
            [{"type": "scopes", "values": _clone(desired)}],
            [{"values": desired, "other": 1}],
            [],
            None,
            "",
        ]
    )


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(_TARGETS)), values | _strings, st.data())
def test_equal_as_is_never_hides_a_difference(compare: str, desired: Any, data: st.DataObject) -> None:
    """Whenever the fast path says equal, the canonical forms are equal (it may only skip work)."""
    raw = data.draw(_equal_looking(desired) | values)
    target = _TARGETS[compare]
    if equal_as_is(target.compare, raw, desired):
        assert canonical(target, raw) == desired_canonical(target, desired)


def test_equal_as_is_takes_the_usual_no_change_cases() -> None:
    """The shapes of an object that needs no change are recognised without canonical forms."""
    assert equal_as_is("scalar", "client_secret_basic", "client_secret_basic")
    assert equal_as_is("set", ["read", "write"], ["read", "write"])
    assert equal_as_is("one", ["My app"], "My app")
    assert equal_as_is("refs", [], [])
    assert equal_as_is("scopes", [{"type": "scopes", "values": ["logs.read"]}], ["logs.read"])
    assert not equal_as_is("set", ["write", "read"], ["read", "write"])  # equal sets, compared canonically
    assert not equal_as_is("refs", [{"_refResourceId": "u1"}], ["u1"])
