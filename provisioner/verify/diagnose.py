"""Map a refused OAuth request to its likely cause, in words a platform engineer can act on.

Pure: takes the :class:`~provisioner.client.oauth.OAuthError` and a :class:`Step` describing what was
asked. Branches on the RFC 6749 ``error`` code first; the description text is consulted only to tell
apart the two ``invalid_request`` cases AM is known to use for token exchange (reference §8.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner import redact
from provisioner.client.oauth import OAuthError
from provisioner.grants import CLIENT_CREDENTIALS, PASSWORD, TOKEN_EXCHANGE
from provisioner.verify.claims import fmt

CLIENT_CREDENTIALS_STEP = "client_credentials"
PASSWORD_STEP = "password"
EXCHANGE_STEP = "exchange"
TOKENINFO_STEP = "tokeninfo"

_GRANTS = {CLIENT_CREDENTIALS_STEP: CLIENT_CREDENTIALS, PASSWORD_STEP: PASSWORD, EXCHANGE_STEP: TOKEN_EXCHANGE}
_LABELS = {
    CLIENT_CREDENTIALS_STEP: "client credentials token",
    PASSWORD_STEP: "user token (password grant)",
    EXCHANGE_STEP: "token exchange",
    TOKENINFO_STEP: "tokeninfo",
}
INVALID_EXCHANGE = "invalid token exchange."
INVALID_AUDIENCE = "invalid audience requested."


@dataclass(frozen=True)
class Step:
    """What was asked of the token endpoint, for the diagnosis (no secret values, only references).

    ``client_id``: the authenticating client; ``secret_ref``: ``str(SecretRef)`` of its secret;
    ``auth_method``: its ``tokenEndpointAuthMethod``; ``audience``/``scopes``: the request;
    ``permitted``: the privilege's scopes (exchange); ``agent``: the acting agent (exchange);
    ``username``/``password_ref``: the test user (password grant); ``on_behalf_of``: user subject token.
    """

    kind: str
    client_id: str
    secret_ref: str | None = None
    auth_method: str | None = None
    audience: str | None = None
    scopes: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    agent: str | None = None
    username: str | None = None
    password_ref: str | None = None
    on_behalf_of: bool = False


def refused(error: OAuthError) -> str:
    """``invalid_scope`` / ``invalid_request (Invalid token exchange.)`` — the tenant's own words."""
    if error.status is None:
        return "no response"
    code = error.error or f"HTTP {error.status}"
    return f"{code} ({error.error_description})" if error.error_description else code


def diagnose(error: OAuthError, step: Step) -> str:
    """One sentence: what was refused, the tenant's error, and the likely cause with the setting to fix."""
    label = _LABELS.get(step.kind, step.kind)
    head = f"{label} refused: {refused(error)}"
    code = (error.error or "").lower()
    text = (error.error_description or "").strip().lower()

    if error.status is None:
        return f"{label} failed: {error.error_description or 'no response from the tenant'} — check the tenant URL and network"
    if code == "unsupported_grant_type":
        grant = _GRANTS.get(step.kind, step.kind)
        return f"{head} — the realm's OAuth2 provider does not allow {grant} (OAuth2Provider grantTypes)"
    if code == "unauthorized_client":
        grant = _GRANTS.get(step.kind, step.kind)
        return f"{head} — {step.client_id} is not allowed the grant {grant} (its grantTypes)"
    if code == "invalid_client":
        return (
            f"{head} — client authentication failed for {step.client_id} — check the secret referenced by "
            f"{step.secret_ref or '(no clientSecret declared)'} and tokenEndpointAuthMethod "
            f"{step.auth_method or 'client_secret_basic'}"
        )
    if code == "invalid_grant" and step.kind == PASSWORD_STEP:
        return (
            f"{head} — the test user {step.username} could not sign in: check the password referenced by "
            f"{step.password_ref} and that the user exists and is active"
        )
    if code == "invalid_scope":
        return _scope(head, step)
    if code == "invalid_request" and step.kind == EXCHANGE_STEP:
        if text == INVALID_AUDIENCE:
            target = step.audience if step.audience else "(no audience)"
            return (
                f"{head} — {step.agent or step.client_id} has no privilege for application {target} "
                f"(AIAgent applications), or the application's client id differs"
            )
        if text == INVALID_EXCHANGE:
            causes = [
                "the audience parameter is not accepted: providerOverrides.acceptAudienceInTokenExchange "
                "on the agent (with providerOverrides.enabled), or the OAuth2Provider's acceptAudienceInTokenExchange",
            ]
            subject = (
                "the user is not a subject of the privilege (subjects / subjectGroups)"
                if step.on_behalf_of
                else "the subject is not permitted by the privilege"
            )
            causes.append(subject)
            causes.append("the subject token is expired or from another realm")
            return f"{head} — likely causes: " + "; ".join(causes)
    if step.kind == TOKENINFO_STEP:
        return f"{head} — the tenant does not recognise the token it just issued (expired, or another realm)"
    return redact.text(head)


def _scope(head: str, step: Step) -> str:
    asked = fmt(step.scopes) if step.scopes else "(none: default scopes)"
    if step.kind == EXCHANGE_STEP:
        return (
            f"{head} — asked {asked}; the privilege of {step.agent or step.client_id} on "
            f"{step.audience} permits {fmt(step.permitted)} in the manifests; if these agree, the "
            f"tenant's privilege differs (run `provisioner plan`)"
        )
    return f"{head} — asked {asked}; {step.client_id} must have these in its scopes (or declare defaultScopes)"
