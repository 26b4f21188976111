"""The tenant client: one session adapter (auth, versions, retries, typed errors) and endpoint helpers.

Knows the AIC REST API, not our manifests. See ``docs/architecture.md`` and reference §1, §2, §9.

The names below load on first use: importing a light submodule (``provisioner.client.wrapping``, the
AM wrapping the kinds read through) does not load the HTTP session, so ``validate`` stays offline-cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioner.client.auth import BearerAuth, ServiceAccountAuth
    from provisioner.client.errors import (
        BadRequest,
        Conflict,
        FeatureDisabled,
        Forbidden,
        NotFound,
        PolicyFailure,
        PreconditionFailed,
        RateLimited,
        ServerError,
        TenantError,
        TransportError,
        Unauthorized,
        from_response,
    )
    from provisioner.client.response import Response
    from provisioner.client.retry import Decision, RetryBudget, RetryPolicy, decide
    from provisioner.client.session import TenantClient, TraceEvent
    from provisioner.client.wrapping import unwrap, wrap

_HOME = {
    **dict.fromkeys(("BearerAuth", "ServiceAccountAuth"), "auth"),
    **dict.fromkeys(
        (
            "BadRequest",
            "Conflict",
            "FeatureDisabled",
            "Forbidden",
            "NotFound",
            "PolicyFailure",
            "PreconditionFailed",
            "RateLimited",
            "ServerError",
            "TenantError",
            "TransportError",
            "Unauthorized",
            "from_response",
        ),
        "errors",
    ),
    "Response": "response",
    **dict.fromkeys(("Decision", "RetryBudget", "RetryPolicy", "decide"), "retry"),
    **dict.fromkeys(("TenantClient", "TraceEvent"), "session"),
    **dict.fromkeys(("unwrap", "wrap"), "wrapping"),
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'provisioner.client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"provisioner.client.{home}"), name)


__all__ = [
    "BadRequest",
    "BearerAuth",
    "Conflict",
    "Decision",
    "FeatureDisabled",
    "Forbidden",
    "NotFound",
    "PolicyFailure",
    "PreconditionFailed",
    "RateLimited",
    "Response",
    "RetryBudget",
    "RetryPolicy",
    "ServerError",
    "ServiceAccountAuth",
    "TenantClient",
    "TenantError",
    "TraceEvent",
    "TransportError",
    "Unauthorized",
    "decide",
    "from_response",
    "unwrap",
    "wrap",
]
