"""Reverse mapping: observed tenant documents → minimal manifest ``spec`` values (pure).

A field is written only when the tenant's value differs from what a create *without* that field
would produce (the §4.7 client defaults, the application template's defaults, the IDM record
defaults), so an exported manifest is as short as it can be and re-creates the same object in an
empty environment. Every value written is checked with the plan's own comparison
(:func:`provisioner.kinds.fields.differing_targets`): a value the plan would not see as equal (for
example a display name that differs between the IDM record and the AM client) is left out, with a
note, instead of producing a change on the first plan.

Values come out in manifest vocabulary: grant types as short aliases, users by ``userName``, groups
by id, ``clientName``/``descriptions`` as one string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.client.wrapping import unwrap
from provisioner.grants import alias
from provisioner.kinds import aiagent, application, privilege
from provisioner.kinds.common import get_path, scalar, set_path
from provisioner.kinds.fields import Field, Target, canonical, differing_targets
from provisioner.kinds.oauth2client import client_defaults, secret_marker
from provisioner.kinds.provider import AUDIENCE_PATH, current_grants
from provisioner.kinds.snapshot import RealmSnapshot

#: The documented AIC default realm grant types (reference §3.3): everything but token exchange.
DEFAULT_PROVIDER_GRANTS: tuple[str, ...] = (
    "authorization_code",
    "implicit",
    "password",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:uma-ticket",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:openid:params:grant-type:ciba",
)

#: Spec key order: the kinds' field tables, which follow their JSON Schemas (checked by a test); an
#: agent's privileges come last, under ``applications``.
APPLICATION_ORDER = application.SPEC.field_order
AGENT_ORDER = aiagent.SPEC.field_order + ("applications",)
PRIVILEGE_ORDER = ("application", "existing", "description", "subjects", "subjectGroups", "permissions")
OVERRIDE_ORDER = ("enabled", "clientSideTokens", "acceptAudienceInTokenExchange")

#: Auth methods that authenticate with the client secret (a client using one gets a ``clientSecret``).
SECRET_AUTH_METHODS = (None, "client_secret_basic", "client_secret_post")

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_ABSENT = object()


@dataclass(frozen=True)
class Note:
    """Something the export could not say in a manifest, or chose to leave out, with the reason."""

    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.address}: {self.message}" if self.address else self.message


@dataclass
class Reverse:
    """A spec under construction and the notes collected on the way."""

    address: str
    spec: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def note(self, message: str) -> None:
        self.notes.append(Note(self.address, message))


def secret_env_name(client_id: str) -> str:
    """``bot-traffic-analyzer-agent`` → ``BOT_TRAFFIC_ANALYZER_AGENT_SECRET`` (a valid variable name)."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", client_id).strip("_").upper() or "CLIENT"
    if base[0].isdigit():
        base = "CLIENT_" + base
    return f"{base}_SECRET"


# -- defaults ----------------------------------------------------------------------------------------


def application_defaults(key: str, template: str) -> dict[str, Any]:
    """What creating application ``key`` with only ``template`` declared leaves in the tenant."""
    am = client_defaults()
    for dotted, value in application.TEMPLATES[template].items():
        set_path(am, tuple(dotted.split(".")), value)
    return {"am": am, "idm": {"name": key, "templateName": template, "owners": []}}


def agent_defaults(key: str) -> dict[str, Any]:
    """What creating agent ``key`` with nothing declared leaves in the tenant."""
    return {"am": client_defaults(), "idm": {"name": key, "owners": []}}


# -- one field ----------------------------------------------------------------------------------------


def _raw(docs: Mapping[str, Any], target: Target) -> Any:
    return get_path(docs.get(target.remote), target.path)


