"""One exception class per failure of the emulated API, each carrying its status and wire body.

Handlers and the backend raise these; :func:`provisioner.emulator.response.error_response` is the one
place that turns them into HTTP responses (CREST bodies for ``/am/json`` and ``/openidm``, CREST
without ``reason`` for ``/environment``, RFC 6749 bodies for the token endpoint).
"""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}

NOT_AVAILABLE = "This operation is not available in PingOne Advanced Identity Cloud."


class EmulatorError(Exception):
    """Base of every expected failure of the emulated API."""

    status = 500

    def __init__(self, message: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    def body(self, family: str) -> dict[str, Any]:
        raise NotImplementedError


class CrestError(EmulatorError):
    """A CREST error: ``{"code","reason","message"[,"detail"]}``."""

    default_message = "Internal Server Error"

    def __init__(
        self,
        message: str | None = None,
        detail: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message if message is not None else self.default_message, headers)
        if status is not None:
            self.status = status
        self.detail = detail

    def body(self, family: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.status,
            "reason": REASONS.get(self.status, "Error"),
            "message": self.message,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        if family == "env":  # /environment/* errors carry no reason (reference §9.1)
            del body["reason"]
        return body


class BadRequest(CrestError):
    status = 400
    default_message = "Bad Request"


class InvalidAttribute(BadRequest):
    default_message = "Invalid attribute specified."


class UnsupportedVersion(BadRequest):
    default_message = "Unsupported resource version"


class Unauthorized(CrestError):
    status = 401
    default_message = "Access Denied"


class Forbidden(CrestError):
    status = 403
    default_message = "Access denied"


class NotAvailable(Forbidden):
    default_message = NOT_AVAILABLE


class NotFound(CrestError):
    status = 404
    default_message = "Not Found"


class MethodNotAllowed(CrestError):
    status = 405
    default_message = "Method not allowed"


class Conflict(CrestError):
    status = 409
    default_message = "Conflict"


class PreconditionFailed(CrestError):
    status = 412
    default_message = "Resource already exists"


class RevisionMismatch(PreconditionFailed):
    default_message = "Precondition failed"


class NotImplementedYet(CrestError):
    status = 501
    default_message = "Not Implemented"


class PolicyFailure(CrestError):
    """IDM policy validation failure (reference §9.2): 403 with ``failedPolicyRequirements``."""

    status = 403
    default_message = "Failed policy validation"

    def __init__(self, prop: str, requirement: str, params: dict[str, Any] | None = None) -> None:
        item: dict[str, Any] = {"policyRequirement": requirement}
        if params is not None:
            item = {"params": params, "policyRequirement": requirement}
        detail = {"result": False, "failedPolicyRequirements": [{"policyRequirements": [item], "property": prop}]}
        super().__init__(None, detail)


class OAuthError(EmulatorError):
    """An RFC 6749 §5.2 error of the admin token endpoint."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(description, headers)
        self.error = error
        self.status = status

    def body(self, family: str) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.message}
