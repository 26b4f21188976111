"""Acceptance: no prompt without a TTY, ambiguous creates resolved by re-reading, disabled AI agents."""

from __future__ import annotations

import pytest
import requests

from tests.core.conftest import AGENT, Tenant, bot_args


def test_apply_refuses_to_prompt_without_a_tty(tenant: Tenant, cli) -> None:
    tenant.reset_stats()
    code, out, err = cli("apply", *bot_args(tenant))
    assert code == 1 and "pass --auto-approve" in err
    assert tenant.stats()["writes"] == 0


def test_ambiguous_creates_are_matched_not_resent(tenant: Tenant, cli) -> None:
    rules = [
        {"path": "realm-config/agents/AIAgent/", "method": "PUT", "action": "drop-after", "count": 1},
        {"path": "managed/alpha_aiagentprivilege/", "method": "PUT", "action": "drop-after", "count": 1},
    ]
    assert requests.put(tenant.url + "/_emulator/faults", json=rules, timeout=10).status_code == 200
    tenant.reset_stats()
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0, out + err
    assert f"✓ create AIAgent alpha/{AGENT}" in out
    routes = tenant.stats()["byRoute"]
    assert routes["PUT am/agents/AIAgent"] == 1 and routes["PUT idm/managed/aiagentprivilege"] == 1  # never re-sent
    assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0


class TestFeatureDisabled:
    @pytest.fixture
    def emulator_options(self) -> dict:
        return {"ai_agents": False}

    def test_plan_explains_and_apply_writes_nothing(self, tenant: Tenant, cli) -> None:
        code, out, err = cli("plan", *bot_args(tenant))
        assert code == 1 and "AI agents feature is disabled" in out and "--enable-features" in out
        tenant.reset_stats()
        code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
        assert code == 1 and "--enable-features" in out + err
        assert tenant.stats()["writes"] == 0

    def test_enable_features_then_apply(self, tenant: Tenant, cli) -> None:
        code, out, err = cli("apply", *bot_args(tenant), "--auto-approve", "--enable-features")
        assert code == 0, out + err
        assert "AI agents feature enabled." in out
        assert cli("plan", *bot_args(tenant), "--detailed-exitcode")[0] == 0
