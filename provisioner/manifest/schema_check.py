"""A fast yes/no check compiled from our JSON Schemas: True means jsonschema reports no error.

jsonschema walks the schema (and resolves ``$ref`` through the registry) for every document; at
thousands of documents that was half of ``load``. Documents are almost always valid, so
:func:`provisioner.manifest.schema.validate_document` asks this compiled predicate first and runs
jsonschema only when it answers False, for the exact messages. The predicate therefore only has to
agree with jsonschema on *validity*; tests compare the two on every corpus document.

Only the keywords our schemas use are compiled, with jsonschema's Draft 2020-12 semantics (its type
checker: ``1.0`` is an integer, ``True`` is not; the equality of its ``equal``/``uniq`` for const,
enum and uniqueItems, re-implemented here so that a valid stack never imports jsonschema). A schema using any other keyword is not compiled (``compile_schema`` returns None)
and jsonschema does all the work, as before.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any


def equal(one: Any, two: Any) -> bool:
    """JSON Schema equality, as jsonschema's ``_utils.equal``: ``True`` is not ``1``, also inside lists
    and objects (written out here so that validating a valid stack never imports jsonschema)."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, (list, tuple)) and isinstance(two, (list, tuple)):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(k in two and equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def _key(value: Any) -> Any:
    """A hashable stand-in with :func:`equal`'s semantics (bool apart from numbers)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, (list, tuple)):
        return ("l", tuple(_key(v) for v in value))
    if isinstance(value, Mapping):
        return ("d", frozenset((k, _key(v)) for k, v in value.items()))
    return ("n", value)


def uniq(items: list[Any]) -> bool:
    """True when no two items are :func:`equal` (``uniqueItems``)."""
    try:
        return len({_key(item) for item in items}) == len(items)
    except TypeError:  # something unhashable: compare pairwise
        pass
    seen: list[Any] = []
    for item in items:
        if any(equal(item, other) for other in seen):
            return False
        seen.append(item)
    return True


Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "$schema",
        "$defs",
        "$comment",
        "$id",
        "default",
        "examples",
        "enumDescriptions",
        "markdownDescription",
        "deprecated",
    }
)
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, numbers.Number) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


class _Unsupported(Exception):
    """The schema uses something this compiler does not implement."""


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


class _Compiler:
    def __init__(self, documents: Mapping[str, Any]) -> None:
        self.documents = documents
        self.compiled: dict[tuple[str, str], Check] = {}

    def ref(self, ref: str, base: str) -> Check:
        target, _, fragment = ref.partition("#")
        name = target or base
        key = (name, fragment)
        if key not in self.compiled:
            if name not in self.documents or (fragment and not fragment.startswith("/")):
                raise _Unsupported(ref)
            node = self.documents[name]
            for part in (p for p in fragment.split("/") if p):
                if not isinstance(node, dict) or part not in node:
                    raise _Unsupported(ref)
                node = node[part]
            holder: list[Check] = []
            self.compiled[key] = lambda v: holder[0](v)  # recursion-safe placeholder
            holder.append(self.schema(node, name))
            self.compiled[key] = holder[0]
        return self.compiled[key]

    def schema(self, schema: Any, base: str) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            checks.append(self.keyword(keyword, value, schema, base))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(check(v) for check in checks)

    def keyword(self, keyword: str, value: Any, schema: Mapping[str, Any], base: str) -> Check:
        method = getattr(self, "kw_" + keyword.lstrip("$"), None)
        if method is None:
            raise _Unsupported(keyword)
        return method(value, schema, base)

    # --- keywords (jsonschema/_keywords.py semantics) ---------------------------------------------
    def kw_ref(self, value: Any, schema: Any, base: str) -> Check:
        return self.ref(value, base)

    def kw_type(self, value: Any, schema: Any, base: str) -> Check:
        names = value if isinstance(value, list) else [value]
        if any(n not in _TYPES for n in names):
            raise _Unsupported(f"type {value!r}")
        tests = [_TYPES[n] for n in names]
        return lambda v: any(t(v) for t in tests)

    def kw_const(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: bool(equal(v, value))

    def kw_enum(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: any(equal(each, v) for each in value)

    def kw_pattern(self, value: Any, schema: Any, base: str) -> Check:
        compiled = re.compile(value)
        return lambda v: not isinstance(v, str) or compiled.search(v) is not None

    def kw_minLength(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= value

    def kw_maxLength(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= value

    def kw_minimum(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not _is_number(v) or v >= value

    def kw_maximum(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not _is_number(v) or v <= value

    def kw_required(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not isinstance(v, dict) or all(name in v for name in value)

    def kw_minProperties(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) >= value

    def kw_maxProperties(self, value: Any, schema: Any, base: str) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) <= value

    def kw_properties(self, value: Any, schema: Any, base: str) -> Check:
        props = {name: self.schema(sub, base) for name, sub in value.items()}

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            return all(props[name](item) for name, item in v.items() if name in props)

        return check

    def kw_additionalProperties(self, value: Any, schema: Any, base: str) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = frozenset(schema.get("properties") or ())
        sub = self.schema(value, base)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            return all(sub(item) for name, item in v.items() if name not in known)

        return check

    def kw_propertyNames(self, value: Any, schema: Any, base: str) -> Check:
        sub = self.schema(value, base)
        return lambda v: not isinstance(v, dict) or all(sub(name) for name in v)

    def kw_items(self, value: Any, schema: Any, base: str) -> Check:
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        sub = self.schema(value, base)
        return lambda v: not isinstance(v, list) or all(sub(item) for item in v)

    def kw_uniqueItems(self, value: Any, schema: Any, base: str) -> Check:
        if not value:
            return lambda v: True
        return lambda v: not isinstance(v, list) or bool(uniq(v))

    def kw_oneOf(self, value: Any, schema: Any, base: str) -> Check:
        subs = [self.schema(sub, base) for sub in value]
        return lambda v: sum(1 for sub in subs if sub(v)) == 1

    def kw_anyOf(self, value: Any, schema: Any, base: str) -> Check:
        subs = [self.schema(sub, base) for sub in value]
        return lambda v: any(sub(v) for sub in subs)

    def kw_allOf(self, value: Any, schema: Any, base: str) -> Check:
        subs = [self.schema(sub, base) for sub in value]
        return lambda v: all(sub(v) for sub in subs)


def compile_schema(documents: Mapping[str, Any], name: str) -> Check | None:
    """The validity predicate of schema file ``name`` (refs resolved among ``documents``), or None."""
    try:
        return _Compiler(documents).ref(name, name)
    except (_Unsupported, re.error):
        return None
