"""Manifests: YAML with line tracking, jinja2 templating, secret references, environments,
JSON Schema validation and semantic rules. The contract is in docs/architecture.md.

    from provisioner.manifest import load
    result = load(["manifests/bot-traffic-analyzer"], env="dev", env_file="demo.env")
    if result.ok:
        result.stack.by_kind("AIAgent")
"""

from __future__ import annotations

from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.loader import default_stack_name, load
from provisioner.manifest.model import (
    API_VERSION,
    DEFAULT_REALM,
    KINDS,
    Diagnostic,
    Environment,
    LoadResult,
    Resource,
    SecretRef,
    Secrets,
    SourceLocation,
    Stack,
)
from provisioner.manifest.secrets import read_dotenv

__all__ = [
    "API_VERSION",
    "DEFAULT_LIMITS",
    "DEFAULT_REALM",
    "KINDS",
    "Diagnostic",
    "Environment",
    "Limits",
    "LoadResult",
    "Resource",
    "SecretRef",
    "Secrets",
    "SourceLocation",
    "Stack",
    "default_stack_name",
    "load",
    "read_dotenv",
]
