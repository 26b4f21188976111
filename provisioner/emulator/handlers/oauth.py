"""Token endpoints: the admin JWT-bearer grant, and the realm OAuth runtime (``oauth/service.py``)."""

from __future__ import annotations

from typing import Any

from ..wire import OAUTH, Response
from . import Ctx

ADMIN_TOKEN_PATH = "/am/oauth2/access_token"


def admin_token(ctx: Ctx) -> Response:
    """``POST /am/oauth2/access_token`` (no realm): the service-account grant (reference §2.1)."""
    audiences = {ctx.request.base_url + ADMIN_TOKEN_PATH}
    host = ctx.request.headers.get("host")
    if host:
        audiences.add(f"http://{host}{ADMIN_TOKEN_PATH}")
    for url in list(audiences):  # "with or without :443" for a URL without a port
        scheme, _, rest = url.partition("://")
        hostpart, _, path = rest.partition("/")
        if ":" not in hostpart:
            audiences.add(f"{scheme}://{hostpart}:443/{path}")
    issuer = ctx.request.base_url + "/am/oauth2"
    body = ctx.backend.auth.issue(ctx.request.form(), audiences, issuer)
    return Response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"}, OAUTH)


def _service(ctx: Ctx) -> Any:
    return ctx.app.oauth_service()


def _wrap(result: tuple[int, dict[str, Any], dict[str, str]]) -> Response:
    status, body, headers = result
    return Response(status, body, dict(headers or {}), OAUTH)


def realm_token(ctx: Ctx, realm: str) -> Response:
    return _wrap(_service(ctx).token(realm, ctx.request.form(), ctx.request.headers, ctx.request.base_url))


def tokeninfo(ctx: Ctx, realm: str) -> Response:
    return _wrap(_service(ctx).tokeninfo(realm, ctx.query, ctx.request.base_url, ctx.request.headers))


def introspect(ctx: Ctx, realm: str) -> Response:
    return _wrap(_service(ctx).introspect(realm, ctx.request.form(), ctx.request.headers, ctx.request.base_url))


def jwks(ctx: Ctx, realm: str) -> Response:
    return _wrap(_service(ctx).jwks(realm))


def openid_configuration(ctx: Ctx, realm: str) -> Response:
    return _wrap(_service(ctx).openid_configuration(realm, ctx.request.base_url))
