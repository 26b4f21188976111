"""The tenant client: one session adapter (auth, versions, retries, typed errors) and endpoint helpers.

Knows the AIC REST API, not our manifests. See ``docs/architecture.md`` and reference §1, §2, §9.
"""

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
