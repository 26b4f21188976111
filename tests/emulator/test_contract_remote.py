"""``pytest -m contract --tenant-url URL`` really targets the given tenant, with credentials from the
environment, and leaves nothing behind. A second emulator stands in for the real tenant here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from provisioner.emulator import EmulatorServer
from tests.support import admin_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_contract_tests_run_against_a_tenant_url_and_clean_up(tmp_path: Path) -> None:
    with EmulatorServer() as tenant:
        account = tenant.service_account
        key = tmp_path / "sa.jwk.json"
        key.write_text(json.dumps(account["jwk"]))
        key.chmod(0o600)
        requests.delete(tenant.url + "/_emulator/stats", timeout=10)
        # a tenant whose agent deletes do not cascade: the tests must still remove the identities
        requests.patch(
            tenant.url + "/_emulator/config", json={"am.aiagent.deleteCascade": False}, timeout=10
        ).raise_for_status()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIC_", "FRODO_"))}
        env.update(
            {
                "AIC_SERVICE_ACCOUNT_ID": account["id"],
                "AIC_SERVICE_ACCOUNT_JWK_FILE": str(key),
                "PYTHONPATH": str(ROOT),
                "PROVISIONER_TOKEN_CACHE": "off",
            }
        )
        try:
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-m",
                    "contract",
                    "--tenant-url",
                    tenant.url,
                    "tests/emulator/test_contract_fidelity.py",
                    "tests/emulator/test_contract_api.py",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            key.unlink()
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert "10 passed" in run.stdout
        stats = requests.get(tenant.url + "/_emulator/stats", timeout=10).json()
        assert stats["writes"] >= 3  # the contract tests created (and deleted) their objects there
        headers = {"Authorization": "Bearer " + admin_token(tenant.url, account)}
        for kind, version in (("AIAgent", "protocol=2.1,resource=2.0"), ("OAuth2Client", "protocol=2.1,resource=1.0")):
            listing = requests.get(
                f"{tenant.url}/am/json/realms/root/realms/alpha/realm-config/agents/{kind}",
                params={"_queryFilter": "true"},
                timeout=10,
                headers={**headers, "Accept-API-Version": version},
            ).json()
            assert [item["_id"] for item in listing["result"]] == [], kind  # every object was deleted
        for kind in ("aiagent", "application", "aiagentprivilege"):
            left = requests.get(
                f"{tenant.url}/openidm/managed/alpha_{kind}",
                params={"_queryFilter": "true"},
                headers=headers,
                timeout=10,
            ).json()
            assert left["result"] == [], kind
