"""Response-shape checks: a 2xx answer that is not what the API documents is an error, never data.

A truncated or non-JSON 200 (a proxy's HTML page, a connection cut mid-body) or a list answer
without a ``result`` array would otherwise be read as an empty tenant or an empty object, and a plan
or a read-modify-write built on it would be wrong. Every check names the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.client.errors import MalformedResponse, request_label
from provisioner.client.response import Response


def _describe(body: Any) -> str:
    if body is None:
        return "an empty body"
    if isinstance(body, str):
        return "a body that is not JSON (truncated, or not from the API)"
    if isinstance(body, list):
        return "a JSON array"
    if isinstance(body, Mapping):
        return "a JSON object"
    return f"a JSON {type(body).__name__}"


def _fail(method: str, path: str, response: Response, what: str, expected: str) -> MalformedResponse:
    return MalformedResponse(
        f"{request_label(method, path)}: the tenant answered {response.status} with {what} "
        f"where {expected} was expected; not using it as data",
        status=response.status,
        method=method.upper(),
        path=path,
    )


def json_object(method: str, path: str, response: Response) -> dict[str, Any]:
    """The body as a JSON object, or :class:`MalformedResponse`."""
    body = response.body
    if not isinstance(body, Mapping):
        raise _fail(method, path, response, _describe(body), "a JSON object")
    return dict(body)


def optional_object(method: str, path: str, response: Response) -> dict[str, Any]:
    """A JSON object, or ``{}`` for an empty body (writes whose echo is optional)."""
    if response.body is None or response.body == "":
        return {}
    return json_object(method, path, response)


def result_list(method: str, path: str, response: Response) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(items, envelope)`` of a query answer: an object whose ``result`` is an array of objects."""
    body = json_object(method, path, response)
    items = body.get("result")
    if not isinstance(items, list):
        what = "no 'result' array" if "result" not in body else f"'result': {_describe(items)}"
        if items is None and "result" in body:
            what = "'result': null"
        raise _fail(method, path, response, f"a list answer with {what}", "a 'result' array")
    if not set(map(type, items)) <= {dict}:  # decoded JSON: every object is a dict (checked in C)
        bad = next(i for i, item in enumerate(items) if type(item) is not dict)
        raise _fail(method, path, response, f"result[{bad}] that is not an object", "an array of objects")
    return list(items), body
