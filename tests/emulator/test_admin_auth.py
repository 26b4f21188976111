"""Admin authentication (reference §2): the JWT-bearer grant, bearer checks, the session limit."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm

from provisioner.emulator.oauth.keys import generate_rsa_jwk

from .conftest import AM_V1, Emu, admin_token, token_response

ACCESS_DENIED = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}


def provider_url(emu: Emu) -> str:
    return emu.am("realm-config/services/oauth-oidc")


def test_token_response_shape_and_claims(emu: Emu) -> None:
    r = token_response(emu.server)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 899
    assert body["scope"] == "fr:am:* fr:idm:*"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
    assert claims["scope"] == ["fr:am:*", "fr:idm:*"] and claims["sub"] == emu.server.service_account["id"]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_missing_or_invalid_token_is_401(emu: Emu, header: str | None) -> None:
    headers = {"Accept-API-Version": AM_V1}
    if header:
        headers["Authorization"] = header
    for url in (provider_url(emu), emu.idm("managed/alpha_user?_queryFilter=true")):
        r = requests.get(url, headers=headers, timeout=5)
        assert r.status_code == 401 and r.json() == ACCESS_DENIED
    env = requests.post(f"{emu.url}/environment/aiagent?_action=enable", headers=headers, timeout=5)
    assert env.status_code == 401


def test_token_signed_by_another_key_is_401(emu: Emu) -> None:
    private, _ = generate_rsa_jwk()
    forged = jwt.encode(
        {
            "sub": emu.server.service_account["id"],
            "client_id": "service-account",
            "scope": ["fr:am:*"],
            "exp": int(time.time()) + 60,
        },
        RSAAlgorithm.from_jwk(private),
        algorithm="RS256",
    )  # type: ignore[arg-type]
    r = requests.get(provider_url(emu), headers={"Authorization": f"Bearer {forged}"}, timeout=5)
    assert r.status_code == 401


def test_expired_token_is_401(emu: Emu) -> None:
    server = emu.server
    token = admin_token(server)
    clock = server.backend.clock
    server.backend.clock = lambda: clock() + 901
    try:
        r = requests.get(provider_url(emu), headers={"Authorization": f"Bearer {token}"}, timeout=5)
    finally:
        server.backend.clock = clock
    assert r.status_code == 401 and r.json() == ACCESS_DENIED


def test_scope_is_enforced_per_api(emu: Emu) -> None:
    am_only = {"Authorization": f"Bearer {admin_token(emu.server, 'fr:am:*')}", "Accept-API-Version": AM_V1}
    assert requests.get(provider_url(emu), headers=am_only, timeout=5).status_code == 200
    idm = requests.get(emu.idm("managed/alpha_user?_queryFilter=true"), headers=am_only, timeout=5)
    assert idm.status_code == 403 and idm.json() == {"code": 403, "reason": "Forbidden", "message": "Access denied"}
    env = requests.post(f"{emu.url}/environment/aiagent?_action=enable", headers=am_only, timeout=5)
    assert env.status_code == 403 and env.json() == {"code": 403, "message": "Access denied"}
    idm_only = {"Authorization": f"Bearer {admin_token(emu.server, 'fr:idm:*')}", "Accept-API-Version": AM_V1}
    assert requests.get(provider_url(emu), headers=idm_only, timeout=5).status_code == 403


def test_grant_errors(emu: Emu) -> None:
    server = emu.server
    r = token_response(server, "fr:am:* fr:iga:* fr:idc:esv:*")
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_scope",
        "error_description": "Unsupported scope for service account: fr:iga:*,fr:idc:esv:*",
    }
    assert token_response(server, aud="https://elsewhere/am/oauth2/access_token").json()["error"] == "invalid_grant"
    assert token_response(server, exp_in=901).json()["error"] == "invalid_grant"
    assert token_response(server, exp_in=-5).json()["error"] == "invalid_grant"
    assert token_response(server, jti=False).json()["error"] == "invalid_grant"
    other, _ = generate_rsa_jwk()
    assert token_response(server, key=other).json()["error"] == "invalid_grant"
    assert token_response(server, iss="someone-else").json() == {
        "error": "invalid_grant",
        "error_description": "Unknown JWT issuer",
    }
    wrong_client = requests.post(
        server.token_url,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": "x", "assertion": "a.b.c"},
        timeout=5,
    )
    assert wrong_client.json()["error"] == "invalid_client"
    assert token_response(server, scope=None).json()["scope"] == "fr:am:* fr:idm:*"


def test_session_limit_deny(emu: Emu) -> None:
    # the Emu fixture already holds one session
    for _ in range(4):
        assert token_response(emu.server).status_code == 200
    sixth = token_response(emu.server)
    assert sixth.status_code == 400
    assert sixth.json() == {"error": "invalid_grant", "error_description": "Session quota exceeded"}


def test_session_limit_evict_oldest(emu: Emu) -> None:
    emu.control("PATCH", "config", {"sa.sessionLimitMode": "evict-oldest", "sa.sessionLimit": 2})
    oldest = emu.token  # opened before the switch; still counts
    second = admin_token(emu.server)
    newest = admin_token(emu.server)
    for token, status in ((oldest, 401), (second, 200), (newest, 200)):
        r = requests.get(
            provider_url(emu), headers={"Authorization": f"Bearer {token}", "Accept-API-Version": AM_V1}, timeout=5
        )
        assert r.status_code == status


def test_session_limit_off(emu: Emu) -> None:
    emu.control("PATCH", "config", {"sa.sessionLimitMode": "off"})
    for _ in range(8):
        assert token_response(emu.server).status_code == 200


def test_token_endpoint_accepts_443_variant_only_for_portless_urls(emu: Emu) -> None:
    url = emu.url.replace("http://", "https://") + "/am/oauth2/access_token"
    assert token_response(emu.server, aud=url).status_code == 400
