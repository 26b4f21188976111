"""Resource kinds: one module per kind, each exporting one :class:`~provisioner.kinds.spec.KindSpec`.

:data:`REGISTRY` lists the specs in dependency order (provider → applications → agents → privileges;
deletes in reverse). Code outside this package loops over the registry; it never names a kind.
"""

from __future__ import annotations

from provisioner.kinds import aiagent, application, privilege, provider
from provisioner.kinds.spec import KindSpec

#: Every kind, in dependency (rank) order.
REGISTRY: tuple[KindSpec, ...] = tuple(
    sorted((provider.SPEC, application.SPEC, aiagent.SPEC, privilege.SPEC), key=lambda spec: spec.rank)
)
_BY_NAME = {spec.name: spec for spec in REGISTRY}

#: The kinds a manifest document can declare, in order.
MANIFEST_KINDS: tuple[str, ...] = tuple(spec.name for spec in REGISTRY if spec.manifest)


def spec_of(kind: str) -> KindSpec | None:
    """The declaration of ``kind`` (None for a name no kind has)."""
    return _BY_NAME.get(kind)


__all__ = ["MANIFEST_KINDS", "REGISTRY", "KindSpec", "spec_of"]
