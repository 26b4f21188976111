"""Run the declared OAuth flows against the tenant and turn what happened into checks.

For each AIAgent (in load order):

* autonomous (client-credentials grant): agent token with its scopes + tokeninfo; for each privilege
  without subjects, exchange towards the application with the permitted scopes + tokeninfo;
* on-behalf-of (privileges with subjects or subject groups): a configured test user's token from the
  application (password grant) + tokeninfo, exchanged by the agent + tokeninfo; no test user → skip;
* least privilege: a scope outside the permissions is not granted; an application without a privilege
  is refused; an exchange without ``audience`` does not reach any application.

The set of checks depends only on the stack, never on what the tenant answers: a check whose
prerequisite failed is reported ``skip`` (with the reason), so reports of two runs line up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from provisioner import redact
from provisioner.client.oauth import OAuthEndpoints, OAuthError, TokenResponse
from provisioner.errors import ProvisionerError
from provisioner.kinds import aiagent
from provisioner.verify import claims
from provisioner.verify.cases import (
    AI_AGENT,
    APPLICATION,
    Agent,
    App,
    Privilege,
    VerifyUser,
    agent_of,
    application_of,
    permitted_scopes,
    test_users,
    unpermitted_scope,
    unprivileged_application,
    user_for,
)
from provisioner.verify.diagnose import (
    CLIENT_CREDENTIALS_STEP,
    EXCHANGE_STEP,
    PASSWORD_STEP,
    TOKENINFO_STEP,
    Step,
    diagnose,
    refused,
)
from provisioner.verify.model import FAIL, PASS, SKIP, Check, VerifyReport
from provisioner.verify.tenantread import read_application

T = TypeVar("T")
DEFAULT_REALM = "alpha"


class _Failed(Exception):
    """A step failed; ``message`` is the diagnosis, ``actual`` what the tenant did."""

    def __init__(self, actual: str, message: str) -> None:
        super().__init__(message)
        self.actual = actual
        self.message = message


def _target_of(tenant: Any) -> tuple[str, Any]:
    """(base URL, admin client or None) from a URL, a ``Tenant`` or a ``TenantClient``."""
    if isinstance(tenant, str):
        return tenant.rstrip("/"), None
    inner = getattr(tenant, "client", None)
    if inner is not None and not callable(inner):
        url = getattr(tenant, "url", None) or getattr(inner, "base_url", "")
        return str(url).rstrip("/"), inner
    return str(getattr(tenant, "base_url", "")).rstrip("/"), tenant


def run_verify(
    stack: Any,
    secrets: Any,
    tenant_url_or_client: Any,
    *,
    realm: str | None = None,
    environ: Mapping[str, str] | None = None,
    allow_skipped: bool = False,
) -> VerifyReport:
    """Run every declared flow against the tenant and return the report (never raises for a refusal).

    ``tenant_url_or_client``: a base URL (no admin reads: an ``existing`` application's scopes then
    cannot be read), a ``Tenant`` or a ``TenantClient``. ``realm`` overrides the environment's and
    the resources' realm. ``environ`` is accepted for symmetry with the other commands (unused).
    """
    del environ
    base_url, admin = _target_of(tenant_url_or_client)
    env = getattr(stack, "environment", None)
    agents_res = stack.by_kind(AI_AGENT)
    realm = (
        realm
        or (getattr(env, "realm", None) if env is not None else None)
        or (agents_res[0].realm if agents_res else DEFAULT_REALM)
    )
    apps: dict[str, App] = {r.name: application_of(r) for r in stack.by_kind(APPLICATION)}
    agents = [agent_of(r, realm) for r in agents_res]
    app_errors: dict[str, str] = {}
    for agent in agents:
        for priv in agent.privileges:
            app = apps.get(priv.application)
            if app is None:
                app = App(priv.application, None, existing=True, declared=False)
            if app.scopes is None:
                app, why = read_application(admin, realm, app)
                if why:
                    app_errors[app.client_id] = why
            apps[app.client_id] = app
    endpoints = OAuthEndpoints(admin if admin is not None else base_url, realm)
    users = test_users(stack)
    checks: list[Check] = []
    missing = _missing_agents(admin, realm, agents)
    for agent in agents:
        if agent.client_id in missing:
            checks.append(
                Check(
                    "client exists",
                    agent.client_id,
                    f"AIAgent {agent.client_id}",
                    "not in the tenant",
                    FAIL,
                    f"the agent {agent.client_id} does not exist in realm {realm} "
                    f"(run provisioner apply first); no flow of it was run",
                )
            )
            continue
        checks.extend(_AgentRun(endpoints, secrets, agent, apps, app_errors, users).run())
    return VerifyReport(target=redact.text(base_url), realm=realm, checks=tuple(checks), allow_skipped=allow_skipped)


def _missing_agents(admin: Any, realm: str, agents: list[Agent]) -> set[str]:
    """The agents the tenant does not have (one list read; empty without admin access)."""
    if admin is None or not agents:
        return set()
    try:
        present = {str(doc.get("_id")) for doc in admin.am(realm).list(aiagent.AM_KIND)}
    except ProvisionerError:
        return set()  # cannot tell: the flows will say what they find
    return {a.client_id for a in agents if a.client_id not in present}


class _AgentRun:
    """The checks of one agent; keeps the subject tokens the negative checks reuse."""

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

    # -- helpers ------------------------------------------------------------------------------------

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
        """Run one request; an OAuth refusal becomes :class:`_Failed` with its diagnosis."""
        try:
            return fn()
        except OAuthError as exc:
            actual = "no response" if exc.status is None else f"refused: {refused(exc)}"
            raise _Failed(actual, diagnose(exc, step)) from None

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

    # -- the flows ----------------------------------------------------------------------------------

    def run(self) -> list[Check]:
        self.secret, self.secret_problem = self.resolve(self.agent.secret_ref, f"agent {self.agent.client_id}")
        cc_token = self.autonomous() if self.agent.autonomous else None
        for priv in self.agent.privileges:
            if priv.on_behalf_of:
                self.on_behalf_of(priv)
            elif self.agent.autonomous:
                self.exchange(priv, cc_token)
            else:
                self.add(
                    f"exchange → {priv.application}",
                    "autonomous exchange",
                    "not run",
                    SKIP,
                    "the privilege has no subjects (autonomous flow) but the agent lacks the "
                    "client_credentials grant, so it cannot get a token of its own to exchange",
                )
        if self.agent.privileges:
            self.negative_no_privilege()
            self.negative_no_audience()
        return self.checks

    def autonomous(self) -> str | None:
        """Client-credentials token + tokeninfo + claims; returns the token for the exchanges."""
        name = "client credentials"
        scopes = self.agent.scopes
        expected = f"token for {claims.fmt(scopes)}"
        dependents = [f"{name}: sub", f"{name}: aud", f"{name}: scope"]
        if self.secret is None:
            self.add(f"{name}: token", expected, "not requested", FAIL, self.secret_problem)
            self.skip_all(dependents, "not run: no agent secret")
            return None
        step = self.agent_step(CLIENT_CREDENTIALS_STEP, scopes=scopes)
        try:
            token, info = self.token_and_info(
                step,
                lambda: self.ep.client_credentials(
                    self.agent.client_id, self.secret or "", self.agent.auth_method, scopes
                ),
            )
        except _Failed as failed:
            self.add(f"{name}: token", expected, failed.actual, FAIL, failed.message)
            self.skip_all(dependents, f"not run: the {name} token was refused")
            return None
        self.add(f"{name}: token", expected, f"issued {token.fingerprint}", PASS)
        self.checks.extend(claims.client_credentials_claims(self.group, self.agent.client_id, scopes, info))
        return token.access_token

    def _permitted(self, priv: Privilege) -> tuple[tuple[str, ...] | None, str]:
        permitted = permitted_scopes(priv, self.apps.get(priv.application))
        if permitted is None:
            why = self.app_errors.get(priv.application) or f"the scopes of application {priv.application} are unknown"
            return None, f"permissions are empty (= every scope of the application) and {why}"
        return permitted, ""

    def exchange(self, priv: Privilege, subject_token: str | None) -> None:
        """Autonomous exchange towards ``priv.application`` + claims, then the unpermitted-scope check."""
        app = priv.application
        name = f"exchange → {app}"
        names = [f"{name}: token"] + [f"{name}: {c}" for c in ("sub", "act.sub", "aud", "scope", "grant_type")]
        negative = f"least privilege: unpermitted scope → {app}"
        permitted, why = self._permitted(priv)
        if permitted is None or subject_token is None:
            reason = why or "not run: no client credentials token to exchange"
            self.skip_all(names + [negative], reason)
            return
        ok = self._exchange_and_check(
            name, priv, permitted, subject_token, subject=self.agent.client_id, on_behalf_of=False
        )
        self._negative_scope(negative, priv, permitted, subject_token if ok else None, on_behalf_of=False)

    def on_behalf_of(self, priv: Privilege) -> None:
        """A test user's token from the application, exchanged by the agent on the user's behalf."""
        app_id = priv.application
        user = user_for(priv, self.users)
        base = f"on-behalf-of {user.user_name if user else '(test user)'} → {app_id}"
        names = [f"{base}: user token", f"{base}: token"] + [
            f"{base}: {c}" for c in ("sub", "act.sub", "aud", "scope", "grant_type")
        ]
        negative = f"least privilege: unpermitted scope → {app_id}"
        if user is None:
            reason = (
                "no test user configured: set verify.testUsers in the environment file to check the on-behalf-of flow"
                if not self.users
                else "none of the configured test users is a subject of this privilege"
            )
            self.add(f"on-behalf-of → {app_id}", "user token exchanged by the agent", "not run", SKIP, reason)
            return
        app = self.apps.get(app_id) or App(app_id, None, declared=False)
        permitted, why = self._permitted(priv)
        app_secret: str | None = ""
        app_problem = ""
        if app.auth_method != "none":  # a public client authenticates with its id alone
            app_secret, app_problem = self.resolve(app.secret_ref, f"application {app_id}")
        password, pw_problem = self.resolve(user.password_ref, f"test user {user.user_name}")
        if permitted is None:
            self.skip_all(names + [negative], f"not run: {why}")
            return
        if app_secret is None or password is None or self.secret is None:
            self.add(
                names[0],
                f"token for {user.user_name} via {app_id}",
                "not requested",
                FAIL,
                app_problem or pw_problem or self.secret_problem,
            )
            self.skip_all(names[1:] + [negative], "not run: a secret is missing")
            return
        scopes = app.default_scopes or app.scopes or ()
        step = Step(
            PASSWORD_STEP,
            app_id,
            str(app.secret_ref),
            app.auth_method,
            scopes=tuple(scopes),
            username=user.user_name,
            password_ref=str(user.password_ref),
        )
        try:
            user_token, user_info = self.token_and_info(
                step, lambda: self.ep.password(app_id, app_secret, app.auth_method, user.user_name, password, scopes)
            )
        except _Failed as failed:
            self.add(names[0], f"token for {user.user_name} via {app_id}", failed.actual, FAIL, failed.message)
            self.skip_all(names[1:] + [negative], "not run: no user token")
            return
        user_id = str(user_info.get("sub") or "")
        self.add(names[0], f"token for {user.user_name} via {app_id}", f"issued {user_token.fingerprint}", PASS)
        ok = self._exchange_and_check(
            base, priv, permitted, user_token.access_token, subject=user_id, on_behalf_of=True
        )
        self._negative_scope(negative, priv, permitted, user_token.access_token if ok else None, on_behalf_of=True)

    def _exchange_and_check(
        self,
        name: str,
        priv: Privilege,
        permitted: tuple[str, ...],
        subject_token: str,
        *,
        subject: str,
        on_behalf_of: bool,
    ) -> bool:
        app = priv.application
        expected = f"token with {claims.fmt(permitted)}"
        dependents = [f"{name}: {c}" for c in ("sub", "act.sub", "aud", "scope", "grant_type")]
        step = self.agent_step(
            EXCHANGE_STEP, audience=app, scopes=permitted, permitted=permitted, on_behalf_of=on_behalf_of
        )
        try:
            token, info = self.token_and_info(
                step,
                lambda: self.ep.exchange(
                    self.agent.client_id,
                    self.secret or "",
                    self.agent.auth_method,
                    subject_token,
                    audience=app,
                    scope=permitted,
                ),
            )
        except _Failed as failed:
            self.add(f"{name}: token", expected, failed.actual, FAIL, failed.message)
            self.skip_all(dependents, "not run: the exchange was refused")
            return False
        self.add(f"{name}: token", expected, f"issued {token.fingerprint}", PASS)
        self.checks.extend(
            claims.exchange_claims(
                self.group,
                name,
                info,
                subject=subject,
                agent=self.agent.client_id,
                application=app,
                permitted=permitted,
            )
        )
        if self.subject is None:
            self.subject = (subject_token, "the user token" if on_behalf_of else "the agent's token")
        return True

    # -- least privilege ----------------------------------------------------------------------------

    def _negative_scope(
        self, name: str, priv: Privilege, permitted: tuple[str, ...], subject_token: str | None, *, on_behalf_of: bool
    ) -> None:
        """(a) A scope outside the permissions: refused with invalid_scope, or left out of the token."""
        extra = unpermitted_scope(priv, self.apps.get(priv.application))
        expected = f"{extra} not granted"
        if subject_token is None:
            self.add(
                name,
                expected,
                "not run",
                SKIP,
                "not run: the permitted exchange failed, so a refusal would prove nothing",
            )
            return
        asked = tuple(permitted) + (extra,)
        step = self.agent_step(
            EXCHANGE_STEP, audience=priv.application, scopes=asked, permitted=permitted, on_behalf_of=on_behalf_of
        )
        try:
            token, info = self.token_and_info(
                step,
                lambda: self.ep.exchange(
                    self.agent.client_id,
                    self.secret or "",
                    self.agent.auth_method,
                    subject_token,
                    audience=priv.application,
                    scope=asked,
                ),
            )
        except _Failed as failed:
            if failed.actual.startswith("refused: invalid_scope"):
                self.add(name, expected, "refused: invalid_scope", PASS)
            else:
                self.add(
                    name, expected, failed.actual, FAIL, f"expected invalid_scope or a narrowed token; {failed.message}"
                )
            return
        granted = claims.values(info.get("scope"))
        if extra in granted:
            self.add(
                name,
                expected,
                f"granted {claims.fmt(granted)} ({token.fingerprint})",
                FAIL,
                f"the tenant granted {extra}, which the privilege on {priv.application} does not permit "
                f"{claims.fmt(permitted)} — least privilege is not enforced",
            )
        else:
            self.add(name, expected, f"narrowed to {claims.fmt(granted)}", PASS)

    def _exchange_expecting_refusal(
        self, name: str, expected: str, subject_token: str, audience: str | None, scopes: tuple[str, ...]
    ) -> tuple[Any, Any] | None:
        """Run an exchange a least-privilege check expects the tenant to refuse.

        A refusal is recorded as the check's pass (any other failure as its fail) and gives None;
        an issued token is returned as ``(token, tokeninfo)`` for the caller to judge.
        """
        step = self.agent_step(EXCHANGE_STEP, audience=audience, scopes=scopes)
        try:
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
        except _Failed as failed:
            status = PASS if failed.actual.startswith("refused:") else FAIL
            self.add(name, expected, failed.actual, status, "" if status == PASS else failed.message)
            return None

    def _negative_subject(self, name: str, expected: str) -> tuple[str, str] | None:
        if self.subject is None:
            self.add(
                name,
                expected,
                "not run",
                SKIP,
                "not run: no permitted exchange succeeded, so a refusal would prove nothing",
            )
        return self.subject

    def negative_no_privilege(self) -> None:
        """(b) An exchange towards an application the agent holds no privilege on must be refused."""
        other = unprivileged_application(self.agent, self.apps)
        name = f"least privilege: no privilege → {other}"
        expected = "refused"
        subject = self._negative_subject(name, expected)
        if subject is None:
            return
        other_app = self.apps.get(other)
        scopes = tuple(other_app.scopes or ()) if other_app else ()
        issued = self._exchange_expecting_refusal(name, expected, subject[0], other, scopes)
        if issued is None:
            return
        token, info = issued
        self.add(
            name,
            expected,
            f"issued {token.fingerprint} with aud {claims.show(info.get('aud'))}",
            FAIL,
            f"the tenant issued a token for {other}, on which {self.agent.client_id} holds no privilege",
        )

    def negative_no_audience(self) -> None:
        """(c) An exchange without ``audience`` must not reach any application of the agent."""
        name = "least privilege: exchange without audience"
        held = [p.application for p in self.agent.privileges]
        expected = "refused, or aud without " + ", ".join(held)
        subject = self._negative_subject(name, expected)
        if subject is None:
            return
        first = self.agent.privileges[0]
        scopes = permitted_scopes(first, self.apps.get(first.application)) or ()
        issued = self._exchange_expecting_refusal(name, expected, subject[0], None, tuple(scopes))
        if issued is None:
            return
        token, info = issued
        auds = claims.aud_values(info.get("aud"))
        reached = [a for a in held if a in auds]
        actual = f"issued {token.fingerprint} with aud {claims.show(info.get('aud'))}"
        if reached:
            self.add(name, expected, actual, FAIL, f"a token without a requested audience reached {', '.join(reached)}")
        else:
            self.add(name, expected, actual, PASS)
