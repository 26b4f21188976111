"""``from_response``: canned CREST / OAuth / other bodies → typed errors with exact messages (pure)."""

from __future__ import annotations

import pytest

from provisioner import redact
from provisioner.client.errors import (
    BadRequest,
    Conflict,
    FeatureDisabled,
    Forbidden,
    NotFound,
    PolicyFailure,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TenantError,
    TransportError,
    Unauthorized,
    from_response,
    transport_error,
)
from provisioner.client.response import Response
from provisioner.errors import ProvisionerError

AGENT = "/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/x"
PRIV = "/openidm/managed/alpha_aiagentprivilege/07707883"

CASES = [
    (
        "PUT",
        AGENT,
        412,
        {"code": 412, "reason": "Precondition Failed", "message": "Resource already exists"},
        PreconditionFailed,
        f"PUT {AGENT}: 412 Precondition Failed: Resource already exists",
    ),
    (
        "GET",
        AGENT,
        404,
        {"code": 404, "reason": "Not Found", "message": "Not Found"},
        NotFound,
        f"GET {AGENT}: 404 Not Found",
    ),
    (
        "GET",
        "/am/json/realms/root/realm-config/agents/OAuth2Client",
        403,
        {
            "code": 403,
            "reason": "Forbidden",
            "message": "This operation is not available in PingOne Advanced Identity Cloud.",
        },
        Forbidden,
        "GET /am/json/realms/root/realm-config/agents/OAuth2Client: 403 Forbidden: "
        "This operation is not available in PingOne Advanced Identity Cloud.",
    ),
    (
        "PUT",
        "/am/json/x",
        409,
        {"code": 409, "reason": "Conflict", "message": "Unable to save config: Service already exists"},
        Conflict,
        "PUT /am/json/x: 409 Conflict: Unable to save config: Service already exists",
    ),
    (
        "PUT",
        "/am/json/x",
        400,
        {
            "code": 400,
            "reason": "Bad Request",
            "message": "Invalid attribute specified.",
            "detail": {"validAttributes": ["acrValues"]},
        },
        BadRequest,
        "PUT /am/json/x: 400 Bad Request: Invalid attribute specified.",
    ),
    (
        "GET",
        "/am/json/x",
        401,
        {"code": 401, "reason": "Unauthorized", "message": "Access Denied"},
        Unauthorized,
        "GET /am/json/x: 401 Unauthorized: Access Denied",
    ),
    (
        "GET",
        "/am/json/x",
        501,
        {"code": 501, "reason": "Not Implemented", "message": "OAuth 2.0 for Things is not enabled"},
        FeatureDisabled,
        "GET /am/json/x: 501 Not Implemented: OAuth 2.0 for Things is not enabled",
    ),
    (
        "POST",
        "/environment/aiagent",
        500,
        {"code": 500, "message": "enable failed"},
        ServerError,
        "POST /environment/aiagent: 500 Internal Server Error: enable failed",
    ),
    (
        "GET",
        "/openidm/managed/alpha_user",
        503,
        None,
        ServerError,
        "GET /openidm/managed/alpha_user: 503 Service Unavailable",
    ),
    (
        "GET",
        "/openidm/x",
        502,
        "<html><body>\n  Bad   gateway </body></html>",
        ServerError,
        "GET /openidm/x: 502 Bad Gateway: <html><body> Bad gateway </body></html>",
    ),
    (
        "POST",
        "/am/oauth2/access_token",
        400,
        {"error": "invalid_grant", "error_description": "Session quota exceeded"},
        BadRequest,
        "POST /am/oauth2/access_token: 400 Bad Request: invalid_grant: Session quota exceeded",
    ),
    (
        "POST",
        "/am/oauth2/realms/root/realms/alpha/access_token",
        401,
        {"error": "invalid_client"},
        Unauthorized,
        "POST /am/oauth2/realms/root/realms/alpha/access_token: 401 Unauthorized: invalid_client",
    ),
    ("GET", "/x", 418, {}, TenantError, "GET /x: 418 I'm a Teapot"),
    ("GET", "/x", 599, {}, ServerError, "GET /x: 599 HTTP 599"),
]


