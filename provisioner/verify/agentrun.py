"""One agent's verify run: the state its checks share and the helpers every flow uses.

:mod:`.flows` runs the declared flows with it, :mod:`.leastprivilege` the checks that must be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from provisioner import redact
from provisioner.client.oauth import OAuthEndpoints, OAuthError, TokenResponse
from provisioner.errors import ProvisionerError
from provisioner.verify.cases import Agent, App, Privilege, VerifyUser, permitted_scopes
from provisioner.verify.diagnose import TOKENINFO_STEP, Step, diagnose, refused
from provisioner.verify.model import SKIP, Check

T = TypeVar("T")


class Failed(Exception):
    """A step failed; ``message`` is the diagnosis, ``actual`` what the tenant did."""

    def __init__(self, actual: str, message: str) -> None:
        super().__init__(message)
        self.actual = actual
        self.message = message


class AgentRun:
    """The checks of one agent so far, its resolved secret, and the subject token the least-privilege
    checks reuse."""

    def __init__(
        self,
        endpoints: OAuthEndpoints,
        secrets: Any,
        agent: Agent,
        apps: Mapping[str, App],
        app_errors: Mapping[str, str],
        users: tuple[VerifyUser, ...],
    ) -> None:
        self.ep = endpoints
        self.secrets = secrets
        self.agent = agent
        self.apps = apps
        self.app_errors = app_errors
        self.users = users
        self.group = agent.client_id
        self.checks: list[Check] = []
        self.secret: str | None = None
        self.secret_problem = ""
        # (subject token, label) usable for the negative checks; set once an exchange succeeded.
        self.subject: tuple[str, str] | None = None

    def add(self, name: str, expected: str, actual: str, status: str, message: str = "") -> None:
        self.checks.append(
            Check(name, self.group, redact.text(expected), redact.text(actual), status, redact.text(message))
        )

    def skip_all(self, names: list[str], reason: str) -> None:
        for name in names:
            self.add(name, "-", "not run", SKIP, reason)

    def resolve(self, ref: Any, what: str) -> tuple[str | None, str]:
        """(value, problem): a secret from the same reference the manifests use."""
        if ref is None:
            return None, f"{what} declares no secret reference"
        try:
            return self.secrets.resolve(ref), ""
        except ProvisionerError as exc:
            return None, f"{what}: {exc}"

    def call(self, step: Step, fn: Callable[[], T]) -> T:
        """Run one request; an OAuth refusal becomes :class:`Failed` with its diagnosis."""
        try:
            return fn()
        except OAuthError as exc:
            actual = "no response" if exc.status is None else f"refused: {refused(exc)}"
            raise Failed(actual, diagnose(exc, step)) from None

    def token_and_info(self, step: Step, fn: Callable[[], TokenResponse]) -> tuple[TokenResponse, dict[str, Any]]:
        token = self.call(step, fn)
        info_step = Step(TOKENINFO_STEP, step.client_id)
        info = self.call(info_step, lambda: self.ep.tokeninfo(token.access_token))
        return token, info

    def agent_step(self, kind: str, **kw: Any) -> Step:
        return Step(
            kind,
            self.agent.client_id,
            str(self.agent.secret_ref) if self.agent.secret_ref else None,
            self.agent.auth_method,
            agent=self.agent.client_id,
            **kw,
        )

    def exchange_as_agent(
        self, step: Step, subject_token: str, audience: str | None, scopes: tuple[str, ...]
    ) -> tuple[TokenResponse, dict[str, Any]]:
        """The agent exchanges ``subject_token`` (towards ``audience`` for ``scopes``), then tokeninfo."""
        return self.token_and_info(
            step,
            lambda: self.ep.exchange(
                self.agent.client_id,
                self.secret or "",
                self.agent.auth_method,
                subject_token,
                audience=audience,
                scope=scopes,
            ),
        )

    def permitted(self, priv: Privilege) -> tuple[tuple[str, ...] | None, str]:
        permitted = permitted_scopes(priv, self.apps.get(priv.application))
        if permitted is None:
            why = self.app_errors.get(priv.application) or f"the scopes of application {priv.application} are unknown"
            return None, f"permissions are empty (= every scope of the application) and {why}"
        return permitted, ""
