"""Item 2: a stack's identity is declared, never its folder's name; another stack's objects are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.truth.conftest import BOT, DEMO_ENV, Tenant

APP = "web-server-logs-api-app"


def run(cli, tenant: Tenant, command: str, stack: Path, *extra: str) -> tuple[int, str, str]:
    return cli(command, str(stack), "--tenant", tenant.url, "--env-file", str(DEMO_ENV), *extra)


def two_stacks_named_shared(tmp_path: Path) -> tuple[Path, Path]:
    """teamA/shared and teamB/shared: same folder name, two different declared stacks."""
    a, b = tmp_path / "teamA" / "shared", tmp_path / "teamB" / "shared"
    shutil.copytree(BOT, a)
    (a / "provisioner.yaml").write_text("stack: team-a-shared\n")
    (a / "agent.yaml").unlink()
    b.mkdir(parents=True)
    (b / "provisioner.yaml").write_text("stack: team-b-shared\n")
    (b / "provider.yaml").write_text((BOT / "provider.yaml").read_text())
    return a, b


def test_same_folder_name_is_not_the_same_stack(tenant: Tenant, cli, tmp_path: Path) -> None:
    a, b = two_stacks_named_shared(tmp_path)
    assert run(cli, tenant, "apply", a, "--auto-approve")[0] == 0
    code, out, err = run(cli, tenant, "apply", b, "--prune", "--auto-approve")
    assert code == 0, out + err
    assert "delete" not in out  # team B's prune never sees team A's application
    with tenant.admin() as admin:
        assert admin.client.am("alpha").find("OAuth2Client", APP) is not None


def test_copy_under_another_folder_keeps_ownership(tenant: Tenant, cli, tmp_path: Path) -> None:
    first = tmp_path / "one" / "bot"
    shutil.copytree(BOT, first)
    assert run(cli, tenant, "apply", first, "--auto-approve")[0] == 0
    moved = tmp_path / "renamed-folder"
    shutil.copytree(first, moved)
    code, out, err = run(cli, tenant, "plan", moved, "--prune", "--detailed-exitcode")
    assert code == 0, out + err
    assert "Stack: bot-traffic-analyzer" in out and "No changes" in out


def test_redeclaring_another_stacks_object_is_an_error_naming_both(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert run(cli, tenant, "apply", BOT, "--auto-approve")[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "provisioner.yaml").write_text("stack: other-team\n")
    (other / "application.yaml").write_text(
        (BOT / "application.yaml").read_text().replace("Web Server Logs API App", "Logs API (other team)")
    )
    tenant.reset_stats()
    code, out, err = run(cli, tenant, "apply", other, "--auto-approve")
    assert code == 1, out + err
    assert (
        f"Application alpha/{APP} belongs to stack 'bot-traffic-analyzer' (its provisioner.stack marker), "
        f"not to this stack 'other-team'; remove it from these manifests, or pass --take-over"
    ) in out + err
    assert "~ update" not in out and tenant.stats()["writes"] == 0

    code, out, err = run(cli, tenant, "apply", other, "--take-over", "--auto-approve")
    assert code == 0, out + err
    assert 'stack: "bot-traffic-analyzer" → "other-team"' in out
    assert run(cli, tenant, "plan", other, "--detailed-exitcode")[0] == 0
    code, out, err = run(cli, tenant, "plan", BOT, "--detailed-exitcode")
    assert code == 1 and "belongs to stack 'other-team'" in out + err


def test_no_declared_stack_is_refused_before_any_request(tenant: Tenant, cli, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(BOT, bare)
    (bare / "provisioner.yaml").unlink()
    tenant.reset_stats()
    code, _, err = run(cli, tenant, "plan", bare)
    assert code == 1
    assert "no stack declared" in err and "never taken from a folder name" in err
    assert tenant.stats()["total"] == 0
    assert run(cli, tenant, "plan", bare, "--stack", "bot-traffic-analyzer")[0] == 0


def test_old_markers_keep_working_when_the_name_is_declared(tenant: Tenant, cli, tmp_path: Path) -> None:
    # Objects made by earlier versions carry the folder's name as their marker (provisioner.stack=bot-traffic-
    # analyzer here); declaring that name keeps them owned: no error, no change, prune sees them.
    legacy = tmp_path / "bot-traffic-analyzer"
    shutil.copytree(BOT, legacy)
    (legacy / "provisioner.yaml").unlink()
    assert run(cli, tenant, "apply", legacy, "--stack", "bot-traffic-analyzer", "--auto-approve")[0] == 0
    (legacy / "provisioner.yaml").write_text("stack: bot-traffic-analyzer\n")
    assert run(cli, tenant, "plan", legacy, "--prune", "--detailed-exitcode")[0] == 0