def _differs_from_default(fld: Field, observed: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    return any(canonical(t, _raw(observed, t)) != canonical(t, _raw(defaults, t)) for t in fld.targets)


def _desired_form(target: Target, canon: Any) -> Any:
    """The value the loader would hand the planner (AM grant values, user ids) for a canonical value."""
    if target.compare == "one":
        return canon[0] if len(canon) == 1 else _ABSENT
    if target.compare == "scalar" and canon is None:
        return _ABSENT
    return canon


def field_value(
    rev: Reverse,
    fld: Field,
    observed: Mapping[str, Any],
    defaults: Mapping[str, Any],
    users: Mapping[str, str],
    label: str | None = None,
) -> Any:
    """The desired-form value of ``fld`` to export, or ``_ABSENT`` (default, or not expressible)."""
    if not _differs_from_default(fld, observed, defaults):
        return _ABSENT
    label = label or fld.name
    primary = fld.targets[0]
    canon = canonical(primary, _raw(observed, primary))
    value = _desired_form(primary, canon)
    if value is _ABSENT:
        rev.note(
            f"{label} is {_show(_raw(observed, primary))} in the tenant, which a manifest cannot "
            f"express; left out (not managed)"
        )
        return _ABSENT
    if differing_targets(fld, value, observed):
        places = ", ".join(
            f"{t.remote.upper()} {t.dotted} = {_show(canonical(t, _raw(observed, t)))}" for t in fld.targets
        )
        rev.note(
            f"{label} differs between the tenant's objects ({places}); left out (not managed) so "
            f"that plan shows no change; declare it to make them agree"
        )
        return _ABSENT
    if primary.compare == "refs" and primary.collection.endswith("_user"):
        missing = [i for i in value if i not in users]
        if missing:
            rev.note(f"{label}: user id(s) {', '.join(sorted(missing))} have no user; left out (not managed)")
            return _ABSENT
    return value


def _show(value: Any) -> str:
    return "unset" if value is None or value == [] else repr(value)


def _manifest_form(name: str, value: Any, users: Mapping[str, str]) -> Any:
    """A desired-form value in manifest vocabulary."""
    if name == "grantTypes":
        return sorted(alias(str(g)) for g in value)
    if name in ("owners", "subjects"):
        return [{"userName": n} for n in sorted(users[i] for i in value)]
    if isinstance(value, list):
        return sorted(value)
    return value


# -- kinds --------------------------------------------------------------------------------------------


def _client_spec(
    rev: Reverse,
    fields: tuple[Field, ...],
    observed: Mapping[str, Any],
    defaults: Mapping[str, Any],
    users: Mapping[str, str],
    allowed: tuple[str, ...],
) -> None:
    for fld in fields:
        if fld.sensitive or fld.name == "template":
            continue
        top = fld.name.split(".")[0]
        value = field_value(rev, fld, observed, defaults, users)
        if value is _ABSENT:
            continue
        if top not in allowed:
            rev.note(f"{fld.name} is {_show(value)} in the tenant, a field AIAgent manifests do not have; left out")
            continue
        if "." in fld.name:
            rev.spec.setdefault(top, {})[fld.name.split(".", 1)[1]] = value
        else:
            rev.spec[fld.name] = _manifest_form(fld.name, value, users)


def is_confidential(am: Mapping[str, Any] | None) -> bool:
    """A client that authenticates with a secret: Confidential, and a secret-based auth method."""
    doc = unwrap(am) if am else {}
    kind = scalar(get_path(doc, ("coreOAuth2ClientConfig", "clientType")))
    method = scalar(get_path(doc, ("advancedOAuth2ClientConfig", "tokenEndpointAuthMethod")))
    return kind in (None, "Confidential") and method in SECRET_AUTH_METHODS


def _secret(rev: Reverse, am: Mapping[str, Any], key: str) -> str | None:
    if not is_confidential(am):
        return None
    name = secret_env_name(key)
    rev.spec["clientSecret"] = {"fromEnv": name}
    return name


def has_secret_marker(am: Mapping[str, Any] | None) -> bool:
    """True when the client carries the core's salted-hash secret marker (set by a provisioner apply)."""
    return secret_marker(am) is not None


def application_spec(
    snap: RealmSnapshot, key: str, users: Mapping[str, str], address: str
) -> tuple[Reverse, str | None]:
    """The minimal Application spec for client ``key`` and its secret variable (None: public client)."""
    rev = Reverse(address)
    am, record = snap.clients[key], snap.apps[key]
    template = str(record.get("templateName") or "service")
    if template not in application.TEMPLATES:
        rev.note(
            f"template {template!r} is not one of {', '.join(application.TEMPLATES)}; left out, and the other "
            f"fields are compared with the service template's defaults"
        )
        template = "service"
    elif template != "service":
        rev.spec["template"] = template
    observed = {"am": unwrap(am), "idm": record}
    _client_spec(rev, application.FIELDS, observed, application_defaults(key, template), users, APPLICATION_ORDER)
    name = _secret(rev, am, key)
    rev.spec = {k: rev.spec[k] for k in APPLICATION_ORDER if k in rev.spec}
    return rev, name


def agent_spec(
    snap: RealmSnapshot, key: str, users: Mapping[str, str], exported_apps: set[str], address: str
) -> tuple[Reverse, str | None]:
    """The minimal AIAgent spec for agent ``key`` (with its privileges) and its secret variable."""
    rev = Reverse(address)
    am = snap.agents[key]
    identity = snap.identity_of(key)
    if identity is None:
        rev.note("the agent has no IDM identity; displayName, description and owners are left out")
    observed = {"am": unwrap(am), "idm": identity or {}}
    defaults = agent_defaults(key)
    if identity is None:
        defaults["idm"] = {}
    _client_spec(rev, aiagent.FIELDS, observed, defaults, users, AGENT_ORDER)
    if "providerOverrides" in rev.spec:
        overrides = rev.spec["providerOverrides"]
        rev.spec["providerOverrides"] = {k: overrides[k] for k in OVERRIDE_ORDER if k in overrides}
    name = _secret(rev, am, key)
    entries = privilege_entries(rev, snap, key, identity, users, exported_apps)
    if entries:
        rev.spec["applications"] = entries
    rev.spec = {k: rev.spec[k] for k in AGENT_ORDER if k in rev.spec}
    return rev, name


def privilege_entries(
    rev: Reverse,
    snap: RealmSnapshot,
    key: str,
    identity: Mapping[str, Any] | None,
    users: Mapping[str, str],
    exported_apps: set[str],
) -> list[dict[str, Any]]:
    """The agent's ``applications:`` entries, one per application, sorted by application client id.

    The plan owns an agent's whole privilege set, so a privilege that cannot be listed is called out:
    apply would delete it.
    """
    fields = {f.name: f.targets[0] for f in privilege.FIELDS}
    by_app: dict[str, list[Mapping[str, Any]]] = {}
    for priv in snap.privileges_of(str(identity["_id"]) if identity else None, key):
        app = snap.privilege_app(priv)
        if not app or not CLIENT_ID.match(app):
            rev.note(
                f"privilege {priv.get('_id')} points at no application a manifest can name "
                f"({app!r}); not exported, so apply would delete it"
            )
            continue
        by_app.setdefault(app, []).append(priv)
    entries = []
    for app, privs in sorted(by_app.items()):
        if len(privs) > 1:
            rev.note(
                f"{len(privs)} privileges for application {app!r}; exported the first "
                f"({privs[0].get('_id')}), apply would delete the others"
            )
        priv = privs[0]
        entry: dict[str, Any] = {"application": app}
        if app not in exported_apps:
            entry["existing"] = True
        description = scalar(priv.get("description"))
        if description is not None:
            entry["description"] = description
        subjects = canonical(fields["subjects"], priv.get("subjects"))
        missing = [i for i in subjects if i not in users]
        if missing:
            rev.note(
                f"applications[{app}].subjects: user id(s) {', '.join(missing)} have no user; apply would "
                f"remove them from the privilege"
            )
        if any(i in users for i in subjects):
            entry["subjects"] = _manifest_form("subjects", [i for i in subjects if i in users], users)
        groups = canonical(fields["subjectGroups"], priv.get("subjectGroups"))
        if groups:
            entry["subjectGroups"] = groups
        permissions = canonical(fields["permissions"], priv.get("permissions"))
        if permissions:
            entry["permissions"] = permissions
        entries.append({k: entry[k] for k in PRIVILEGE_ORDER if k in entry})
    return entries


def provider_spec(snap: RealmSnapshot, mode: str, address: str) -> Reverse:
    """The OAuth2Provider spec: grant types beyond the documented defaults (``ensure``) or all (``exact``)."""
    rev = Reverse(address)
    doc = snap.provider or {}
    grants = current_grants(doc)
    if mode == "exact":
        rev.spec["grantTypes"] = {"exact": sorted({alias(g) for g in grants})}
    else:
        extra = sorted({alias(g) for g in grants if g not in DEFAULT_PROVIDER_GRANTS})
        if extra:
            rev.spec["grantTypes"] = {"ensure": extra}
        removed = sorted(alias(g) for g in DEFAULT_PROVIDER_GRANTS if g not in grants)
        if removed:
            rev.note(
                f"the realm does not allow {', '.join(removed)} (in the AIC default list); 'ensure' cannot "
                f"say that: use --provider-grant-types exact to own the whole list"
            )
    if get_path(doc, AUDIENCE_PATH) is True:
        rev.spec["acceptAudienceInTokenExchange"] = True
    return rev


__all__ = [
    "DEFAULT_PROVIDER_GRANTS",
    "Note",
    "Reverse",
    "agent_spec",
    "application_spec",
    "field_value",
    "has_secret_marker",
    "is_confidential",
    "privilege_entries",
    "provider_spec",
    "secret_env_name",
]
