"""Acceptance: a ``fromFile`` secret belongs to the folder that declares it.

Two folders each say ``clientSecret: {fromFile: secret.txt}`` with different files; plan and apply
(directly, and through a saved plan) must send each client its own secret, proven by a
client_credentials token request with each secret against the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.core.conftest import Tenant
from tests.leakcheck import add_secret

TOKEN = "/am/oauth2/realms/root/realms/alpha/access_token"

APP = """apiVersion: provisioner/v1
kind: Application
metadata: {{name: {name}, realm: alpha}}
spec:
  displayName: {name}
  template: service
  clientSecret: {{fromFile: secret.txt}}
  scopes: [read]
"""


def _folders(tmp_path: Path) -> dict[str, str]:
    secrets = {"app-one": "first-folder-secret-7Qm2vX9kLp4R", "app-two": "second-folder-secret-Zt8Wn3Jd6Hs1"}
    add_secret(*secrets.values())
    for name, secret in secrets.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "app.yaml").write_text(APP.format(name=name))
        (folder / "secret.txt").write_text(secret + "\n")
    return secrets


def _token(tenant: Tenant, client_id: str, secret: str) -> str:
    """``"issued"`` or the OAuth error of a client_credentials request authenticated with ``secret``."""
    response = requests.post(
        tenant.url + TOKEN,
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(client_id, secret),
        timeout=10,
    )
    return (
        "issued"
        if response.status_code == 200 and response.json().get("access_token")
        else str(response.json().get("error"))
    )


def _assert_own_secrets(tenant: Tenant, secrets: dict[str, str]) -> None:
    (one, first), (two, second) = secrets.items()
    assert _token(tenant, one, first) == "issued"
    assert _token(tenant, two, second) == "issued"
    assert _token(tenant, one, second) == "invalid_client"
    assert _token(tenant, two, first) == "invalid_client"


def test_same_from_file_name_in_two_folders_sends_each_client_its_own_secret(
    tenant: Tenant, cli, tmp_path: Path
) -> None:
    secrets = _folders(tmp_path)
    args = ["app-one", "app-two", "--tenant", tenant.url, "--stack", "two-folders"]
    code, out, err = cli("apply", *args, "--auto-approve")
    assert code == 0, out + err
    _assert_own_secrets(tenant, secrets)
    # The hash markers match each folder's own secret: nothing left to change.
    code, out, err = cli("plan", *args, "--detailed-exitcode")
    assert code == 0, out + err


def test_saved_plan_keeps_the_folder_of_each_from_file_secret(tenant: Tenant, cli, tmp_path: Path) -> None:
    secrets = _folders(tmp_path)
    args = ["app-one", "app-two", "--tenant", tenant.url, "--stack", "two-folders"]
    assert cli("plan", *args, "--out", "plan.json")[0] == 0
    plan = json.loads(Path("plan.json").read_text())
    refs = {c["key"]: c["secret"] for c in plan["changes"]}
    assert refs == {
        "app-one": {"source": "file", "name": "secret.txt", "base": "app-one"},
        "app-two": {"source": "file", "name": "secret.txt", "base": "app-two"},
    }
    # Without the manifests, apply reads each file from the folder recorded in the plan.
    code, out, err = cli("apply", "--plan", "plan.json", "--tenant", tenant.url, "--auto-approve")
    assert code == 0, out + err
    _assert_own_secrets(tenant, secrets)
