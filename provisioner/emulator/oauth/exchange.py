"""Token exchange (RFC 8693) with the AI-agent privilege rules, reference §8.4 steps 3–10.

Steps 1–2 (realm grant type, client authentication and client grant type) run in the service before
:func:`evaluate`. The steps here run in order and the first failure wins; every undocumented choice
reads its switch (reference §11 rows 16–23, see :mod:`.options`). The function only reads the tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import errors
from . import options as opt
from .grants import requested_scopes, validate_scopes
from .model import Client, Privilege, Provider, TenantView
from .options import Switches
from .tokens import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, Grant, Token

AUTONOMOUS = "autonomous"
ON_BEHALF_OF = "on-behalf-of"
AGENT_ONLY = "agent-only"
MAY_ACT = "may-act"


@dataclass(frozen=True)
class ExchangeResult:
    """The decision: the grant to mint, which flow it was, and the privileges that allowed it."""

    grant: Grant
    flow: str
    privilege_ids: tuple[str, ...] = ()


def evaluate(
    view: TenantView,
    realm: str,
    provider: Provider,
    client: Client,
    form: Mapping[str, Any],
    subject: Token | None,
    switches: Switches,
) -> ExchangeResult:
    """Decide a token exchange by ``client``; raises :class:`errors.OAuthError` on the first failed step."""
    # Step 3: a subject token we issued in this realm, unexpired, with supported token types.
    if subject is None or form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise errors.invalid_request(errors.INVALID_EXCHANGE)
    if form.get("requested_token_type") not in (None, "", ACCESS_TOKEN_TYPE):
        raise errors.invalid_request(errors.INVALID_EXCHANGE)  # ID tokens are not emulated
    # Step 4: plain clients take the may_act path and stop there.
    if not client.is_agent:
        return _may_act_exchange(provider, client, form, subject)
    return _agent_exchange(view, realm, provider, client, form, subject, switches)


def audiences(form: Mapping[str, Any]) -> list[str] | None:
    """The ``audience`` values (a repeated parameter may arrive as a list); ``None`` when absent."""
    value = form.get("audience")
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _agent_exchange(
    view: TenantView,
    realm: str,
    provider: Provider,
    agent: Client,
    form: Mapping[str, Any],
    subject: Token,
    switches: Switches,
) -> ExchangeResult:
    # Step 5: the effective audience switch must be on and exactly one audience sent.
    sent = audiences(form)
    if sent is not None and any(not a for a in sent):
        raise errors.invalid_request(errors.INVALID_AUDIENCE)
    if not agent.accept_audience(provider) or sent is None or len(sent) != 1:
        if switches.choice(opt.AGENT_NO_AUDIENCE) == "agent-only":
            return _agent_only(provider, agent, form, subject)
        raise errors.invalid_request(errors.INVALID_EXCHANGE)
    audience = sent[0]

    # Step 6: privileges of this agent for this application.
    candidates = [
        p
        for p in map(Privilege, view.privileges(realm))
        if p.agent_client_id == agent.client_id and p.application_client_id == audience
    ]
    if not candidates:
        exchange_text = switches.choice(opt.AGENT_NO_PRIVILEGE_ERROR) == "exchange"
        raise errors.invalid_request(errors.INVALID_EXCHANGE if exchange_text else errors.INVALID_AUDIENCE)

    # Step 7: the subject: the agent itself (autonomous) or an end user it acts for.
    flow, matching = _match_subject(view, realm, agent, subject, candidates, switches)

    # Step 8: scopes from the matching privileges' permissions.
    scopes = _granted_scopes(view, realm, audience, matching, requested_scopes(form), switches)

    # Step 10: the agent's own audience allow-list, only when switched on.
    if switches.flag(opt.AGENT_CHECK_AUDIENCE_ALLOW_LIST) and audience not in agent.audience_allow_list:
        raise errors.invalid_request(errors.INVALID_AUDIENCE)

    # Step 9: the issued token.
    grant = _exchanged(provider, agent, subject, scopes, aud=[agent.client_id, audience], act={"sub": agent.client_id})
    return ExchangeResult(grant, flow, tuple(str(p.doc.get("_id", "")) for p in matching))


def _match_subject(
    view: TenantView, realm: str, agent: Client, subject: Token, candidates: list[Privilege], switches: Switches
) -> tuple[str, list[Privilege]]:
    sub = subject.claims.get("sub")
    if sub == subject.claims.get("client_id") == agent.client_id:
        if switches.flag(opt.AGENT_AUTONOMOUS_REQUIRES_NO_SUBJECTS):
            candidates = [p for p in candidates if not p.has_subjects]
        if not candidates:
            raise errors.invalid_request(errors.INVALID_EXCHANGE)
        return AUTONOMOUS, candidates
    if not isinstance(sub, str) or view.user(realm, sub) is None:
        raise errors.invalid_request(errors.INVALID_EXCHANGE)  # another client's own token
    allow_all = switches.choice(opt.AGENT_EMPTY_SUBJECTS) == "allow-all"
    matching = [p for p in candidates if sub in p.subject_ids or (allow_all and not p.has_subjects)]
    if not matching:
        raise errors.invalid_request(errors.INVALID_EXCHANGE)
    return ON_BEHALF_OF, matching


def _granted_scopes(
    view: TenantView, realm: str, audience: str, matching: list[Privilege], requested: list[str], switches: Switches
) -> tuple[str, ...]:
    allowed: list[str] = []
    for privilege in matching:
        for scope in privilege.scopes or _application_scopes(view, realm, audience):
            if scope not in allowed:
                allowed.append(scope)
    if not requested:
        if switches.choice(opt.AGENT_MISSING_SCOPE) == "reject" or not allowed:
            raise errors.no_scope()
        return tuple(allowed)
    rejected = [s for s in requested if s not in allowed]
    if not rejected:
        return tuple(requested)
    granted = [s for s in requested if s in allowed]
    if switches.choice(opt.AGENT_UNPERMITTED_SCOPE) == "downscope" and granted:
        return tuple(granted)
    raise errors.invalid_scope(rejected)


def _application_scopes(view: TenantView, realm: str, audience: str) -> list[str]:
    """Empty permissions mean every scope of the application's OAuth2 client (§7.1)."""
    record = view.oauth_client(realm, audience)
    return Client.from_view(audience, record).scopes if record else []


