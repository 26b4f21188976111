"""Semantic rules and lint across all loaded resources (DESIGN §4), offline.

Rules run on every resource that could be built, even when the schema reported problems, so each
rule checks the types it relies on instead of assuming a valid document. Anything that needs the
tenant (an ``existing: true`` application, a provider that is only ``ensure``d) is left to plan.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from provisioner import grants
from provisioner.kinds import REGISTRY
from provisioner.manifest.model import Diagnostic, Resource, Severity

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]+")
_DEPRECATED_GRANTS = {
    grants.PASSWORD: "grant type 'password' (Resource Owner Password Credentials) is deprecated by the "
                     "OAuth 2.0 Security Best Current Practice; prefer authorization_code or token_exchange",
    "implicit": "grant type 'implicit' is deprecated by the OAuth 2.0 Security Best Current Practice; "
                "prefer authorization_code with PKCE",
}
#: Kinds whose name is a client ID (unique per realm across them): those with an AM client half.
_CLIENTS = tuple(spec.name for spec in REGISTRY if spec.manifest and spec.am_kind)


def _diag(res: Resource, path: str, message: str, severity: Severity = "error") -> Diagnostic:
    return Diagnostic(res.locate(path), path, message, severity)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _indexed(value: Any) -> list[tuple[int, str]]:
    """(index, item) for the string items of a list (indexes as written)."""
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def _privileges(res: Resource) -> Iterator[tuple[int, dict[str, Any]]]:
    entries = res.spec.get("applications")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("application"), str):
            yield index, entry


def client_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid client ID, or None. Non-ASCII look-alikes are named."""
    if not value or _CLIENT_ID.fullmatch(value):
        return None
    shown = value.encode("ascii", "backslashreplace").decode("ascii")
    for char in value:
        if ord(char) > 127:
            name = unicodedata.name(char, "unnamed character")
            return (f"client ID '{shown}' contains the non-ASCII character U+{ord(char):04X} ({name}); "
                    "client IDs may only use A-Z, a-z, 0-9, '-' and '_'")
    bad = next(c for c in value if not _CLIENT_ID.fullmatch(c))
    what = {" ": "a space", "\n": "a line break", "\t": "a tab"}.get(bad, f"'{bad}'")
    return f"client ID '{shown}' contains {what}; client IDs may only use A-Z, a-z, 0-9, '-' and '_'"


