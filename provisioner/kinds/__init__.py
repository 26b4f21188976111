"""Resource kinds: one module per kind (field table, normalisation, create/update documents).

The registry below fixes the dependency order used by plan and apply: provider → applications →
agents → privileges (deletes in reverse).
"""
from __future__ import annotations

from provisioner.kinds import aiagent, application, privilege, provider

#: kind name → module, in dependency order.
REGISTRY = {
    provider.KIND: provider,
    application.KIND: application,
    aiagent.KIND: aiagent,
    privilege.KIND: privilege,
}

#: kind name → rank for creates and updates (deletes run in reverse).
RANKS = {name: module.RANK for name, module in REGISTRY.items()}

__all__ = ["REGISTRY", "RANKS", "aiagent", "application", "privilege", "provider"]
