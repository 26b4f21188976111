"""The route table (moto's ``urls`` role): method + path regex → handler, stats name, family, auth.

``auth``: which admin-token scopes a route needs (``am`` → ``fr:am:*``, ``idm`` → ``fr:idm:*``,
``env`` → both, ``any`` → any valid admin token, ``None`` → public). ``category`` feeds the stats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .errors import MethodNotAllowed, NotFound
from .handlers import am, control, idm, oauth
from .wire import AM, CONTROL, ENV, IDM, OAUTH


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Callable[..., Any]
    name: str
    family: str
    auth: str | None
    category: str = "api"


_AM = r"/am/json/realms/root/realms/(?P<realm>[^/]+)"
_AGENT = r"(?P<kind>OAuth2Client|AIAgent)"
_OAUTH = r"/am/oauth2/realms/root/realms/(?P<realm>[^/]+)"
_TYPE = r"/openidm/managed/(?P<type_name>[^/]+)"

_TABLE: list[tuple[str, str, Callable[..., Any], str, str, str | None, str]] = [
    # AM realm config
    ("GET", _AM + r"/realm-config/services/oauth-oidc", am.provider_get, "am/provider", AM, "am", "api"),
    ("PUT", _AM + r"/realm-config/services/oauth-oidc", am.provider_put, "am/provider", AM, "am", "api"),
    ("POST", _AM + r"/realm-config/services/oauth-oidc", am.provider_action, "am/provider", AM, "am", "api"),
    ("GET", _AM + r"/realm-config/agents", am.agents_cross_query, "am/agents", AM, "am", "api"),
    ("POST", _AM + r"/realm-config/agents", am.agents_root_action, "am/agents", AM, "am", "api"),
    ("GET", _AM + r"/realm-config/agents/" + _AGENT, am.agents_query, "am/agents/{kind}", AM, "am", "api"),
    ("POST", _AM + r"/realm-config/agents/" + _AGENT, am.agents_action, "am/agents/{kind}", AM, "am", "api"),
    (
        "GET",
        _AM + r"/realm-config/agents/" + _AGENT + r"/(?P<client_id>[^/]+)",
        am.agent_get,
        "am/agents/{kind}",
        AM,
        "am",
        "api",
    ),
    (
        "PUT",
        _AM + r"/realm-config/agents/" + _AGENT + r"/(?P<client_id>[^/]+)",
        am.agent_put,
        "am/agents/{kind}",
        AM,
        "am",
        "api",
    ),
    (
        "DELETE",
        _AM + r"/realm-config/agents/" + _AGENT + r"/(?P<client_id>[^/]+)",
        am.agent_delete,
        "am/agents/{kind}",
        AM,
        "am",
        "api",
    ),
    (
        "GET",
        _AM + r"/realm-config/agents/(?P<kind>[^/]+)",
        am.agents_other_type_query,
        "am/agents/{kind}",
        AM,
        "am",
        "api",
    ),
    ("GET", _AM + r"/scripts/(?P<script_id>[^/]+)", am.script_get, "am/scripts", AM, "am", "api"),
    ("PUT", _AM + r"/scripts/(?P<script_id>[^/]+)", am.script_put, "am/scripts", AM, "am", "api"),
    ("DELETE", _AM + r"/scripts/(?P<script_id>[^/]+)", am.script_delete, "am/scripts", AM, "am", "api"),
    (
        "GET|PUT|POST|DELETE|PATCH",
        r"/am/json/realms/root/realm-config(?P<rest>/.*)?",
        am.root_realm,
        "am/root",
        AM,
        "am",
        "api",
    ),
    ("GET", r"/am/json/serverinfo/(?P<info_id>[^/]+)", am.serverinfo, "am/serverinfo", AM, None, "api"),
    # tokens and the realm OAuth runtime
    ("POST", r"/am/oauth2/access_token", oauth.admin_token, "am/oauth2/access_token", OAUTH, None, "token"),
    ("POST", _OAUTH + r"/access_token", oauth.realm_token, "oauth/access_token", OAUTH, None, "token"),
    ("GET", _OAUTH + r"/tokeninfo", oauth.tokeninfo, "oauth/tokeninfo", OAUTH, None, "oauth"),
    ("POST", _OAUTH + r"/introspect", oauth.introspect, "oauth/introspect", OAUTH, None, "oauth"),
    ("GET", _OAUTH + r"/connect/jwk_uri", oauth.jwks, "oauth/jwks", OAUTH, None, "oauth"),
    (
        "GET",
        _OAUTH + r"/\.well-known/openid-configuration",
        oauth.openid_configuration,
        "oauth/openid-configuration",
        OAUTH,
        None,
        "oauth",
    ),
    # IDM
    ("GET", _TYPE, idm.query, "idm/managed/{type_name}", IDM, "idm", "api"),
    ("POST", _TYPE, idm.action, "idm/managed/{type_name}", IDM, "idm", "api"),
    ("GET", _TYPE + r"/(?P<oid>[^/]+)", idm.read, "idm/managed/{type_name}", IDM, "idm", "api"),
    ("PUT", _TYPE + r"/(?P<oid>[^/]+)", idm.replace, "idm/managed/{type_name}", IDM, "idm", "api"),
    ("PATCH", _TYPE + r"/(?P<oid>[^/]+)", idm.patch, "idm/managed/{type_name}", IDM, "idm", "api"),
    ("DELETE", _TYPE + r"/(?P<oid>[^/]+)", idm.delete, "idm/managed/{type_name}", IDM, "idm", "api"),
    (
        "GET",
        _TYPE + r"/(?P<oid>[^/]+)/(?P<prop>[^/]+)",
        idm.relationship,
        "idm/managed/{type_name}/{prop}",
        IDM,
        "idm",
        "api",
    ),
    ("GET", r"/openidm/schema/managed/(?P<type_name>[^/]+)", idm.schema, "idm/schema", IDM, "idm", "api"),
    ("GET", r"/feature", idm.features, "feature", IDM, "any", "api"),
    ("POST", r"/environment/aiagent", idm.enable_ai_agents, "environment/aiagent", ENV, "env", "api"),
    # control plane
    ("POST", r"/_emulator/reset", control.reset, "reset", CONTROL, None, "control"),
    ("GET", r"/_emulator/state", control.state, "state", CONTROL, None, "control"),
    ("POST", r"/_emulator/seed", control.seed, "seed", CONTROL, None, "control"),
    ("GET", r"/_emulator/faults", control.faults_get, "faults", CONTROL, None, "control"),
    ("PUT", r"/_emulator/faults", control.faults_put, "faults", CONTROL, None, "control"),
    ("DELETE", r"/_emulator/faults", control.faults_delete, "faults", CONTROL, None, "control"),
    ("GET", r"/_emulator/stats", control.stats_get, "stats", CONTROL, None, "control"),
    ("DELETE", r"/_emulator/stats", control.stats_delete, "stats", CONTROL, None, "control"),
    ("GET", r"/_emulator/config", control.config_get, "config", CONTROL, None, "control"),
    ("PATCH", r"/_emulator/config", control.config_patch, "config", CONTROL, None, "control"),
]

ROUTES = [Route(tuple(m.split("|")), re.compile("^" + p + "$"), h, n, f, a, c) for m, p, h, n, f, a, c in _TABLE]


def family_of(path: str) -> str:
    if path.startswith("/_emulator/"):
        return CONTROL
    if path.startswith("/am/oauth2"):
        return OAUTH
    if path.startswith("/am/"):
        return AM
    if path.startswith("/environment"):
        return ENV
    return IDM


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for ``method path`` and its (unquoted) parameters; NotFound / MethodNotAllowed."""
    lookup = "GET" if method == "HEAD" else method
    path_matched = False
    for route in ROUTES:
        found = route.pattern.match(path)
        if not found:
            continue
        path_matched = True
        if lookup in route.methods:
            return route, {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
    if path_matched:
        raise MethodNotAllowed()
    raise NotFound()


def stats_name(route: Route, params: dict[str, str]) -> str:
    """``am/agents/{kind}`` → ``am/agents/AIAgent``; IDM type names lose their realm prefix."""
    values = dict(params)
    if "type_name" in values:
        values["type_name"] = values["type_name"].partition("_")[2] or values["type_name"]
    return route.name.format(**{k: values.get(k, k) for k in re.findall(r"{(\w+)}", route.name)})