def check_client_ids(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Client IDs (resource names and privilege targets) use letters, digits, '-' and '_'."""
    for res in resources:
        if res.kind in _CLIENTS and (problem := client_id_problem(res.name)):
            yield _diag(res, "metadata.name", problem)
        for index, entry in _privileges(res):
            if problem := client_id_problem(entry["application"]):
                yield _diag(res, f"spec.applications[{index}].application", problem)


def check_duplicates(resources: list[Resource]) -> Iterator[Diagnostic]:
    """One client ID per realm across Application/AIAgent; one OAuth2Provider per realm."""
    groups: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
    for res in resources:
        group = "client" if res.kind in _CLIENTS else res.kind
        groups[(group, res.realm, res.name)].append(res)
    for (group, realm, name), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        # Point each copy at the others, so either file can be fixed from its own message.
        if group == "client":
            for res in members:
                others = ", ".join(f"{o.kind} at {o.locate('metadata.name')}" for o in members if o is not res)
                yield _diag(res, "metadata.name", f"duplicate client ID '{name}' in realm '{realm}' "
                                                  f"(also declared as {others})")
            continue
        for res in members:
            others = ", ".join(str(_realm_location(o)) for o in members if o is not res)
            path = "metadata.realm" if "metadata.realm" in res.field_locations else ""
            yield Diagnostic(_realm_location(res), path,
                             f"duplicate OAuth2Provider for realm '{realm}' (also declared at {others})")


def check_unique_names(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Applications' IDM names (``displayName``, else the client ID) are unique per realm: the tenant's
    ``name`` UNIQUE policy would refuse the second one half way through an apply."""
    groups: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for res in resources:
        if res.kind == "Application" and not res.spec.get("existing"):
            name = res.spec.get("displayName") or res.name
            if isinstance(name, str):
                groups[(res.realm, name)].append(res)
    for (realm, name), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        for res in members:
            others = ", ".join(f"{o.name} at {o.locate('spec.displayName')}" for o in members if o is not res)
            path = "spec.displayName" if "spec.displayName" in res.field_locations else "metadata.name"
            yield _diag(res, path, f"application name '{name}' is used by more than one application in realm "
                                   f"'{realm}' (also {others}); the tenant requires unique application names")


def _realm_location(res: Resource) -> Any:
    return res.field_locations.get("metadata.realm", res.location)


def check_privileges(resources: list[Resource], complete: bool = True) -> Iterator[Diagnostic]:
    """Privileges point at declared applications, once each, with permissions within their scopes.

    When some document could not be loaded (``complete`` is False) an undeclared application may be
    declared there, so that error is left out.
    """
    apps = {(r.realm, r.name): r for r in resources if r.kind == "Application"}
    app_realms: dict[str, list[str]] = defaultdict(list)
    for realm, name in apps:
        app_realms[name].append(realm)
    for agent in (r for r in resources if r.kind == "AIAgent"):
        first_index: dict[str, int] = {}
        for index, entry in _privileges(agent):
            base = f"spec.applications[{index}]"
            name = entry["application"]
            if name in first_index:
                first = agent.locate(f"spec.applications[{first_index[name]}].application")
                yield _diag(agent, f"{base}.application", f"application '{name}' is listed twice in this "
                                                          f"agent's applications (first on line {first.line})")
                continue
            first_index[name] = index
            app = apps.get((agent.realm, name))
            if entry.get("existing") is True:
                if app is not None:
                    yield _diag(agent, f"{base}.existing", f"application '{name}' is declared in these manifests; "
                                                           "'existing: true' is not needed", "warning")
            elif app is None and complete:
                elsewhere = sorted(app_realms.get(name, []))
                hint = (f" in realm '{agent.realm}' (it is declared in realm '{elsewhere[0]}')" if elsewhere
                        else "; declare it, or set 'existing: true' if it already exists in the tenant")
                yield _diag(agent, f"{base}.application", f"application '{name}' is not declared in these "
                                                          f"manifests{hint}")
            yield from _permissions(agent, base, entry, app)


def _permissions(agent: Resource, base: str, entry: dict[str, Any], app: Resource | None) -> Iterator[Diagnostic]:
    name = entry["application"]
    permissions = entry.get("permissions")
    if not permissions and (permissions is None or isinstance(permissions, list)):
        yield _diag(agent, base, f"no permissions: the agent may obtain every scope of application '{name}'; "
                                 "list the scopes it needs in 'permissions'", "warning")
        return
    scopes = app.spec.get("scopes") if app is not None else None
    if not isinstance(scopes, list) or not isinstance(permissions, list):
        return  # the application's scopes are not managed here: checked at plan time
    allowed = _strings(scopes)
    for index, permission in enumerate(permissions):
        if isinstance(permission, str) and permission not in allowed:
            listed = ", ".join(allowed) if allowed else "none"
            yield _diag(agent, f"{base}.permissions[{index}]",
                        f"permission '{permission}' is not a scope of application '{name}' (its scopes: {listed})")


def check_grants(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Client grant types are allowed by an ``exact`` provider list; aliases are not repeated."""
    exact: dict[str, tuple[Resource, list[str]]] = {}
    for res in resources:
        modes = res.spec.get("grantTypes") if res.kind == "OAuth2Provider" else None
        if isinstance(modes, dict) and isinstance(modes.get("exact"), list):
            exact.setdefault(res.realm, (res, _strings(modes["exact"])))
    for res in resources:
        lists: list[tuple[str, Any]] = []
        if res.kind == "OAuth2Provider" and isinstance(res.spec.get("grantTypes"), dict):
            lists = [(f"spec.grantTypes.{m}", v) for m, v in sorted(res.spec["grantTypes"].items())]
        elif res.kind in _CLIENTS:
            lists = [("spec.grantTypes", res.spec.get("grantTypes"))]
        for path, values in lists:
            seen: set[str] = set()
            for index, value in enumerate(values if isinstance(values, list) else []):
                if not isinstance(value, str) or value not in grants.AM_VALUES:
                    continue
                if value in seen:
                    yield _diag(res, f"{path}[{index}]", f"grant type '{grants.alias(value)}' is listed twice "
                                                         "(as an alias and as its URN)")
                seen.add(value)
                if res.kind in _CLIENTS and res.realm in exact and value not in exact[res.realm][1]:
                    provider = exact[res.realm][0]
                    yield _diag(res, f"{path}[{index}]", (
                        f"grant type '{grants.alias(value)}' is not allowed in realm '{res.realm}': the "
                        f"OAuth2Provider at {provider.location} sets grantTypes.exact without it"))


def check_overrides(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Override settings only take effect with ``providerOverrides.enabled: true``."""
    for res in resources:
        overrides = res.spec.get("providerOverrides")
        if not isinstance(overrides, dict) or overrides.get("enabled") is True:
            continue
        for key in ("clientSideTokens", "acceptAudienceInTokenExchange"):
            if overrides.get(key) is True:
                yield _diag(res, f"spec.providerOverrides.{key}",
                            "has no effect unless providerOverrides.enabled is true")


def lint(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Warnings: deprecated grant types on clients, fr:* admin scopes on agents."""
    for res in resources:
        if res.kind not in _CLIENTS:
            continue
        for index, value in _indexed(res.spec.get("grantTypes")):
            if value in _DEPRECATED_GRANTS:
                yield _diag(res, f"spec.grantTypes[{index}]", _DEPRECATED_GRANTS[value], "warning")
        if res.kind != "AIAgent":
            continue
        for field in ("scopes", "defaultScopes"):
            for index, scope in _indexed(res.spec.get(field)):
                if scope.startswith("fr:"):
                    yield _diag(res, f"spec.{field}[{index}]", (
                        f"scope '{scope}' is a platform administration scope; AI agents should not hold fr:* "
                        "scopes"), "warning")


def check(resources: list[Resource], complete: bool = True) -> list[Diagnostic]:
    """Every semantic error and lint warning for ``resources``.

    ``complete`` is False when some manifest could not be loaded at all (see check_privileges).
    """
    found = [*check_client_ids(resources), *check_duplicates(resources), *check_unique_names(resources),
             *check_privileges(resources, complete), *check_grants(resources),
             *check_overrides(resources), *lint(resources)]
    return found
