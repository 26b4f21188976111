"""IDM PATCH operations (``replace``, ``add`` with ``/-`` append, ``remove`` by field or by value,
``increment``) applied to a plain JSON document."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest
from .am_forms import jcopy


def _ref_of(value: Any) -> str | None:
    if isinstance(value, dict):
        if isinstance(value.get("_ref"), str):
            return value["_ref"]
        coll, rid = value.get("_refResourceCollection"), value.get("_refResourceId")
        if coll and rid:
            return f"{coll}/{rid}"
    return None


def _same(a: Any, b: Any) -> bool:
    """Equality for remove-by-value: relationship refs compare by ``_ref`` only."""
    ref_a, ref_b = _ref_of(a), _ref_of(b)
    if ref_a is not None or ref_b is not None:
        return ref_a == ref_b
    return a == b


def _parent(doc: dict[str, Any], path: list[str], create: bool) -> Any:
    node: Any = doc
    for name in path[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(name)]
            except (ValueError, IndexError):
                raise BadRequest(f"Invalid patch path element {name!r}") from None
            continue
        if not isinstance(node, dict):
            raise BadRequest(f"Invalid patch path element {name!r}")
        if name not in node or node[name] is None:
            if not create:
                return None
            node[name] = {}
        node = node[name]
    return node


def _set(node: Any, name: str, value: Any, insert: bool) -> None:
    if isinstance(node, list):
        if name == "-":
            node.append(value)
            return
        try:
            index = int(name)
        except ValueError:
            raise BadRequest(f"Invalid patch path element {name!r}") from None
        if insert:
            node.insert(index, value)
        elif 0 <= index < len(node):
            node[index] = value
        else:
            raise BadRequest(f"Invalid patch path element {name!r}")
        return
    if not isinstance(node, dict):
        raise BadRequest(f"Invalid patch path element {name!r}")
    node[name] = value


def apply_patch(doc: dict[str, Any], operations: Any) -> dict[str, Any]:
    """A patched deep copy of ``doc``; ``BadRequest`` for malformed operations."""
    if not isinstance(operations, list):
        raise BadRequest("The request could not be processed because the patch is not an array")
    result = jcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("field"), str):
            raise BadRequest("Invalid patch operation")
        op = operation.get("operation")
        path = [p for p in operation["field"].split("/") if p != ""]
        if not path:
            raise BadRequest("Patching the whole object is not supported")
        value = jcopy(operation.get("value"))
        if op == "replace":
            _set(_parent(result, path, True), path[-1], value, insert=False)
        elif op == "add":
            if path[-1] == "-":  # append to the array at path[:-1]
                if len(path) < 2:
                    raise BadRequest("Invalid patch path")
                holder = _parent(result, path[:-1], True)
                target = holder.get(path[-2]) if isinstance(holder, dict) else None
                if target is None and isinstance(holder, dict):
                    target = holder[path[-2]] = []
                if not isinstance(target, list):
                    raise BadRequest("Invalid patch path: not an array")
                target.append(value)
            else:
                parent = _parent(result, path, True)
                _set(parent, path[-1], value, insert=isinstance(parent, list))
        elif op == "remove":
            parent = _parent(result, path, False)
            if parent is None:
                continue
            if isinstance(parent, dict):
                current = parent.get(path[-1])
                if "value" in operation and isinstance(current, list):
                    parent[path[-1]] = [item for item in current if not _same(item, value)]
                elif "value" not in operation or _same(current, value):
                    parent.pop(path[-1], None)
            elif isinstance(parent, list):
                try:
                    parent.pop(int(path[-1]))
                except (ValueError, IndexError):
                    raise BadRequest("Invalid patch path") from None
        elif op == "increment":
            parent = _parent(result, path, True)
            current = parent.get(path[-1], 0) if isinstance(parent, dict) else None
            if not isinstance(current, (int, float)) or not isinstance(value, (int, float)):
                raise BadRequest("increment needs numbers")
            parent[path[-1]] = current + value
        else:
            raise BadRequest(f"Unsupported patch operation {op!r}")
    return result
