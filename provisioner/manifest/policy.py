"""Environment policies: ``policy:`` rules in ``environments/<name>.yaml`` (docs/policies.md), offline.

A violation is an error when its environment is the one selected (``--env``) and a warning for every
other environment file next to the manifests, so a pull request sees early what prod will refuse.
Each diagnostic points at the offending value (``file:line:col``) and names the rule and where the
rule is written. The rules are data, JSON-Schema'd in ``schemas/environment.schema.json``; each is
one function in :data:`RULES`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioner import grants
from provisioner.kinds import REGISTRY
from provisioner.manifest.cache import ManifestCache, parse_yaml
from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import Diagnostic, Resource, SourceLocation
from provisioner.manifest.schema import ENVIRONMENT_SCHEMA, validate_document
from provisioner.manifest.sources import ENVIRONMENTS_DIR, read_text
from provisioner.manifest.yamldoc import YamlDocument

#: The kinds the agent rules (owners, on-behalf-of subjects) are about (``KindSpec.agent_policies``); the
#: other rules go by the fields a document writes (grantTypes, accessTokenLifetime, scopes, applications).
_AGENTS = frozenset(spec.name for spec in REGISTRY if spec.agent_policies)


@dataclass(frozen=True)
class Policy:
    """The ``policy`` of one environment file: rule name → value, and where each value is written."""

    environment: str
    rules: Mapping[str, Any] = field(hash=False)
    locations: Mapping[str, SourceLocation] = field(hash=False)


#: One violation: the resource, the document path of the offending value, the message.
Violation = tuple[Resource, str, str]


def policy_of(environment: str, doc: YamlDocument) -> Policy | None:
    """The policy in an environment document, or None when it has none (or it is not a mapping)."""
    data = doc.data.get("policy") if isinstance(doc.data, dict) else None
    if not isinstance(data, dict) or not data:
        return None
    locations = {str(k): doc.locate(("policy", k)) for k in data}
    return Policy(environment, dict(data), locations)


def _environment_files(paths: Sequence[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        base = path if os.path.isdir(path) else os.path.dirname(path)
        folder = os.path.join(base, ENVIRONMENTS_DIR)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            candidate = os.path.normpath(os.path.join(folder, name))
            if name.endswith((".yaml", ".yml")) and os.path.isfile(candidate) and candidate not in found:
                found.append(candidate)
    return found


def other_policies(
    paths: Sequence[str], selected_file: str | None, limits: Limits = DEFAULT_LIMITS, cache: ManifestCache | None = None
) -> list[Policy]:
    """The policies of every environment file next to ``paths`` except the selected one.

    A file that does not load or whose policy is invalid is skipped: it is reported in full when that
    environment is selected.
    """
    out: list[Policy] = []
    selected = os.path.realpath(selected_file) if selected_file else None
    for file in _environment_files(paths):
        if os.path.realpath(file) == selected:
            continue
        text, problems = read_text(file, limits, what="environment file")
        if text is None or problems:
            continue
        docs, problems = parse_yaml(text, file, limits, 2, cache, ENVIRONMENT_SCHEMA)
        docs = [d for d in docs if d.data is not None]
        if problems or len(docs) != 1 or not isinstance(docs[0].data, dict):
            continue
        if any(d.path.startswith("policy") for d in validate_document(docs[0], ENVIRONMENT_SCHEMA)):
            continue
        policy = policy_of(os.path.splitext(os.path.basename(file))[0], docs[0])
        if policy is not None:
            out.append(policy)
    return out


# -- the rules --------------------------------------------------------------------------------------------


def _list(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _privileges(res: Resource) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, entry in _list(res.spec.get("applications")):
        if isinstance(entry, dict):
            yield index, entry


def forbid_grant_types(resources: Sequence[Resource], value: Any) -> Iterator[Violation]:
    """No client or provider uses a forbidden grant type."""
    forbidden = {grants.canonical(str(v)) or str(v) for v in value or []}
    for res in resources:
        declared = res.spec.get("grantTypes")
        lists: list[tuple[str, Any]] = [("spec.grantTypes", declared)]
        if isinstance(declared, dict):  # the provider's {ensure: [...]} / {exact: [...]}
            lists = [(f"spec.grantTypes.{mode}", v) for mode, v in sorted(declared.items())]
        for path, values in lists:
            for index, grant in _list(values):
                if isinstance(grant, str) and (grants.canonical(grant) or grant) in forbidden:
                    yield res, f"{path}[{index}]", f"grant type '{grants.alias(grant)}' is forbidden"


def max_access_token_lifetime(resources: Sequence[Resource], value: Any) -> Iterator[Violation]:
    """Declared access-token lifetimes stay at or under the maximum."""
    for res in resources:
        lifetime = res.spec.get("accessTokenLifetime")
        if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > value:
            yield (
                res,
                "spec.accessTokenLifetime",
                (f"access-token lifetime {lifetime}s is longer than the maximum {value}s"),
            )


def require_agent_owners(resources: Sequence[Resource], value: Any) -> Iterator[Violation]:
    """Every AI agent names at least one owner."""
    if value is not True:
        return
    for res in resources:
        if res.kind in _AGENTS and not res.spec.get("owners"):
            path = "spec.owners" if "owners" in res.spec else "metadata.name"
            yield res, path, f"agent '{res.name}' has no owner (spec.owners)"


def _on_behalf_of(res: Resource) -> bool:
    grant_types = res.spec.get("grantTypes")
    if isinstance(grant_types, list) and grants.CLIENT_CREDENTIALS not in grant_types:
        return True
    return any(entry.get("subjects") or entry.get("subjectGroups") for _, entry in _privileges(res))


def require_subjects_on_behalf_of(resources: Sequence[Resource], value: Any) -> Iterator[Violation]:
    """Privileges of on-behalf-of agents restrict the subjects (users or groups) they may act for."""
    if value is not True:
        return
    for res in resources:
        if res.kind not in _AGENTS or not _on_behalf_of(res):
            continue
        for index, entry in _privileges(res):
            if not entry.get("subjects") and not entry.get("subjectGroups"):
                yield (
                    res,
                    f"spec.applications[{index}].application",
                    (
                        f"on-behalf-of agent '{res.name}' may act for every user on '{entry.get('application')}': "
                        "list subjects or subjectGroups"
                    ),
                )


def scope_pattern(resources: Sequence[Resource], value: Any) -> Iterator[Violation]:
    """Every scope matches the pattern in full."""
    try:
        pattern = re.compile(str(value))
    except re.error:
        return  # reported against the environment file by check_policy_values
    for res in resources:
        lists: list[tuple[str, Any]] = [
            ("spec.scopes", res.spec.get("scopes")),
            ("spec.defaultScopes", res.spec.get("defaultScopes")),
        ]
        lists += [(f"spec.applications[{i}].permissions", e.get("permissions")) for i, e in _privileges(res)]
        for path, values in lists:
            for index, scope in _list(values):
                if isinstance(scope, str) and not pattern.fullmatch(scope):
                    yield res, f"{path}[{index}]", f"scope '{scope}' does not match the pattern '{value}'"


def max_scopes_per_privilege(resources: Sequence[Resource], value: Any) -> Iterator[Violation]:
    """No privilege permits more scopes than the cap (no permissions = every scope of the application)."""
    # Client IDs are unique per realm across kinds, so a privilege's application is found by realm and name.
    scopes_of = {(r.realm, r.name): r.spec.get("scopes") for r in resources if "applications" not in r.spec}
    for res in resources:
        for index, entry in _privileges(res):
            permissions = entry.get("permissions")
            if isinstance(permissions, list) and permissions:
                if len(permissions) > value:
                    yield (
                        res,
                        f"spec.applications[{index}].permissions",
                        (
                            f"privilege on '{entry.get('application')}' permits {len(permissions)} scopes, more than "
                            f"the maximum {value}"
                        ),
                    )
                continue
            scopes = scopes_of.get((res.realm, str(entry.get("application"))))
            if isinstance(scopes, list) and len(scopes) > value:
                yield (
                    res,
                    f"spec.applications[{index}]",
                    (
                        f"privilege on '{entry.get('application')}' lists no permissions, so it permits every one of "
                        f"the application's {len(scopes)} scopes, more than the maximum {value}"
                    ),
                )


RULES: dict[str, Callable[[Sequence[Resource], Any], Iterator[Violation]]] = {
    "forbidGrantTypes": forbid_grant_types,
    "maxAccessTokenLifetime": max_access_token_lifetime,
    "requireAgentOwners": require_agent_owners,
    "requireSubjectsOnBehalfOf": require_subjects_on_behalf_of,
    "scopePattern": scope_pattern,
    "maxScopesPerPrivilege": max_scopes_per_privilege,
}


def check_policy_values(policy: Policy) -> list[Diagnostic]:
    """Problems the schema cannot see in a policy (a scope pattern that is not a regular expression)."""
    out = []
    pattern = policy.rules.get("scopePattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            out.append(
                Diagnostic(
                    policy.locations["scopePattern"], "policy.scopePattern", f"not a valid regular expression: {exc}"
                )
            )
    return out


def check(resources: Sequence[Resource], policies: Sequence[Policy], selected: str | None) -> list[Diagnostic]:
    """Every violation of every policy: errors for the ``selected`` environment's, warnings for others'."""
    out: list[Diagnostic] = []
    for policy in policies:
        mine = policy.environment == selected
        for rule, value in sorted(policy.rules.items()):
            if rule not in RULES or value is None:
                continue
            where = policy.locations.get(rule)
            for res, path, message in RULES[rule](resources, value):
                text = f"policy '{rule}' of environment '{policy.environment}' ({where}): {message}"
                if not mine:
                    text += f" (an error with --env {policy.environment})"
                out.append(Diagnostic(res.locate(path), path, text, "error" if mine else "warning"))
    return out
