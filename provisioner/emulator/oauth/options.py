"""The OAuth runtime's switches (reference §11), their defaults, and live typed reads.

The emulator keeps one mutable mapping of switches (``GET/PATCH /_emulator/config``). The OAuth
service reads it on every call through :class:`Switches`, so a PATCH takes effect at once.

| Switch (§11 row)                              | Default              | Other values                       |
|-----------------------------------------------|----------------------|------------------------------------|
| ``token.enforceAuthMethod`` (15)              | ``True``             | ``False``: any of basic/post works |
| ``token.agent.noAudience`` (16)               | ``"reject"``         | ``"agent-only"``                   |
| ``token.agent.noPrivilegeError`` (17)         | ``"audience"``       | ``"exchange"``                     |
| ``token.agent.autonomousRequiresNoSubjects`` (18) | ``False``        | ``True``                           |
| ``token.agent.emptySubjects`` (19)            | ``"deny"``           | ``"allow-all"``                    |
| ``token.agent.unpermittedScope`` (21)         | ``"reject"``         | ``"downscope"``                    |
| ``token.agent.missingScope`` (22)             | ``"all"``            | ``"reject"``                       |
| ``token.agent.checkAudienceAllowList`` (23)   | ``False``            | ``True``                           |
| ``token.invalidClientStatus`` (25)            | ``400``              | ``401`` (+ ``WWW-Authenticate``)   |
| ``token.tokeninfoErrorStatus`` (26)           | ``400``              | ``401``                            |
| ``token.introspect.policy`` (27)              | ``"owner-audience-or-scope"`` | ``"any-client"``, ``"owner"`` |
| ``token.introspect.includeAudAct`` (27)       | ``True``             | ``False``                          |
| ``token.mayAct``                              | ``{}``               | ``{"<client id>": ["<actor>", ...]}`` |

``token.mayAct`` stands in for AM's ``OAUTH2_MAY_ACT`` script (§8.3): tokens issued to a listed client
carry ``may_act: {"client_id": [...actors]}``, which the plain-client exchange path (§8.4 step 4) needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENFORCE_AUTH_METHOD = "token.enforceAuthMethod"
AGENT_NO_AUDIENCE = "token.agent.noAudience"
AGENT_NO_PRIVILEGE_ERROR = "token.agent.noPrivilegeError"
AGENT_AUTONOMOUS_REQUIRES_NO_SUBJECTS = "token.agent.autonomousRequiresNoSubjects"
AGENT_EMPTY_SUBJECTS = "token.agent.emptySubjects"
AGENT_UNPERMITTED_SCOPE = "token.agent.unpermittedScope"
AGENT_MISSING_SCOPE = "token.agent.missingScope"
AGENT_CHECK_AUDIENCE_ALLOW_LIST = "token.agent.checkAudienceAllowList"
INVALID_CLIENT_STATUS = "token.invalidClientStatus"
TOKENINFO_ERROR_STATUS = "token.tokeninfoErrorStatus"
INTROSPECT_POLICY = "token.introspect.policy"
INTROSPECT_INCLUDE_AUD_ACT = "token.introspect.includeAudAct"
MAY_ACT = "token.mayAct"

DEFAULTS: dict[str, Any] = {
    ENFORCE_AUTH_METHOD: True,
    AGENT_NO_AUDIENCE: "reject",
    AGENT_NO_PRIVILEGE_ERROR: "audience",
    AGENT_AUTONOMOUS_REQUIRES_NO_SUBJECTS: False,
    AGENT_EMPTY_SUBJECTS: "deny",
    AGENT_UNPERMITTED_SCOPE: "reject",
    AGENT_MISSING_SCOPE: "all",
    AGENT_CHECK_AUDIENCE_ALLOW_LIST: False,
    INVALID_CLIENT_STATUS: 400,
    TOKENINFO_ERROR_STATUS: 400,
    INTROSPECT_POLICY: "owner-audience-or-scope",
    INTROSPECT_INCLUDE_AUD_ACT: True,
    MAY_ACT: {},
}

CHOICES: dict[str, tuple[Any, ...]] = {
    AGENT_NO_AUDIENCE: ("reject", "agent-only"),
    AGENT_NO_PRIVILEGE_ERROR: ("audience", "exchange"),
    AGENT_EMPTY_SUBJECTS: ("deny", "allow-all"),
    AGENT_UNPERMITTED_SCOPE: ("reject", "downscope"),
    AGENT_MISSING_SCOPE: ("all", "reject"),
    INVALID_CLIENT_STATUS: (400, 401),
    TOKENINFO_ERROR_STATUS: (400, 401),
    INTROSPECT_POLICY: ("owner-audience-or-scope", "any-client", "owner"),
}


class Switches:
    """Typed, live view of the switch mapping; an absent or unusable value reads as its default."""

    def __init__(self, options: Mapping[str, object]) -> None:
        self._options = options

    def _raw(self, name: str) -> Any:
        return self._options.get(name, DEFAULTS[name])

    def flag(self, name: str) -> bool:
        value = self._raw(name)
        if isinstance(value, str):  # values PATCHed as text ("true"/"false")
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)

    def choice(self, name: str) -> Any:
        value = self._raw(name)
        if name in (INVALID_CLIENT_STATUS, TOKENINFO_ERROR_STATUS):
            try:
                value = int(value)
            except (TypeError, ValueError):
                return DEFAULTS[name]
        return value if value in CHOICES[name] else DEFAULTS[name]

    def may_act(self, client_id: str) -> list[str]:
        """Actors a token issued to ``client_id`` names in ``may_act`` (empty: no claim)."""
        table = self._raw(MAY_ACT)
        if not isinstance(table, Mapping):
            return []
        actors = table.get(client_id) or []
        return [actors] if isinstance(actors, str) else [str(a) for a in actors]
