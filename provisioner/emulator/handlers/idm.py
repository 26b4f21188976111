"""Handlers for ``/openidm`` (managed objects, relationship collections, schemas), ``/feature`` and
``/environment/aiagent``."""

from __future__ import annotations

import base64
import hashlib
import json

from ..errors import BadRequest
from ..wire import ENV, IDM, Response
from . import Ctx, etag


def _location(ctx: Ctx, type_name: str, oid: str) -> str:
    return ctx.url(oid, prefix=f"/openidm/managed/{type_name}")


def query(ctx: Ctx, type_name: str) -> Response:
    return Response(200, ctx.backend.idm.query(type_name, ctx.query), {}, IDM)


def action(ctx: Ctx, type_name: str) -> Response:
    if ctx.query.get("_action") != "create":
        raise BadRequest(f"Unknown action {ctx.query.get('_action')!r}")
    doc = ctx.backend.idm.create(type_name, ctx.request.json(), None, ctx.query.get("_fields"))
    return Response(201, doc, {**etag(doc["_rev"]), "Location": _location(ctx, type_name, doc["_id"])}, IDM)


def read(ctx: Ctx, type_name: str, oid: str) -> Response:
    doc = ctx.backend.idm.get(type_name, oid, ctx.query.get("_fields"))
    return Response(200, doc, etag(doc["_rev"]), IDM)


def replace(ctx: Ctx, type_name: str, oid: str) -> Response:
    headers = ctx.request.headers
    status, doc = ctx.backend.idm.put(
        type_name,
        oid,
        ctx.request.json(),
        headers.get("if-match"),
        headers.get("if-none-match"),
        ctx.query.get("_fields"),
    )
    out = etag(doc["_rev"])
    if status == 201:
        out["Location"] = _location(ctx, type_name, oid)
    return Response(status, doc, out, IDM)


def patch(ctx: Ctx, type_name: str, oid: str) -> Response:
    doc, changed = ctx.backend.idm.patch(
        type_name, oid, ctx.request.json(), ctx.request.headers.get("if-match"), ctx.query.get("_fields")
    )
    out = etag(doc["_rev"])
    if not changed:
        out["x-not-modified"] = "true"  # W5
    return Response(200, doc, out, IDM)


def delete(ctx: Ctx, type_name: str, oid: str) -> Response:
    doc = ctx.backend.idm.delete(type_name, oid, ctx.request.headers.get("if-match"), ctx.query.get("_fields"))
    return Response(200, doc, {}, IDM)


def relationship(ctx: Ctx, type_name: str, oid: str, prop: str) -> Response:
    return Response(200, ctx.backend.idm.relationship_query(type_name, oid, prop, ctx.query), {}, IDM)


def schema(ctx: Ctx, type_name: str) -> Response:
    from ..backend.idm_types import schema as build

    realm, kind = ctx.backend.idm.resolve(type_name)
    return Response(200, build(realm, kind), {}, IDM)


def features(ctx: Ctx) -> Response:
    """``GET /feature?_queryFilter=true`` (W14, §10)."""
    enabled = ctx.backend.ai_agents_enabled()
    items = [
        {"_id": "service-accounts", "installedVersion": "1", "availableVersions": ["1"]},
        {"_id": "aiagent", "installedVersion": "1" if enabled else None, "availableVersions": ["1"]},
    ]
    body = {"result": items}  # R6: no paging keys
    return Response(200, body, {"ETag": weak_etag(body)}, IDM)


def weak_etag(body: object) -> str:
    """A weak validator of the serialised body (R6: ``W/"<length hex>-<hash>"``, as the tenant's)."""
    raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
    digest = base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii").rstrip("=")
    return f'W/"{len(raw):x}-{digest}"'


def enable_ai_agents(ctx: Ctx) -> Response:
    """``POST /environment/aiagent?_action=enable``: one-way, idempotent, everything on at once."""
    if ctx.query.get("_action") != "enable":
        raise BadRequest(f"Unknown action {ctx.query.get('_action')!r}")
    ctx.backend.set_ai_agents(True)
    return Response(200, {}, {}, ENV)