def _agent_only(provider: Provider, agent: Client, form: Mapping[str, Any], subject: Token) -> ExchangeResult:
    """Switch ``token.agent.noAudience=agent-only``: no privilege check, ``aud`` = the agent (a string),
    scopes checked against the agent's own ``scopes`` like a plain grant."""
    scopes = validate_scopes(agent, requested_scopes(form))
    grant = _exchanged(provider, agent, subject, scopes, aud=agent.client_id, act={"sub": agent.client_id})
    return ExchangeResult(grant, AGENT_ONLY)


def _may_act_exchange(provider: Provider, client: Client, form: Mapping[str, Any], subject: Token) -> ExchangeResult:
    """Plain ``OAuth2Client`` (step 4): the subject token's ``may_act`` must name the client; the
    audience needs the switch and the client's allow-list; the token has no ``act``."""
    may_act = subject.claims.get("may_act") or {}
    actors = may_act.get("client_id") if isinstance(may_act, dict) else None
    actors = [actors] if isinstance(actors, str) else list(actors or [])
    if client.client_id not in actors:
        raise errors.invalid_request(errors.INVALID_EXCHANGE)
    aud: str | list[str] = client.client_id
    sent = audiences(form)
    if sent is not None:
        if any(not a for a in sent):
            raise errors.invalid_request(errors.INVALID_AUDIENCE)
        if client.accept_audience(provider):
            if len(sent) != 1 or sent[0] not in client.audience_allow_list:
                raise errors.invalid_request(errors.INVALID_AUDIENCE)
            aud = [client.client_id, sent[0]]
    scopes = validate_scopes(client, requested_scopes(form))
    return ExchangeResult(_exchanged(provider, client, subject, scopes, aud=aud, act=None), MAY_ACT)


def _exchanged(
    provider: Provider,
    client: Client,
    subject: Token,
    scopes: tuple[str, ...],
    aud: str | list[str],
    act: dict[str, Any] | None,
) -> Grant:
    """Subject and authentication facts are copied from the subject token; the rest is the actor's."""
    claims = subject.claims
    return Grant(
        sub=str(claims["sub"]),
        client_id=client.client_id,
        scopes=scopes,
        grant_type=TOKEN_EXCHANGE,
        aud=aud,
        lifetime=client.access_token_lifetime(provider),
        act=act,
        auth_level=claims.get("auth_level"),
        auth_time=claims.get("auth_time"),
    )