@pytest.mark.parametrize("method,path,status,body,cls,message", CASES)
def test_from_response(method: str, path: str, status: int, body: object, cls: type, message: str) -> None:
    error = from_response(method, path, Response(status, {}, body))
    assert type(error) is cls
    assert isinstance(error, ProvisionerError)
    assert str(error) == message
    assert (error.status, error.method, error.path) == (status, method, path)


def test_crest_fields() -> None:
    body = {
        "code": 400,
        "reason": "Bad Request",
        "message": "Invalid attribute specified.",
        "detail": {"validAttributes": ["acrValues", "claims"]},
    }
    error = from_response("PUT", "/am/json/x", Response(400, {}, body))
    assert (error.code, error.reason, error.server_message) == (400, "Bad Request", "Invalid attribute specified.")
    assert error.detail == {"validAttributes": ["acrValues", "claims"]}


def test_oauth_fields() -> None:
    error = from_response("POST", "/t", Response(400, {}, {"error": "invalid_scope", "error_description": "nope"}))
    assert error.code == "invalid_scope"
    assert error.server_message == "invalid_scope: nope"


def test_policy_failure_exposes_failed_properties() -> None:
    body = {
        "code": 403,
        "reason": "Forbidden",
        "message": "Failed policy validation",
        "detail": {
            "result": False,
            "failedPolicyRequirements": [
                {
                    "policyRequirements": [
                        {
                            "params": {"invalidType": "object", "validTypes": ["array"]},
                            "policyRequirement": "VALID_TYPE",
                        }
                    ],
                    "property": "aiagentprivileges",
                },
                {"policyRequirements": [{"policyRequirement": "REQUIRED"}], "property": "agent"},
            ],
        },
    }
    error = from_response("PUT", PRIV, Response(403, {}, body))
    assert isinstance(error, PolicyFailure) and isinstance(error, Forbidden)
    assert error.failed == {"aiagentprivileges": ["VALID_TYPE"], "agent": ["REQUIRED"]}
    assert str(error) == (
        f"PUT {PRIV}: 403 Forbidden: Failed policy validation (agent: REQUIRED; aiagentprivileges: VALID_TYPE)"
    )


def test_412_is_a_conflict() -> None:
    assert issubclass(PreconditionFailed, Conflict)


@pytest.mark.parametrize("header,expected", [("7", 7.0), (None, None), ("junk", None)])
def test_rate_limited_carries_retry_after(header: str | None, expected: float | None) -> None:
    headers = {"Retry-After": header} if header else {}
    error = from_response(
        "GET", "/x", Response(429, headers, {"code": 429, "reason": "Too Many Requests", "message": "slow down"})
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == expected
    assert str(error) == "GET /x: 429 Too Many Requests: slow down"


def test_no_secret_in_messages() -> None:
    secret = "tok-3f9a8b7c6d5e4f3a2b1c"
    redact.register(secret)
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eHh4eHgifQ.c2lnbmF0dXJl"
    body = {
        "code": 400,
        "reason": "Bad Request",
        "message": f"bad token {secret} / {jwt}",
        "detail": {"client_secret": "abc123456", "echo": secret},
    }
    error = from_response("GET", f"/openidm/x/{secret}", Response(400, {}, body))
    assert secret not in str(error) and jwt not in str(error)
    assert "(sensitive)" in str(error)
    assert error.detail == {"client_secret": "(sensitive)", "echo": "(sensitive)"}
    assert secret not in (error.server_message or "")


def test_transport_error_messages() -> None:
    error = transport_error("PUT", AGENT, "the connection was dropped (attempt 1)", ambiguous=True)
    assert isinstance(error, TransportError) and error.ambiguous and error.status is None
    assert str(error) == (
        f"PUT {AGENT}: the connection was dropped (attempt 1); "
        "the request may have been applied (re-read before retrying)"
    )
    plain = transport_error("GET", "/x", "could not connect (attempt 5)", ambiguous=False)
    assert str(plain) == "GET /x: could not connect (attempt 5)" and not plain.ambiguous
