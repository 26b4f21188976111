"""The tenant state the OAuth runtime reads: the view protocol and typed readers over its documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

AI_AGENT = "AIAgent"
OAUTH2_CLIENT = "OAuth2Client"
DEFAULT_ACCESS_TOKEN_LIFETIME = 3600


class TenantView(Protocol):
    """Read-only access to the emulated tenant (implemented by the emulator backend)."""

    def realm_exists(self, realm: str) -> bool: ...
    def provider(self, realm: str) -> dict[str, Any]: ...
    def oauth_client(self, realm: str, client_id: str) -> dict[str, Any] | None: ...
    def privileges(self, realm: str) -> list[dict[str, Any]]: ...
    def user_by_username(self, realm: str, user_name: str) -> dict[str, Any] | None: ...
    def user(self, realm: str, user_id: str) -> dict[str, Any] | None: ...
    def ai_agents_enabled(self) -> bool: ...


def _list(value: Any) -> list[str]:
    """A string-list field; ``None`` and ``[""]`` read as empty (reference §4.9)."""
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v not in (None, "")]


@dataclass(frozen=True)
class Provider:
    """The realm's ``oauth-oidc`` document (plain form)."""

    doc: dict[str, Any]

    def _group(self, name: str) -> dict[str, Any]:
        return self.doc.get(name) or {}

    @property
    def grant_types(self) -> list[str]:
        return _list(self._group("advancedOAuth2Config").get("grantTypes"))

    @property
    def stateless(self) -> bool:
        return bool(self._group("coreOAuth2Config").get("statelessTokensEnabled", True))

    @property
    def accept_audience(self) -> bool:
        return bool(self._group("advancedOAuth2Config").get("acceptAudienceParametersInTokenExchangeRequests"))

    @property
    def access_token_lifetime(self) -> int:
        value = self._group("coreOAuth2Config").get("accessTokenLifetime")
        return int(value) if value else DEFAULT_ACCESS_TOKEN_LIFETIME


@dataclass(frozen=True)
class Client:
    """An ``OAuth2Client`` or ``AIAgent`` as the view returns it: kind, plain config groups, secret."""

    client_id: str
    kind: str
    config: dict[str, Any]
    secret: str | None

    @classmethod
    def from_view(cls, client_id: str, record: dict[str, Any]) -> Client:
        return cls(client_id, record.get("kind") or OAUTH2_CLIENT, record.get("config") or {}, record.get("secret"))

    def _group(self, name: str) -> dict[str, Any]:
        return self.config.get(name) or {}

    @property
    def is_agent(self) -> bool:
        return self.kind == AI_AGENT

    @property
    def active(self) -> bool:
        return (self._group("coreOAuth2ClientConfig").get("status") or "Active") == "Active"

    @property
    def scopes(self) -> list[str]:
        return _list(self._group("coreOAuth2ClientConfig").get("scopes"))

    @property
    def default_scopes(self) -> list[str]:
        return _list(self._group("coreOAuth2ClientConfig").get("defaultScopes"))

    @property
    def grant_types(self) -> list[str]:
        return _list(self._group("advancedOAuth2ClientConfig").get("grantTypes"))

    @property
    def auth_method(self) -> str:
        return self._group("advancedOAuth2ClientConfig").get("tokenEndpointAuthMethod") or "client_secret_basic"

    @property
    def audience_allow_list(self) -> list[str]:
        return _list(self._group("advancedOAuth2ClientConfig").get("allowedResourceServerAudienceValues"))

    @property
    def overrides_enabled(self) -> bool:
        return bool(self._group("overrideOAuth2ClientConfig").get("providerOverridesEnabled"))

    def _override(self, name: str, realm_value: bool) -> bool:
        """Overrides apply only, and all together, when ``providerOverridesEnabled`` (§4.8)."""
        if not self.overrides_enabled:
            return realm_value
        return bool(self._group("overrideOAuth2ClientConfig").get(name))

    def stateless(self, provider: Provider) -> bool:
        return self._override("statelessTokensEnabled", provider.stateless)

    def accept_audience(self, provider: Provider) -> bool:
        return self._override("acceptAudienceParametersInTokenExchangeRequests", provider.accept_audience)

    def access_token_lifetime(self, provider: Provider) -> int:
        value = self._group("coreOAuth2ClientConfig").get("accessTokenLifetime")
        return int(value) if value else provider.access_token_lifetime


@dataclass(frozen=True)
class Privilege:
    """One ``<realm>_aiagentprivilege`` with its computed virtual fields."""

    doc: dict[str, Any]

    @property
    def agent_client_id(self) -> str | None:
        return self.doc.get("agentOAuth2ClientId")

    @property
    def application_client_id(self) -> str | None:
        return ((self.doc.get("resourceData") or {}).get("ssoEntities") or {}).get("oidcId")

    @property
    def subject_ids(self) -> list[str]:
        return _list(self.doc.get("subjectIDs"))

    @property
    def has_subjects(self) -> bool:
        """Any subject or subject group; falls back to ``subjectIDs`` when the refs are not given."""
        if "subjects" in self.doc or "subjectGroups" in self.doc:
            return bool(self.doc.get("subjects") or self.doc.get("subjectGroups"))
        return bool(self.subject_ids)

    @property
    def scopes(self) -> list[str]:
        """``permissions[type=scopes].values``; empty means every scope of the application (§7.1)."""
        values: list[str] = []
        for permission in self.doc.get("permissions") or []:
            if permission.get("type") == "scopes":
                values.extend(v for v in _list(permission.get("values")) if v not in values)
        return values
