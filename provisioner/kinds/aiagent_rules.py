"""AIAgent's offline semantic rules (``manifest/rules.py`` runs them through ``SPEC.rules``): its
``spec.applications`` privileges and the scopes an agent should not hold."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from provisioner.kinds import application
from provisioner.kinds.common import indexed_strings

Finding = tuple[Any, str, str, str]


def privilege_entries(res: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, entry) for the ``spec.applications`` entries that name an application."""
    entries = res.spec.get("applications")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("application"), str):
            yield index, entry


def privilege_rules(resources: Sequence[Any], complete: bool) -> Iterator[Finding]:
    """Privileges point at declared applications, once each, with permissions within their scopes.

    When some document could not be loaded (``complete`` is False) an undeclared application may be
    declared there, so that error is left out.
    """
    apps = {(r.realm, r.name): r for r in resources if r.kind == application.KIND}
    app_realms: dict[str, list[str]] = defaultdict(list)
    for realm, name in apps:
        app_realms[name].append(realm)
    from provisioner.kinds.aiagent import KIND  # the kind's module imports these rules

    for agent in (r for r in resources if r.kind == KIND):
        first_index: dict[str, int] = {}
        for index, entry in privilege_entries(agent):
            base = f"spec.applications[{index}]"
            name = entry["application"]
            if name in first_index:
                first = agent.locate(f"spec.applications[{first_index[name]}].application")
                yield (
                    agent,
                    f"{base}.application",
                    (f"application '{name}' is listed twice in this agent's applications (first on line {first.line})"),
                    "error",
                )
                continue
            first_index[name] = index
            app = apps.get((agent.realm, name))
            if entry.get("existing") is True:
                if app is not None:
                    yield (
                        agent,
                        f"{base}.existing",
                        (f"application '{name}' is declared in these manifests; 'existing: true' is not needed"),
                        "warning",
                    )
            elif app is None and complete:
                elsewhere = sorted(app_realms.get(name, []))
                hint = (
                    f" in realm '{agent.realm}' (it is declared in realm '{elsewhere[0]}')"
                    if elsewhere
                    else "; declare it, or set 'existing: true' if it already exists in the tenant"
                )
                yield (
                    agent,
                    f"{base}.application",
                    (f"application '{name}' is not declared in these manifests{hint}"),
                    "error",
                )
            yield from _permissions(agent, base, entry, app)


def _permissions(agent: Any, base: str, entry: dict[str, Any], app: Any) -> Iterator[Finding]:
    name = entry["application"]
    permissions = entry.get("permissions")
    if not permissions and (permissions is None or isinstance(permissions, list)):
        yield (
            agent,
            base,
            (
                f"no permissions: the agent may obtain every scope of application '{name}'; "
                "list the scopes it needs in 'permissions'"
            ),
            "warning",
        )
        return
    scopes = app.spec.get("scopes") if app is not None else None
    if not isinstance(scopes, list) or not isinstance(permissions, list):
        return  # the application's scopes are not managed here: checked at plan time
    allowed = [v for _, v in indexed_strings(scopes)]
    for index, permission in enumerate(permissions):
        if isinstance(permission, str) and permission not in allowed:
            listed = ", ".join(allowed) if allowed else "none"
            yield (
                agent,
                f"{base}.permissions[{index}]",
                (f"permission '{permission}' is not a scope of application '{name}' (its scopes: {listed})"),
                "error",
            )


def admin_scopes(resources: Sequence[Any], complete: bool) -> Iterator[Finding]:
    """Warnings: agents hold no fr:* (platform administration) scopes."""
    from provisioner.kinds.aiagent import KIND

    for res in resources:
        if res.kind != KIND:
            continue
        for field in ("scopes", "defaultScopes"):
            for index, scope in indexed_strings(res.spec.get(field)):
                if scope.startswith("fr:"):
                    yield (
                        res,
                        f"spec.{field}[{index}]",
                        (f"scope '{scope}' is a platform administration scope; AI agents should not hold fr:* scopes"),
                        "warning",
                    )
