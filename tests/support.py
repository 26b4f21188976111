"""Helpers shared by the emulator-backed tests: an admin token the raw way, and SA credentials."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm


def admin_token(url: str, account: Mapping[str, Any], scope: str = "fr:am:* fr:idm:*") -> str:
    """A service-account token by the JWT-bearer grant, signed by hand (reference §2.1)."""
    audience = f"{url.rstrip('/')}/am/oauth2/access_token"
    assertion = jwt.encode(
        {
            "iss": account["id"],
            "sub": account["id"],
            "aud": audience,
            "exp": int(time.time()) + 180,
            "jti": str(uuid.uuid4()),
        },
        RSAAlgorithm.from_jwk(json.dumps(account["jwk"])),
        algorithm="RS256",
    )
    response = requests.post(
        audience,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_id": "service-account",
            "assertion": assertion,
            "scope": scope,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@contextmanager
def service_account_env(account: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``AIC_SERVICE_ACCOUNT_ID`` + ``AIC_SERVICE_ACCOUNT_JWK_FILE`` for the emulator's account.

    The key file lives outside pytest's temp tree: the leak check scans that tree, and a key file IS
    a secret.
    """
    keydir = tempfile.mkdtemp(prefix="provisioner-sa-")
    try:
        jwk_file = Path(keydir) / "sa.jwk.json"
        jwk_file.write_text(json.dumps(account["jwk"]))
        jwk_file.chmod(0o600)
        monkeypatch.setenv("AIC_SERVICE_ACCOUNT_ID", account["id"])
        monkeypatch.setenv("AIC_SERVICE_ACCOUNT_JWK_FILE", str(jwk_file))
        yield jwk_file
    finally:
        shutil.rmtree(keydir, ignore_errors=True)
