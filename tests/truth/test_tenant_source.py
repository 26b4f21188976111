"""Item 6: AIC_TENANT_URL must not silently beat environments/<env>.yaml's tenant."""

from __future__ import annotations

import pytest

from tests.truth.conftest import BOT, DEMO_ENV, Tenant


def test_env_file_and_aic_tenant_url_disagree_is_refused(tenant: Tenant, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIC_TENANT_URL", tenant.url)
    tenant.reset_stats()
    code, out, err = cli("plan", str(BOT), "--env", "prod", "--env-file", str(DEMO_ENV))
    assert code == 1, out + err
    assert (
        f"the tenant is ambiguous: AIC_TENANT_URL says {tenant.url} but environment file says "
        "https://openam-acme-prod.forgeblocks.com; pass --tenant to choose"
    ) in err
    assert "Plan:" not in out
    assert tenant.stats()["total"] == 0  # refused before any request


def test_tenant_option_settles_the_disagreement(tenant: Tenant, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIC_TENANT_URL", "https://openam-acme-other.forgeblocks.com")
    code, out, err = cli("plan", str(BOT), "--env", "prod", "--env-file", str(DEMO_ENV), "--tenant", tenant.url)
    assert code == 0, out + err
    assert out.startswith(f"Target: {tenant.url}")
