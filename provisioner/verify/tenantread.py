"""Read what verify needs from the tenant's admin API: an existing application's AM client.

Only for applications the manifests do not fully describe (``existing: true``, or a privilege on an
application the stack does not declare): their scopes decide what an empty ``permissions`` means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from provisioner.client.wrapping import unwrap
from provisioner.errors import ProvisionerError
from provisioner.verify.cases import AUDIENCE, DEFAULT_AUTH_METHOD, App, am_kinds


def _strings(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v not in (None, ""))


def app_from_client(app: App, body: Mapping[str, Any]) -> App:
    """Fill an :class:`App` from an application's AM client document in either read shape (pure)."""
    body = unwrap(body)
    core = body.get("coreOAuth2ClientConfig") or {}
    advanced = body.get("advancedOAuth2ClientConfig") or {}
    return replace(
        app,
        scopes=_strings(core.get("scopes")),
        default_scopes=_strings(core.get("defaultScopes")),
        auth_method=str(advanced.get("tokenEndpointAuthMethod") or DEFAULT_AUTH_METHOD),
        grant_types=_strings(advanced.get("grantTypes")),
    )


def read_application(admin: Any, realm: str, app: App) -> tuple[App, str]:
    """(app with its tenant scopes, "") or (app unchanged, why it could not be read)."""
    if admin is None:
        return app, (
            f"application {app.client_id} is not described by the manifests and verify has no "
            f"admin access to read it from the tenant"
        )
    for kind in am_kinds(AUDIENCE):
        try:
            found = admin.am(realm).get(kind, app.client_id)
        except ProvisionerError as exc:
            return app, f"cannot read application {app.client_id} from the tenant: {exc}"
        if found is not None:
            return app_from_client(app, found[0]), ""
    return app, f"cannot read application {app.client_id} from the tenant: it does not exist"
