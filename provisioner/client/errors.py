"""Typed tenant errors, by failure class, all built in one place: :func:`from_response`.

The message always names the request and never carries a secret or a request body::

    PUT /am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/x: 412 Precondition Failed: Resource already exists

Branch on the class (or ``status``/``code``), never on message text (reference §9.1).
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

from provisioner import redact
from provisioner.client.response import Response
from provisioner.client.retry import parse_retry_after
from provisioner.errors import ProvisionerError

_SNIPPET = 200  # characters of a non-JSON error body worth showing (proxy HTML pages and the like)


class TenantError(ProvisionerError):
    """The tenant refused or failed a request.

    ``status``: HTTP status (``None`` for transport failures); ``code``: CREST ``code`` or OAuth ``error``;
    ``reason``: HTTP reason phrase; ``server_message``: CREST ``message`` / OAuth ``error_description``;
    ``detail``: CREST ``detail`` (already redacted); ``method``/``path``: the request.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        reason: str | None = None,
        method: str | None = None,
        path: str | None = None,
        detail: Any = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(redact.text(message))
        self.status = status
        self.code = code
        self.reason = reason
        self.method = method
        self.path = path
        self.detail = detail
        self.server_message = server_message


class MalformedResponse(TenantError):
    """A 2xx answer without the documented shape (not JSON, truncated, no ``result`` array)."""


class BadRequest(TenantError):
    """400: the tenant rejected the request's content (CREST or OAuth ``invalid_*``)."""


class Unauthorized(TenantError):
    """401: missing, expired or revoked token (after the one refresh), or bad client authentication."""


class Forbidden(TenantError):
    """403: not allowed (scope, root realm, ``Access denied``)."""


class PolicyFailure(Forbidden):
    """403 ``Failed policy validation`` from IDM; ``failed`` maps property → requirement names."""

    def __init__(self, message: str, *, failed: Mapping[str, list[str]] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.failed: dict[str, list[str]] = dict(failed or {})


class NotFound(TenantError):
    """404: no such object (or the feature's endpoints are absent)."""


class Conflict(TenantError):
    """409: the object conflicts with existing state."""


class PreconditionFailed(Conflict):
    """412: ``If-None-Match: *`` on an existing object, or ``If-Match`` on a moved revision."""


class RateLimited(TenantError):
    """429 after the retries ran out; ``retry_after`` in seconds when the tenant said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(TenantError):
    """5xx after the retries ran out (or on a request that must not be retried)."""


class FeatureDisabled(TenantError):
    """A tenant feature the request needs is off (501 from AM, or AI agents not enabled in time)."""


class TransportError(TenantError):
    """No HTTP response: connection refused/reset, timeout, TLS failure.

    ``ambiguous`` is ``True`` when the request may have reached the server and been applied (the
    connection dropped or timed out after sending). A create that fails ambiguously is not retried:
    re-read and match by key instead.
    """

    def __init__(self, message: str, *, ambiguous: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.ambiguous = ambiguous


_BY_STATUS: dict[int, type[TenantError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: RateLimited,
    501: FeatureDisabled,
}


def reason_phrase(status: int) -> str:
    """``412`` → ``Precondition Failed``; unknown codes → ``HTTP <n>``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def request_label(method: str, path: str) -> str:
    """``PUT /am/json/...`` with the path redacted (query strings should already be left off)."""
    return redact.text(f"{method.upper()} {path}")


def policy_failures(detail: Any) -> dict[str, list[str]]:
    """Property → requirement names from an IDM ``failedPolicyRequirements`` detail (reference §9.2)."""
    failed: dict[str, list[str]] = {}
    if not isinstance(detail, Mapping):
        return failed
    for item in detail.get("failedPolicyRequirements") or []:
        if not isinstance(item, Mapping):
            continue
        prop = str(item.get("property", "?"))
        names = [
            str(req.get("policyRequirement"))
            for req in item.get("policyRequirements") or []
            if isinstance(req, Mapping) and req.get("policyRequirement")
        ]
        failed.setdefault(prop, []).extend(names)
    return failed


def from_response(method: str, path: str, response: Response) -> TenantError:
    """Build the typed error for a non-2xx ``response`` to ``method path`` (pure; no I/O).

    Understands CREST bodies (``code``, ``reason``, ``message``, ``detail``), OAuth bodies (``error``,
    ``error_description``), ``/environment`` bodies (``code``, ``message``; no ``reason``) and anything
    else (a short, redacted text snippet).
    """
    status = response.status
    body = response.body
    reason = reason_phrase(status)
    code: int | str | None = None
    server_message: str | None = None
    detail: Any = None
    if isinstance(body, Mapping) and "error" in body and isinstance(body.get("error"), str):
        code = body["error"]
        description = body.get("error_description")
        server_message = f"{code}: {description}" if description else str(code)
    elif isinstance(body, Mapping):
        code = body.get("code") if isinstance(body.get("code"), (int, str)) else None
        if isinstance(body.get("reason"), str) and body["reason"]:
            reason = body["reason"]
        if body.get("message") not in (None, ""):
            server_message = str(body["message"])
        detail = redact.data(body.get("detail")) if body.get("detail") is not None else None
    elif isinstance(body, str) and body.strip():
        server_message = " ".join(body.split())[:_SNIPPET]

    text = f"{request_label(method, path)}: {status} {reason}"
    if server_message and server_message != reason:
        text += f": {server_message}"

    kwargs: dict[str, Any] = dict(
        status=status,
        code=code,
        reason=reason,
        method=method.upper(),
        path=path,
        detail=detail,
        server_message=redact.text(server_message) if server_message else None,
    )
    failed = policy_failures(detail) if status == 403 else {}
    if failed or (status == 403 and server_message == "Failed policy validation"):
        if failed:
            text += " (" + "; ".join(f"{p}: {', '.join(r) or '?'}" for p, r in sorted(failed.items())) + ")"
        return PolicyFailure(text, failed=failed, **kwargs)
    if status == 429:
        return RateLimited(text, retry_after=parse_retry_after(response.retry_after), **kwargs)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else TenantError
    return cls(text, **kwargs)


def transport_error(method: str, path: str, problem: str, *, ambiguous: bool) -> TransportError:
    """The error for a request that got no HTTP response; ``problem`` is a short cause (no secrets)."""
    text = f"{request_label(method, path)}: {problem}"
    if ambiguous:
        text += "; the request may have been applied (re-read before retrying)"
    return TransportError(text, ambiguous=ambiguous, method=method.upper(), path=path)
