"""Item 4: failures the snapshot and the manifests predict are plan (or validate) errors, before any write."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.truth.conftest import DEMO_ENV, ROOT, Tenant

SECOND_APP = """---
apiVersion: provisioner/v1
kind: Application
metadata: {name: second-logs-app, realm: alpha}
spec:
  displayName: "Web Server Logs API App{{ nameSuffix | default('') }}"
  template: service
  scopes: [logs-read]
"""


def test_duplicate_application_names_fail_validate(cli, bot_copy: Path) -> None:
    with (bot_copy / "application.yaml").open("a") as handle:
        handle.write(SECOND_APP)
    code, out, _ = cli("validate", str(bot_copy), "--skip-secrets")
    assert code == 1
    assert "application name 'Web Server Logs API App' is used by more than one application in realm 'alpha'" in out
    assert "application.yaml:" in out


def test_name_taken_in_the_tenant_is_a_plan_error_before_any_write(
    tenant: Tenant, cli, bot_copy: Path, tmp_path: Path
) -> None:
    base = ["--tenant", tenant.url, "--env-file", str(DEMO_ENV)]
    assert cli("apply", str(bot_copy), *base, "--auto-approve")[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "provisioner.yaml").write_text("stack: other\n")
    (other / "app.yaml").write_text(SECOND_APP.replace("{{ nameSuffix | default('') }}", ""))
    tenant.reset_stats()
    code, out, err = cli("plan", str(other), *base)
    assert code == 1, out + err
    assert (
        "application name 'Web Server Logs API App' is already used by application "
        "'web-server-logs-api-app' in the tenant"
    ) in out
    assert "Plan: 1 to create" not in out and "Plan failed: 1 error" in out
    assert out.index("error:") < out.index("+ create")  # the error comes first
    code, out, err = cli("apply", str(other), *base, "--auto-approve")
    assert code == 1 and "is already used by application" in out + err
    assert tenant.stats()["writes"] == 0


def test_missing_group_fails_the_plan_not_the_apply(tenant: Tenant, cli, tmp_path: Path) -> None:
    copy = tmp_path / "assistant"
    shutil.copytree(ROOT / "manifests" / "digital-assistant", copy)
    (copy / "emulator-seed.yaml").unlink(missing_ok=True)  # a real tenant without the group
    args = [str(copy), "--env", "dev", "--tenant", tenant.url, "--env-file", str(copy / "demo.env")]
    code, out, err = cli("plan", *args)
    assert code == 1, out + err
    assert "group 'digital-assistant-users' does not exist in the tenant" in out
    assert "Plan: " not in out and "Plan failed: " in out
    tenant.reset_stats()
    code, out, err = cli("apply", *args, "--auto-approve")
    assert code == 1 and tenant.stats()["writes"] == 0


def test_grant_type_the_provider_lacks_is_a_plan_error(tenant: Tenant, cli, tmp_path: Path) -> None:
    stack = tmp_path / "grants"
    stack.mkdir()
    (stack / "provisioner.yaml").write_text("stack: grants\n")
    (stack / "app.yaml").write_text(
        "apiVersion: provisioner/v1\nkind: Application\n"
        "metadata: {name: exchanger, realm: alpha}\n"
        "spec:\n  template: service\n  grantTypes: [client_credentials, token_exchange]\n"
    )
    code, out, err = cli("plan", str(stack), "--tenant", tenant.url)
    assert code == 1, out + err
    assert (
        "Application 'exchanger' uses grant type(s) urn:ietf:params:oauth:grant-type:token-exchange that the "
        "OAuth2 provider of realm 'alpha' does not allow"
    ) in out
    assert "app.yaml:" in out and "Plan failed: 1 error" in out
