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
from typing import Any, cast

from provisioner import grants
from provisioner.kinds import REGISTRY
from provisioner.kinds.common import indexed_strings
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


_indexed = indexed_strings


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
            return (
                f"client ID '{shown}' contains the non-ASCII character U+{ord(char):04X} ({name}); "
                "client IDs may only use A-Z, a-z, 0-9, '-' and '_'"
            )
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
                yield _diag(
                    res, "metadata.name", f"duplicate client ID '{name}' in realm '{realm}' (also declared as {others})"
                )
            continue
        for res in members:
            others = ", ".join(str(_realm_location(o)) for o in members if o is not res)
            path = "metadata.realm" if "metadata.realm" in res.field_locations else ""
            yield Diagnostic(
                _realm_location(res), path, f"duplicate {res.kind} for realm '{realm}' (also declared at {others})"
            )


def _realm_location(res: Resource) -> Any:
    return res.field_locations.get("metadata.realm", res.location)


def check_kinds(resources: list[Resource], complete: bool = True) -> Iterator[Diagnostic]:
    """The semantic rules each kind declares (``KindSpec.rules``: privileges point at declared applications,
    unique application names, grant types an ``exact`` provider allows, no fr:* scopes on agents)."""
    for spec in REGISTRY:
        for rule in spec.rules:
            for res, path, message, severity in rule(resources, complete):
                yield _diag(res, path, message, cast(Severity, severity))


def check_grants(resources: list[Resource]) -> Iterator[Diagnostic]:
    """A client's grant types do not repeat an alias as its URN."""
    for res in resources:
        if res.kind not in _CLIENTS:
            continue
        seen: set[str] = set()
        for index, value in _indexed(res.spec.get("grantTypes")):
            if value not in grants.AM_VALUES:
                continue
            if value in seen:
                yield _diag(
                    res,
                    f"spec.grantTypes[{index}]",
                    f"grant type '{grants.alias(value)}' is listed twice (as an alias and as its URN)",
                )
            seen.add(value)


def check_overrides(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Override settings only take effect with ``providerOverrides.enabled: true``."""
    for res in resources:
        overrides = res.spec.get("providerOverrides")
        if not isinstance(overrides, dict) or overrides.get("enabled") is True:
            continue
        for key in ("clientSideTokens", "acceptAudienceInTokenExchange"):
            if overrides.get(key) is True:
                yield _diag(
                    res, f"spec.providerOverrides.{key}", "has no effect unless providerOverrides.enabled is true"
                )


def lint(resources: list[Resource]) -> Iterator[Diagnostic]:
    """Warnings: deprecated grant types on clients."""
    for res in resources:
        if res.kind not in _CLIENTS:
            continue
        for index, value in _indexed(res.spec.get("grantTypes")):
            if value in _DEPRECATED_GRANTS:
                yield _diag(res, f"spec.grantTypes[{index}]", _DEPRECATED_GRANTS[value], "warning")


def check(resources: list[Resource], complete: bool = True) -> list[Diagnostic]:
    """Every semantic error and lint warning for ``resources``.

    ``complete`` is False when some manifest could not be loaded at all (a kind's rule may then leave out
    a reference into it).
    """
    found = [
        *check_client_ids(resources),
        *check_duplicates(resources),
        *check_kinds(resources, complete),
        *check_grants(resources),
        *check_overrides(resources),
        *lint(resources),
    ]
    return found
