"""Secret markers: fast for generated secrets, slow for the rest, old markers readable and rewritten on touch,
no re-hashing in apply's confirmation plan, live probes (``--check-secrets``) against the emulator."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import pytest

from provisioner.kinds import secrets as markers
from provisioner.kinds.oauth2client import secret_marker, update_document
from tests.core.conftest import AGENT, APP, Tenant, bot_args

STRONG_AGENT = secrets.token_urlsafe(32)
STRONG_APP = secrets.token_hex(32)


def test_generated_secrets_get_the_fast_marker_and_human_ones_the_slow_one() -> None:
    for value in (secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_urlsafe(48)):
        assert markers.is_strong(value)
        marker = markers.make_marker(value)
        assert marker.startswith("hmac-sha256$") and value not in marker
        assert markers.verify_marker(marker, value) and not markers.verify_marker(marker, value + "x")
        assert not markers.needs_rewrite(marker, value)
    for value in (
        "Password1" * 4,
        "demo-logs-api-secret-1234567",
        "correct horse battery staple and more words",
        "a" * 64,
        secrets.token_hex(8),
    ):
        assert not markers.is_strong(value)
        assert markers.make_marker(value, iterations=1000).startswith("pbkdf2-sha256$1000$")


def test_an_old_slow_marker_of_a_strong_secret_verifies_and_asks_to_be_rewritten() -> None:
    old = markers.make_marker(STRONG_AGENT, algorithm=markers.ALGORITHM, iterations=1000)
    assert markers.verify_marker(old, STRONG_AGENT)
    assert markers.needs_rewrite(old, STRONG_AGENT)
    assert not markers.verify_marker("hmac-sha256$bad", STRONG_AGENT)
    assert not markers.verify_marker("hmac-sha256$AAAA$!!!!", STRONG_AGENT)


def test_verify_many_trusts_a_marker_this_run_wrote_without_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(markers.hashlib, "pbkdf2_hmac", lambda *a: calls.append(1) or real(*a))
    slow = markers.make_marker("human secret", iterations=1000)
    assert len(calls) == 1
    assert markers.verify_many([("a", slow, "human secret"), ("b", slow, "other")], known={"a": slow}) == {
        "a": True,
        "b": False,
    }
    assert len(calls) == 2  # only "b" was hashed


def _pbkdf2_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(markers.hashlib, "pbkdf2_hmac", lambda *a: calls.append(1) or real(*a))
    return calls


def test_cold_apply_confirmation_plan_does_not_hash_the_markers_it_wrote(
    tenant: Tenant, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _pbkdf2_calls(monkeypatch)  # demo.env's secrets are human-made: slow markers
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0 and "Apply complete" in out, out + err
    assert "still differ" not in out.lower()
    assert len(calls) == 2  # one marker made per client; the confirmation plan hashed nothing
    calls.clear()
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0
    assert len(calls) == 2  # a later run does verify both


def _am_docs(tenant: Tenant) -> dict[str, Any]:
    with tenant.admin() as t:
        am = t.client.am("alpha")
        return {**{d["_id"]: d for d in am.list("OAuth2Client")}, **{d["_id"]: d for d in am.list("AIAgent")}}


def _put_old_marker(tenant: Tenant, kind: str, key: str, secret: str, drop_scope: str | None = None) -> None:
    with tenant.admin() as t:
        am = t.client.am("alpha")
        current = next(d for d in am.list(kind) if d["_id"] == key)
        old = markers.make_marker(secret, algorithm=markers.ALGORITHM, iterations=1000)
        body, _ = update_document(current, (), {}, "alpha", secret_hash=old)
        if drop_scope:
            body["coreOAuth2ClientConfig"]["scopes"] = [
                s for s in body["coreOAuth2ClientConfig"]["scopes"] if s != drop_scope
            ]
        am.put(kind, key, body)


def test_old_markers_stay_valid_and_are_rewritten_by_the_next_apply_that_writes_the_object(
    tenant: Tenant, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_AGENT_SECRET", STRONG_AGENT)
    monkeypatch.setenv("LOGS_API_APP_SECRET", STRONG_APP)
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    docs = _am_docs(tenant)
    assert secret_marker(docs[AGENT]).startswith("hmac-sha256$")
    assert secret_marker(docs[APP]).startswith("hmac-sha256$")

    # An older version wrote PBKDF2 markers; the agent has also drifted (a scope removed by hand).
    _put_old_marker(tenant, "OAuth2Client", APP, STRONG_APP)
    _put_old_marker(tenant, "AIAgent", AGENT, STRONG_AGENT, drop_scope="monitor-system")
    code, out, _ = cli("plan", *bot_args(tenant), "--detailed-exitcode")
    assert code == 2 and "clientSecret" not in out  # the old markers still prove the secrets
    tenant.reset_stats()
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0 and "Apply complete: 1 done" in out, out + err
    docs = _am_docs(tenant)
    assert secret_marker(docs[AGENT]).startswith("hmac-sha256$")  # written anyway: marker rewritten
    assert markers.verify_marker(secret_marker(docs[AGENT]), STRONG_AGENT)
    assert secret_marker(docs[APP]).startswith("pbkdf2-sha256$")  # not touched: left as it was
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0


def test_check_secrets_probes_every_client_and_finds_a_changed_secret(
    tenant: Tenant, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_AGENT_SECRET", STRONG_AGENT)
    monkeypatch.setenv("LOGS_API_APP_SECRET", STRONG_APP)
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    tenant.reset_stats()
    code, out, _ = cli("plan", *bot_args(tenant), "--check-secrets", "--detailed-exitcode")
    assert code == 0, out
    assert tenant.stats()["oauth"] == 2  # one introspect probe per client
    # Someone rotated the agent's secret on the tenant without touching the marker: only the probe sees it.
    with tenant.admin() as t:
        am = t.client.am("alpha")
        current = next(d for d in am.list("AIAgent") if d["_id"] == AGENT)
        body, _ = update_document(current, (), {}, "alpha", secret=secrets.token_urlsafe(32))
        body["advancedOAuth2ClientConfig"]["customProperties"] = current["advancedOAuth2ClientConfig"][
            "customProperties"
        ]
        am.put("AIAgent", AGENT, body)
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0  # the marker cannot tell
    code, out, _ = cli("plan", *bot_args(tenant), "--check-secrets", "--detailed-exitcode")
    assert code == 2 and "clientSecret" in out
