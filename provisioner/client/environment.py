"""The AI agents feature (reference §10): enable it, check it, wait for it (bounded)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provisioner.client import paths
from provisioner.client.errors import FeatureDisabled, Forbidden, NotFound

if TYPE_CHECKING:
    from provisioner.client.session import TenantClient


@dataclass(frozen=True)
class AIAgentsStatus:
    """What the tenant says about the feature. ``enabled`` rests on the provider flag (confirmed);
    ``agent_type`` (``AIAgent`` in ``getAllTypes``) and ``feature`` (the ``/feature`` record, inferred)
    are extra evidence; ``None`` where the check could not be made."""

    provider_flag: bool
    agent_type: bool | None
    feature: Mapping[str, Any] | None

    @property
    def enabled(self) -> bool:
        return self.provider_flag and self.agent_type is not False


class EnvironmentApi:
    """``client.environment``."""

    def __init__(self, client: TenantClient) -> None:
        self.client = client

    def enable_ai_agents(self) -> Any:
        """``POST /environment/aiagent?_action=enable`` with ``{}`` (one-way; can take ~10 minutes)."""
        response = self.client.request(
            "POST", paths.join("environment", "aiagent"), params={"_action": "enable"}, json={}
        )
        return response.body

    def features(self) -> list[dict[str, Any]] | None:
        """``GET /feature?_queryFilter=true`` records, or ``None`` when the endpoint is not available."""
        try:
            body = self.client.request("GET", paths.join("feature"), params={"_queryFilter": "true"}).body
        except (NotFound, Forbidden):
            return None
        return list((body or {}).get("result") or []) if isinstance(body, Mapping) else None

    def ai_agents_status(self, realm: str) -> AIAgentsStatus:
        """Read the provider flag, the agent types and the feature record."""
        am = self.client.am(realm)
        doc, _ = am.get_provider()
        config = doc.get("aiAgentsConfig") if isinstance(doc.get("aiAgentsConfig"), Mapping) else {}
        flag = (config or {}).get("aiAgentsEnabled") is True
        try:
            agent_type: bool | None = any(t.get("_id") == "AIAgent" for t in am.agent_types())
        except (NotFound, Forbidden):
            agent_type = None
        records = self.features()
        feature = next((r for r in records or [] if r.get("_id") == "aiagent"), None)
        return AIAgentsStatus(flag, agent_type, feature)

    def ai_agents_enabled(self, realm: str) -> bool:
        """True when the provider says ``aiAgentsConfig.aiAgentsEnabled`` and ``AIAgent`` is offered."""
        return self.ai_agents_status(realm).enabled

    def wait_until_enabled(
        self,
        realm: str,
        timeout: float = 900.0,
        interval: float = 30.0,
        on_wait: Callable[[float, AIAgentsStatus], None] | None = None,
    ) -> AIAgentsStatus:
        """Poll until the feature is on; ``on_wait(seconds_waited, status)`` before each sleep.

        Raises :class:`FeatureDisabled` after ``timeout`` seconds (client clock and sleep).
        """
        start = self.client.clock()
        polls = int(max(timeout, 0.0) // max(interval, 0.001)) + 1  # bounded whatever the clock does
        for poll in range(polls):
            status = self.ai_agents_status(realm)
            if status.enabled:
                return status
            if poll == polls - 1:
                break
            if on_wait is not None:
                on_wait(self.client.clock() - start, status)
            self.client.sleep(interval)
        raise FeatureDisabled(
            f"AI agents are still not enabled in realm {realm!r} after {self.client.clock() - start:.0f}s "
            f"(provider aiAgentsEnabled={status.provider_flag}, AIAgent type offered={status.agent_type})"
        )
