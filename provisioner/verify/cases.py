"""What to verify, read from the stack: agents, their privileges, applications and test users (pure).

Secret *references* are kept as :class:`~provisioner.manifest.model.SecretRef`; values are resolved
only by the runner, at the moment of use, through the same ``Secrets`` the manifests were loaded with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.grants import CLIENT_CREDENTIALS, TOKEN_EXCHANGE, canonical
from provisioner.kinds import REGISTRY

#: The parts a kind plays in verify (``KindSpec.verify``): the flows run as an agent; an audience is a
#: client the agents exchange into.
AGENT = "agent"
AUDIENCE = "audience"
DEFAULT_AUTH_METHOD = "client_secret_basic"
SYNTHETIC_SCOPE = "provisioner-verify-unpermitted"
SYNTHETIC_CLIENT = "provisioner-verify-no-privilege"


def declared(stack: Any, role: str) -> tuple[Any, ...]:
    """The stack's resources of the kinds that play ``role`` in verify, in load order."""
    kinds = {spec.name for spec in REGISTRY if spec.verify == role}
    return tuple(r for r in stack.resources if r.kind in kinds)


def am_kinds(role: str) -> tuple[str, ...]:
    """The AM collections holding the clients of the kinds that play ``role``."""
    return tuple(spec.am_kind for spec in REGISTRY if spec.verify == role and spec.am_kind)


@dataclass(frozen=True)
class App:
    """An application as verify needs it. ``scopes`` is None when unknown (existing, not read yet)."""

    client_id: str
    scopes: tuple[str, ...] | None
    default_scopes: tuple[str, ...] = ()
    secret_ref: Any = None
    auth_method: str = DEFAULT_AUTH_METHOD
    grant_types: tuple[str, ...] = ()
    existing: bool = False
    declared: bool = True


@dataclass(frozen=True)
class Privilege:
    """One ``spec.applications[]`` entry: the agent may act towards ``application``."""

    application: str
    permissions: tuple[str, ...]
    subjects: tuple[str, ...] = ()
    subject_groups: tuple[str, ...] = ()
    existing: bool = False

    @property
    def on_behalf_of(self) -> bool:
        """Subjects or subject groups make this an on-behalf-of privilege."""
        return bool(self.subjects or self.subject_groups)


@dataclass(frozen=True)
class Agent:
    """An agent and its privileges, as declared."""

    client_id: str
    realm: str
    secret_ref: Any
    auth_method: str
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    privileges: tuple[Privilege, ...] = field(default_factory=tuple)
    kind: str = ""

    @property
    def autonomous(self) -> bool:
        """The agent can get its own token (client credentials), so the autonomous flow applies."""
        return CLIENT_CREDENTIALS in self.grant_types

    @property
    def exchanges(self) -> bool:
        return TOKEN_EXCHANGE in self.grant_types


@dataclass(frozen=True)
class VerifyUser:
    """``verify.testUsers[]`` of the environment: a user name and a reference to the password."""

    user_name: str
    password_ref: Any


def _strings(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v not in (None, ""))


def _grants(value: Any) -> tuple[str, ...]:
    return tuple(canonical(g) or g for g in _strings(value))


def _user_names(entries: Any) -> tuple[str, ...]:
    names: list[str] = []
    for entry in entries or ():
        if isinstance(entry, Mapping):
            name = entry.get("userName") or entry.get("name") or entry.get("_id")
            if name:
                names.append(str(name))
        elif entry:
            names.append(str(entry))
    return tuple(names)


def application_of(resource: Any) -> App:
    """An :class:`App` from the resource of an audience kind (an application)."""
    spec: Mapping[str, Any] = resource.spec
    existing = bool(spec.get("existing"))
    scopes = _strings(spec["scopes"]) if "scopes" in spec else (None if existing else ())
    # The create default of the template when the manifest leaves the method out (kinds/application).
    default_method = "none" if spec.get("template") == "native" else DEFAULT_AUTH_METHOD
    return App(
        client_id=resource.name,
        scopes=scopes,
        default_scopes=_strings(spec.get("defaultScopes")),
        secret_ref=spec.get("clientSecret"),
        auth_method=str(spec.get("tokenEndpointAuthMethod") or default_method),
        grant_types=_grants(spec.get("grantTypes")),
        existing=existing,
    )


def agent_of(resource: Any, realm: str | None = None) -> Agent:
    """An :class:`Agent` from the resource of an agent kind (``realm`` overrides the resource's)."""
    spec: Mapping[str, Any] = resource.spec
    privileges = []
    for entry in spec.get("applications") or ():
        if not isinstance(entry, Mapping) or not entry.get("application"):
            continue
        privileges.append(
            Privilege(
                application=str(entry["application"]),
                permissions=_strings(entry.get("permissions")),
                subjects=_user_names(entry.get("subjects")),
                subject_groups=_strings(entry.get("subjectGroups")),
                existing=bool(entry.get("existing")),
            )
        )
    return Agent(
        client_id=resource.name,
        realm=realm or resource.realm,
        secret_ref=spec.get("clientSecret"),
        auth_method=str(spec.get("tokenEndpointAuthMethod") or DEFAULT_AUTH_METHOD),
        scopes=_strings(spec.get("scopes")),
        grant_types=_grants(spec.get("grantTypes")),
        privileges=tuple(privileges),
        kind=resource.kind,
    )


def test_users(stack: Any) -> tuple[VerifyUser, ...]:
    """The environment's ``verify.testUsers`` (empty without an environment)."""
    env = getattr(stack, "environment", None)
    verify = getattr(env, "verify", None) or {}
    users = []
    for entry in verify.get("testUsers") or ():
        if isinstance(entry, Mapping) and entry.get("userName"):
            users.append(VerifyUser(str(entry["userName"]), entry.get("password")))
    return tuple(users)


def user_for(privilege: Privilege, users: tuple[VerifyUser, ...]) -> VerifyUser | None:
    """The test user to try for an on-behalf-of privilege.

    A user named in ``subjects`` first; otherwise, when the privilege has subject groups, the first
    test user (group membership lives in the tenant, not in the manifests); otherwise none.
    """
    for user in users:
        if user.user_name in privilege.subjects:
            return user
    if privilege.subject_groups and users:
        return users[0]
    return None


def permitted_scopes(privilege: Privilege, app: App | None) -> tuple[str, ...] | None:
    """The privilege's permissions, or every scope of the application when they are empty (§7.1)."""
    if privilege.permissions:
        return privilege.permissions
    if app is None or app.scopes is None:
        return None
    return app.scopes


def unpermitted_scope(privilege: Privilege, app: App | None) -> str:
    """An application scope the privilege does not permit, else the synthetic one."""
    if app is not None and app.scopes:
        for scope in app.scopes:
            if scope not in privilege.permissions and privilege.permissions:
                return scope
    return SYNTHETIC_SCOPE


def unprivileged_application(agent: Agent, apps: Mapping[str, App]) -> str:
    """A declared application the agent holds no privilege on, else a synthetic client id."""
    held = {p.application for p in agent.privileges}
    for client_id in sorted(apps):
        if client_id not in held and apps[client_id].declared:
            return client_id
    return SYNTHETIC_CLIENT
