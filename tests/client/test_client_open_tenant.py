"""open_tenant: the local emulator through the same JWT-bearer path, and real-tenant credentials."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provisioner.client.auth import BearerAuth, ServiceAccountAuth
from provisioner.emulator.oauth.keys import generate_rsa_jwk
from provisioner.errors import ConfigurationError
from provisioner.tenant import Target, open_tenant


def test_url_target_uses_environment_credentials() -> None:
    with open_tenant(
        Target("https://openam-acme.forgeblocks.com", "--tenant"), environ={"AIC_ACCESS_TOKEN": "tok-open-tenant-1234"}
    ) as tenant:
        assert tenant.label == "Target: https://openam-acme.forgeblocks.com"
        assert tenant.url == "https://openam-acme.forgeblocks.com"
        assert isinstance(tenant.client.auth, BearerAuth)


def test_url_target_with_service_account_from_dotenv() -> None:
    private, _ = generate_rsa_jwk(bits=2048)
    dotenv = {"AIC_SERVICE_ACCOUNT_ID": "sa-1", "AIC_SERVICE_ACCOUNT_JWK": json.dumps(private)}
    with open_tenant("https://openam-acme.forgeblocks.com/am", environ={}, dotenv=dotenv) as tenant:
        assert isinstance(tenant.client.auth, ServiceAccountAuth)
        assert tenant.client.auth.audience == "https://openam-acme.forgeblocks.com:443/am/oauth2/access_token"


def test_url_target_without_credentials() -> None:
    with pytest.raises(ConfigurationError, match="no tenant credentials"):
        with open_tenant("https://openam-acme.forgeblocks.com", environ={}):
            pass


def test_local_target_starts_the_emulator(tmp_path: Path) -> None:
    pytest.importorskip("provisioner.emulator.server")
    state = tmp_path / ".provisioner"
    with open_tenant(Target(None, "default"), environ={}, state_dir=state) as tenant:
        assert tenant.url.startswith("http://127.0.0.1:")
        assert tenant.label == f"Target: local emulator ({tenant.url}, state {os.path.join(state, 'emulator')})"
        assert isinstance(tenant.client.auth, ServiceAccountAuth)
        assert tenant.client.am("alpha").list("OAuth2Client") == []
        assert tenant.client.auth.token_requests == 1
