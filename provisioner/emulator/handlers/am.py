"""Handlers for ``/am/json``: provider, OAuth2Client/AIAgent collections, agent types, serverinfo."""

from __future__ import annotations

from ..errors import BadRequest, NotAvailable, UnsupportedVersion
from ..wire import AM, Response
from . import Ctx, etag


def api_version(header: str | None) -> dict[str, str]:
    """``protocol=2.1,resource=2.0`` → ``{"protocol": "2.1", "resource": "2.0"}``."""
    parts: dict[str, str] = {}
    for item in (header or "").split(","):
        name, _, value = item.partition("=")
        if name.strip():
            parts[name.strip().lower()] = value.strip()
    return parts


def _check_version(ctx: Ctx, kind: str) -> None:
    if kind == "AIAgent" and ctx.backend.config.flag("am.aiagent.requireResource20"):
        resource = api_version(ctx.request.headers.get("accept-api-version")).get("resource")
        if resource not in ("2.0", "2"):
            raise UnsupportedVersion()


def _agent_prefix(realm: str, kind: str) -> str:
    return f"/am/json/realms/root/realms/{realm}/realm-config/agents/{kind}"


def provider_get(ctx: Ctx, realm: str) -> Response:
    doc = ctx.backend.am.provider(realm)
    return Response(200, doc, etag(doc["_rev"]), AM)


def provider_put(ctx: Ctx, realm: str) -> Response:
    doc = ctx.backend.am.put_provider(realm, ctx.request.json(), ctx.request.headers.get("if-match"))
    return Response(200, doc, etag(doc["_rev"]), AM)


def provider_action(ctx: Ctx, realm: str) -> Response:
    if ctx.query.get("_action") == "create":
        ctx.backend.am.create_provider(realm)
    raise BadRequest(f"Unknown action {ctx.query.get('_action')!r}")


def agents_query(ctx: Ctx, realm: str, kind: str) -> Response:
    _check_version(ctx, kind)
    return Response(200, ctx.backend.am.query(realm, kind, ctx.query), {}, AM)


def agents_action(ctx: Ctx, realm: str, kind: str) -> Response:
    _check_version(ctx, kind)
    if ctx.query.get("_action") == "template":
        return Response(200, ctx.backend.am.template(realm, kind), {}, AM)
    raise BadRequest(f"Unknown action {ctx.query.get('_action')!r}")


def agent_get(ctx: Ctx, realm: str, kind: str, client_id: str) -> Response:
    _check_version(ctx, kind)
    doc = ctx.backend.am.get(realm, kind, client_id)
    return Response(200, doc, etag(doc["_rev"]), AM)


def agent_put(ctx: Ctx, realm: str, kind: str, client_id: str) -> Response:
    _check_version(ctx, kind)
    headers = ctx.request.headers
    status, doc = ctx.backend.am.put(
        realm, kind, client_id, ctx.request.json(), headers.get("if-match"), headers.get("if-none-match")
    )
    out = etag(doc["_rev"])
    if status == 201:
        out["Location"] = ctx.url(client_id, prefix=_agent_prefix(realm, kind))
    return Response(status, doc, out, AM)


def agent_delete(ctx: Ctx, realm: str, kind: str, client_id: str) -> Response:
    _check_version(ctx, kind)
    doc = ctx.backend.am.delete(realm, kind, client_id)
    return Response(200, doc, etag(doc["_rev"]), AM)


def agents_other_type_query(ctx: Ctx, realm: str, kind: str) -> Response:
    """Any other agent type ``getAllTypes`` lists answers a (here always empty) list (R5)."""
    return Response(200, ctx.backend.am.query_other_type(realm, kind, ctx.query), {}, AM)


def agents_cross_query(ctx: Ctx, realm: str) -> Response:
    return Response(200, ctx.backend.am.query(realm, None, ctx.query), {}, AM)


def agents_root_action(ctx: Ctx, realm: str) -> Response:
    if ctx.query.get("_action") == "getAllTypes":
        return Response(200, ctx.backend.am.all_types(realm), {}, AM)
    raise BadRequest(f"Unknown action {ctx.query.get('_action')!r}")


def root_realm(ctx: Ctx, rest: str) -> Response:
    """Any ``realm-config`` call in the locked root realm (reference §9.1)."""
    raise NotAvailable()


def serverinfo(ctx: Ctx, info_id: str) -> Response:
    enabled = ctx.backend.ai_agents_enabled()
    body = {
        "_id": info_id,
        "_rev": "0",
        "domains": [],
        "protectedUserAttributes": ["telephoneNumber", "mail"],
        "cookieName": "emulator-session",
        "secureCookie": False,
        "forgotPassword": "false",
        "forgotUsername": "false",
        "kbaEnabled": "false",
        "selfRegistration": "false",
        "lang": "en-US",
        "successfulUserRegistrationDestination": "default",
        "socialImplementations": [],
        "referralsEnabled": "false",
        "zeroPageLogin": {"enabled": False, "refererWhitelist": [], "allowedWithoutReferer": True},
        "realm": "/",
        "xuiUserSessionValidationEnabled": True,
        "fileBasedConfiguration": True,
        "userIdAttributes": [],
        "nodeDesignerXuiEnabled": True,
        "oauth2AIAgentsEnabled": enabled,
    }
    return Response(200, body, {}, AM)


def _script_location(ctx: Ctx, realm: str, script_id: str) -> str:
    return ctx.url(script_id, prefix=f"/am/json/realms/root/realms/{realm}/scripts")


def script_get(ctx: Ctx, realm: str, script_id: str) -> Response:
    return Response(200, ctx.backend.scripts.get(realm, script_id), {}, AM)


def script_put(ctx: Ctx, realm: str, script_id: str) -> Response:
    actor = str((ctx.claims or {}).get("sub") or "unknown")
    status, doc = ctx.backend.scripts.put(realm, script_id, ctx.request.json(), actor)
    headers = {"Location": _script_location(ctx, realm, script_id)} if status == 201 else {}
    return Response(status, doc, headers, AM)


def script_delete(ctx: Ctx, realm: str, script_id: str) -> Response:
    return Response(200, ctx.backend.scripts.delete(realm, script_id), {}, AM)
