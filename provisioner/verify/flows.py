"""The declared flows of one agent: its own token (client credentials), the exchange per privilege
(autonomous, or on behalf of a test user), the claims of every token; then the least-privilege checks."""

from __future__ import annotations

from provisioner.verify import claims
from provisioner.verify.agentrun import AgentRun, Failed
from provisioner.verify.cases import App, Privilege, user_for
from provisioner.verify.diagnose import CLIENT_CREDENTIALS_STEP, EXCHANGE_STEP, PASSWORD_STEP, Step
from provisioner.verify.leastprivilege import no_audience_check, no_privilege_check, unpermitted_scope_check
from provisioner.verify.model import FAIL, PASS, SKIP, Check

_CLAIMS = ("sub", "act.sub", "aud", "scope", "grant_type")


def agent_checks(run: AgentRun) -> list[Check]:
    """Every check of ``run``'s agent, in a fixed order (a check whose prerequisite failed is a skip)."""
    run.secret, run.secret_problem = run.resolve(run.agent.secret_ref, f"agent {run.agent.client_id}")
    cc_token = autonomous(run) if run.agent.autonomous else None
    for priv in run.agent.privileges:
        if priv.on_behalf_of:
            on_behalf_of(run, priv)
        elif run.agent.autonomous:
            exchange(run, priv, cc_token)
        else:
            run.add(
                f"exchange → {priv.application}",
                "autonomous exchange",
                "not run",
                SKIP,
                "the privilege has no subjects (autonomous flow) but the agent lacks the "
                "client_credentials grant, so it cannot get a token of its own to exchange",
            )
    if run.agent.privileges:
        no_privilege_check(run)
        no_audience_check(run)
    return run.checks


def autonomous(run: AgentRun) -> str | None:
    """Client-credentials token + tokeninfo + claims; returns the token for the exchanges."""
    name = "client credentials"
    scopes = run.agent.scopes
    expected = f"token for {claims.fmt(scopes)}"
    dependents = [f"{name}: sub", f"{name}: aud", f"{name}: scope"]
    if run.secret is None:
        run.add(f"{name}: token", expected, "not requested", FAIL, run.secret_problem)
        run.skip_all(dependents, "not run: no agent secret")
        return None
    step = run.agent_step(CLIENT_CREDENTIALS_STEP, scopes=scopes)
    try:
        token, info = run.token_and_info(
            step,
            lambda: run.ep.client_credentials(run.agent.client_id, run.secret or "", run.agent.auth_method, scopes),
        )
    except Failed as failed:
        run.add(f"{name}: token", expected, failed.actual, FAIL, failed.message)
        run.skip_all(dependents, f"not run: the {name} token was refused")
        return None
    run.add(f"{name}: token", expected, f"issued {token.fingerprint}", PASS)
    run.checks.extend(claims.client_credentials_claims(run.group, run.agent.client_id, scopes, info))
    return token.access_token


def exchange(run: AgentRun, priv: Privilege, subject_token: str | None) -> None:
    """Autonomous exchange towards ``priv.application`` + claims, then the unpermitted-scope check."""
    app = priv.application
    name = f"exchange → {app}"
    names = [f"{name}: token"] + [f"{name}: {c}" for c in _CLAIMS]
    negative = f"least privilege: unpermitted scope → {app}"
    permitted, why = run.permitted(priv)
    if permitted is None or subject_token is None:
        reason = why or "not run: no client credentials token to exchange"
        run.skip_all(names + [negative], reason)
        return
    ok = _exchange_and_check(run, name, priv, permitted, subject_token, subject=run.agent.client_id, on_behalf_of=False)
    unpermitted_scope_check(run, negative, priv, permitted, subject_token if ok else None, on_behalf_of=False)


def on_behalf_of(run: AgentRun, priv: Privilege) -> None:
    """A test user's token from the application, exchanged by the agent on the user's behalf."""
    app_id = priv.application
    user = user_for(priv, run.users)
    base = f"on-behalf-of {user.user_name if user else '(test user)'} → {app_id}"
    names = [f"{base}: user token", f"{base}: token"] + [f"{base}: {c}" for c in _CLAIMS]
    negative = f"least privilege: unpermitted scope → {app_id}"
    if user is None:
        reason = (
            "no test user configured: set verify.testUsers in the environment file to check the on-behalf-of flow"
            if not run.users
            else "none of the configured test users is a subject of this privilege"
        )
        run.add(f"on-behalf-of → {app_id}", "user token exchanged by the agent", "not run", SKIP, reason)
        return
    app = run.apps.get(app_id) or App(app_id, None, declared=False)
    permitted, why = run.permitted(priv)
    app_secret: str | None = ""
    app_problem = ""
    if app.auth_method != "none":  # a public client authenticates with its id alone
        app_secret, app_problem = run.resolve(app.secret_ref, f"application {app_id}")
    password, pw_problem = run.resolve(user.password_ref, f"test user {user.user_name}")
    if permitted is None:
        run.skip_all(names + [negative], f"not run: {why}")
        return
    if app_secret is None or password is None or run.secret is None:
        run.add(
            names[0],
            f"token for {user.user_name} via {app_id}",
            "not requested",
            FAIL,
            app_problem or pw_problem or run.secret_problem,
        )
        run.skip_all(names[1:] + [negative], "not run: a secret is missing")
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
        user_token, user_info = run.token_and_info(
            step, lambda: run.ep.password(app_id, app_secret, app.auth_method, user.user_name, password, scopes)
        )
    except Failed as failed:
        run.add(names[0], f"token for {user.user_name} via {app_id}", failed.actual, FAIL, failed.message)
        run.skip_all(names[1:] + [negative], "not run: no user token")
        return
    user_id = str(user_info.get("sub") or "")
    run.add(names[0], f"token for {user.user_name} via {app_id}", f"issued {user_token.fingerprint}", PASS)
    ok = _exchange_and_check(run, base, priv, permitted, user_token.access_token, subject=user_id, on_behalf_of=True)
    unpermitted_scope_check(run, negative, priv, permitted, user_token.access_token if ok else None, on_behalf_of=True)


def _exchange_and_check(
    run: AgentRun,
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
    dependents = [f"{name}: {c}" for c in _CLAIMS]
    step = run.agent_step(EXCHANGE_STEP, audience=app, scopes=permitted, permitted=permitted, on_behalf_of=on_behalf_of)
    try:
        token, info = run.exchange_as_agent(step, subject_token, app, permitted)
    except Failed as failed:
        run.add(f"{name}: token", expected, failed.actual, FAIL, failed.message)
        run.skip_all(dependents, "not run: the exchange was refused")
        return False
    run.add(f"{name}: token", expected, f"issued {token.fingerprint}", PASS)
    run.checks.extend(
        claims.exchange_claims(
            run.group,
            name,
            info,
            subject=subject,
            agent=run.agent.client_id,
            application=app,
            permitted=permitted,
        )
    )
    if run.subject is None:
        run.subject = (subject_token, "the user token" if on_behalf_of else "the agent's token")
    return True
