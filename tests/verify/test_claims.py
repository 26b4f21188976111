"""Claim checks: both shapes of ``aud`` and ``scope``, exact messages."""

from __future__ import annotations

import pytest

from provisioner.grants import TOKEN_EXCHANGE
from provisioner.verify import claims
from provisioner.verify.model import FAIL, PASS

AGENT = "bot-agent"
APP = "logs-app"


def _by_claim(checks):
    return {c.name.split(": ", 1)[1]: c for c in checks}


@pytest.mark.parametrize("aud", ["bot-agent", ["bot-agent"]])
def test_client_credentials_claims_accept_both_aud_shapes(aud):
    info = {"sub": AGENT, "aud": aud, "scope": ["monitor-system"]}
    checks = claims.client_credentials_claims(AGENT, AGENT, ["monitor-system"], info)
    assert [c.status for c in checks] == [PASS, PASS, PASS]
    assert [c.name for c in checks] == [
        "client credentials: sub",
        "client credentials: aud",
        "client credentials: scope",
    ]


def test_client_credentials_scope_as_string_and_wrong_aud():
    info = {"sub": AGENT, "aud": "someone-else", "scope": "monitor-system"}
    sub, aud, scope = claims.client_credentials_claims(AGENT, AGENT, ["monitor-system"], info)
    assert (sub.status, scope.status) == (PASS, PASS)
    assert aud.status == FAIL
    assert aud.actual == "someone-else"
    assert aud.message == "aud is someone-else, expected bot-agent alone"


def test_exchange_claims_all_pass_with_array_aud():
    info = {
        "sub": AGENT,
        "act": {"sub": AGENT},
        "aud": [AGENT, APP],
        "scope": ["logs-search", "logs-read"],
        "grant_type": TOKEN_EXCHANGE,
    }
    checks = claims.exchange_claims(
        AGENT,
        f"exchange → {APP}",
        info,
        subject=AGENT,
        agent=AGENT,
        application=APP,
        permitted=["logs-read", "logs-search"],
    )
    assert [c.status for c in checks] == [PASS] * 5
    by = _by_claim(checks)
    assert by["aud"].expected == "contains bot-agent, logs-app"
    assert by["aud"].actual == "[bot-agent, logs-app]"
    assert by["scope"].expected == by["scope"].actual == "[logs-read, logs-search]"


def test_exchange_claims_failures_explain_themselves():
    info = {"sub": "user-1", "aud": AGENT, "scope": ["logs-read", "admin"], "grant_type": "client_credentials"}
    by = _by_claim(
        claims.exchange_claims(
            AGENT, "x", info, subject="user-2", agent=AGENT, application=APP, permitted=["logs-read", "logs-search"]
        )
    )
    assert by["sub"].message == "sub is user-1, expected user-2"
    assert by["act.sub"].actual == "(absent)"
    assert by["act.sub"].message.startswith("no act claim")
    assert by["aud"].message == "aud lacks logs-app — the tenant did not apply the requested audience"
    assert by["scope"].message == (
        "not granted [logs-search]; granted beyond what was permitted [admin] — the tenant differs from "
        "the manifests; run `provisioner plan` to see the drift"
    )
    assert by["grant_type"].status == FAIL
    assert all(c.status == FAIL for c in by.values())


def test_values_and_aud_values():
    assert claims.values("a b  c") == ["a", "b", "c"]
    assert claims.values(["a", "", None]) == ["a"]
    assert claims.values(None) == []
    assert claims.aud_values("a b") == ["a b"]  # an audience string is never split
    assert claims.aud_values(["x", "y"]) == ["x", "y"]
    assert claims.fmt(["b", "a", "a"]) == "[a, b]"
