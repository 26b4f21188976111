"""The typed records the manifest loader produces (the contract in docs/architecture.md).

Everything here is a frozen dataclass: validated configuration becomes typed records once, at the
boundary, and nothing downstream mutates it.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from provisioner.errors import ConfigurationError
from provisioner.kinds import MANIFEST_KINDS

#: The kinds a manifest document can declare, in dependency order (from the kind declarations).
KINDS: tuple[str, ...] = MANIFEST_KINDS
API_VERSION = "provisioner/v1"
DEFAULT_REALM = "alpha"

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A position in a source file; ``line`` and ``col`` are 1-based."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found while loading: where, which field, what is wrong."""

    location: SourceLocation
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        if self.path:
            return f"{self.location}: {self.path}: {self.message}"
        return f"{self.location}: {self.message}"

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order by file, line, column, then path and message (total and deterministic)."""
        loc = self.location
        return (loc.file, loc.line, loc.col, self.path, self.message)

    def to_json(self) -> dict[str, Any]:
        """The diagnostic as the JSON object ``validate --format json`` prints."""
        loc = self.location
        return {
            "file": loc.file,
            "line": loc.line,
            "col": loc.col,
            "path": self.path,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class SecretRef:
    """A reference to a secret value: ``{fromEnv: NAME}`` or ``{fromFile: PATH}``.

    ``base`` is the directory a relative ``fromFile`` path is resolved against (the manifest's
    directory). It is part of equality, so two manifests in different folders that both say
    ``{fromFile: secret.txt}`` are different references; it is left out of ``str()``.
    """

    source: Literal["env", "file"]
    name: str
    base: str = field(default="", repr=False)

    def __str__(self) -> str:
        return f"{{fromEnv: {self.name}}}" if self.source == "env" else f"{{fromFile: {self.name}}}"


@dataclass(frozen=True)
class Resource:
    """One manifest document after templating, validation and normalisation.

    ``spec`` holds only the keys the author wrote (an absent key is not managed), grant types as AM
    values and secret references as :class:`SecretRef`. ``field_locations`` maps document paths such
    as ``spec.applications[0].permissions`` to where they are written.
    """

    kind: str
    name: str
    realm: str
    spec: dict[str, Any] = field(hash=False)
    location: SourceLocation
    field_locations: Mapping[str, SourceLocation] = field(hash=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """The identity of the resource in a tenant: (kind, realm, name)."""
        return (self.kind, self.realm, self.name)

    def locate(self, path: str) -> SourceLocation:
        """The location of ``path`` (``spec.scopes``), or of the nearest enclosing field."""
        while path:
            if path in self.field_locations:
                return self.field_locations[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.location


@dataclass(frozen=True)
class Environment:
    """An ``environments/<name>.yaml`` file: target tenant, default realm, template variables."""

    name: str
    tenant: str | None
    realm: str
    vars: Mapping[str, Any] = field(hash=False)
    verify: Mapping[str, Any] = field(hash=False)
    location: SourceLocation | None = None
    #: The ``policy:`` rules (docs/policies.md), as written.
    policy: Mapping[str, Any] = field(default_factory=dict, hash=False)
    stack: str | None = None  # the environment's ``stack:`` (overrides provisioner.yaml)


@dataclass(frozen=True)
class Stack:
    """Every resource loaded from the given paths, plus the environment they were loaded for.

    ``name`` is the declared stack identity (``--stack``, the environment's ``stack:``, or
    ``provisioner.yaml``), ``""`` when none was declared: plan and apply then refuse to run.
    """

    name: str
    resources: tuple[Resource, ...]
    environment: Environment | None = None
    sources: tuple[str, ...] = ()

    def by_kind(self, kind: str) -> tuple[Resource, ...]:
        """The resources of one kind, in load order."""
        return tuple(r for r in self.resources if r.kind == kind)

    def get(self, kind: str, name: str, realm: str | None = None) -> Resource | None:
        """The resource with this kind and name (and realm, when given), or None."""
        for res in self.resources:
            if res.kind == kind and res.name == name and (realm is None or res.realm == realm):
                return res
        return None


@dataclass(frozen=True, repr=False)  # its own __repr__ below (never the values)
class Secrets:
    """Resolved secret values, keyed by reference. Values are already registered with redact."""

    _values: Mapping[SecretRef, str] = field(default_factory=dict, repr=False, hash=False)
    resolved: bool = True

    def __post_init__(self) -> None:
        # A read-only view: nobody downstream can swap a secret after validation.
        object.__setattr__(self, "_values", types.MappingProxyType(dict(self._values)))

    def resolve(self, ref: SecretRef) -> str:
        """The secret value for ``ref``; ``ConfigurationError`` when it was not resolved."""
        try:
            return self._values[ref]
        except KeyError:
            why = " (secrets were not resolved: --skip-secrets)" if not self.resolved else ""
            raise ConfigurationError(f"secret {ref} is not available{why}") from None

    def __contains__(self, ref: object) -> bool:
        return ref in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets(<{len(self._values)} values>)"


@dataclass(frozen=True)
class LoadResult:
    """What :func:`provisioner.manifest.load` returns: diagnostics, the stack and its secrets."""

    diagnostics: tuple[Diagnostic, ...]
    stack: Stack | None
    secrets: Secrets

    @property
    def ok(self) -> bool:
        """True when there is no error diagnostic (warnings allowed)."""
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The error diagnostics only."""
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """The warning diagnostics only."""
        return tuple(d for d in self.diagnostics if d.severity == "warning")
