"""The least-privilege checks of one agent: what the tenant must refuse (or narrow).

(a) a scope outside a privilege's permissions; (b) an exchange towards an application the agent holds
no privilege on; (c) an exchange without ``audience``. Each runs only after a permitted exchange
succeeded, so a refusal proves something.
"""

from __future__ import annotations

from typing import Any

from provisioner.verify import claims
from provisioner.verify.agentrun import AgentRun, Failed
from provisioner.verify.cases import Privilege, permitted_scopes, unpermitted_scope, unprivileged_application
from provisioner.verify.diagnose import EXCHANGE_STEP
from provisioner.verify.model import FAIL, PASS, SKIP


def unpermitted_scope_check(
    run: AgentRun,
    name: str,
    priv: Privilege,
    permitted: tuple[str, ...],
    subject_token: str | None,
    *,
    on_behalf_of: bool,
) -> None:
    """(a) A scope outside the permissions: refused with invalid_scope, or left out of the token."""
    extra = unpermitted_scope(priv, run.apps.get(priv.application))
    expected = f"{extra} not granted"
    if subject_token is None:
        run.add(
            name,
            expected,
            "not run",
            SKIP,
            "not run: the permitted exchange failed, so a refusal would prove nothing",
        )
        return
    asked = tuple(permitted) + (extra,)
    step = run.agent_step(
        EXCHANGE_STEP, audience=priv.application, scopes=asked, permitted=permitted, on_behalf_of=on_behalf_of
    )
    try:
        token, info = run.exchange_as_agent(step, subject_token, priv.application, asked)
    except Failed as failed:
        if failed.actual.startswith("refused: invalid_scope"):
            run.add(name, expected, "refused: invalid_scope", PASS)
        else:
            run.add(
                name, expected, failed.actual, FAIL, f"expected invalid_scope or a narrowed token; {failed.message}"
            )
        return
    granted = claims.values(info.get("scope"))
    if extra in granted:
        run.add(
            name,
            expected,
            f"granted {claims.fmt(granted)} ({token.fingerprint})",
            FAIL,
            f"the tenant granted {extra}, which the privilege on {priv.application} does not permit "
            f"{claims.fmt(permitted)} — least privilege is not enforced",
        )
    else:
        run.add(name, expected, f"narrowed to {claims.fmt(granted)}", PASS)


def _exchange_expecting_refusal(
    run: AgentRun, name: str, expected: str, subject_token: str, audience: str | None, scopes: tuple[str, ...]
) -> tuple[Any, Any] | None:
    """Run an exchange a least-privilege check expects the tenant to refuse.

    A refusal is recorded as the check's pass (any other failure as its fail) and gives None;
    an issued token is returned as ``(token, tokeninfo)`` for the caller to judge.
    """
    step = run.agent_step(EXCHANGE_STEP, audience=audience, scopes=scopes)
    try:
        return run.exchange_as_agent(step, subject_token, audience, scopes)
    except Failed as failed:
        status = PASS if failed.actual.startswith("refused:") else FAIL
        run.add(name, expected, failed.actual, status, "" if status == PASS else failed.message)
        return None


def _subject(run: AgentRun, name: str, expected: str) -> tuple[str, str] | None:
    if run.subject is None:
        run.add(
            name,
            expected,
            "not run",
            SKIP,
            "not run: no permitted exchange succeeded, so a refusal would prove nothing",
        )
    return run.subject


def no_privilege_check(run: AgentRun) -> None:
    """(b) An exchange towards an application the agent holds no privilege on must be refused."""
    other = unprivileged_application(run.agent, run.apps)
    name = f"least privilege: no privilege → {other}"
    expected = "refused"
    subject = _subject(run, name, expected)
    if subject is None:
        return
    other_app = run.apps.get(other)
    scopes = tuple(other_app.scopes or ()) if other_app else ()
    issued = _exchange_expecting_refusal(run, name, expected, subject[0], other, scopes)
    if issued is None:
        return
    token, info = issued
    run.add(
        name,
        expected,
        f"issued {token.fingerprint} with aud {claims.show(info.get('aud'))}",
        FAIL,
        f"the tenant issued a token for {other}, on which {run.agent.client_id} holds no privilege",
    )


def no_audience_check(run: AgentRun) -> None:
    """(c) An exchange without ``audience`` must not reach any application of the agent."""
    name = "least privilege: exchange without audience"
    held = [p.application for p in run.agent.privileges]
    expected = "refused, or aud without " + ", ".join(held)
    subject = _subject(run, name, expected)
    if subject is None:
        return
    first = run.agent.privileges[0]
    scopes = permitted_scopes(first, run.apps.get(first.application)) or ()
    issued = _exchange_expecting_refusal(run, name, expected, subject[0], None, tuple(scopes))
    if issued is None:
        return
    token, info = issued
    auds = claims.aud_values(info.get("aud"))
    reached = [a for a in held if a in auds]
    actual = f"issued {token.fingerprint} with aud {claims.show(info.get('aud'))}"
    if reached:
        run.add(name, expected, actual, FAIL, f"a token without a requested audience reached {', '.join(reached)}")
    else:
        run.add(name, expected, actual, PASS)
