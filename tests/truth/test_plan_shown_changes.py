"""``plan`` renders text (without -v) and Markdown from the changes it shows only (a no-op plan of
thousands of objects is not converted whole): the output is the same as that of the whole plan, which
``--out`` renders from, and -v still lists the objects that do not change."""

from __future__ import annotations

from pathlib import Path

from tests.truth.conftest import DEMO_ENV, Tenant


def test_plan_output_is_the_same_with_and_without_the_whole_plan(
    tenant: Tenant, cli, bot_copy: Path, tmp_path: Path
) -> None:
    base = [str(bot_copy), "--tenant", tenant.url, "--env-file", str(DEMO_ENV)]
    assert cli("apply", *base, "--auto-approve")[0] == 0
    agent = bot_copy / "agent.yaml"
    agent.write_text(agent.read_text().replace("Finds bot traffic", "Spots bot traffic"))
    for fmt in ("text", "markdown"):
        code, shown, _ = cli("plan", *base, "--format", fmt, "--detailed-exitcode")
        assert code == 2, shown
        code, whole, err = cli("plan", *base, "--format", fmt, "--out", str(tmp_path / f"{fmt}.json"))
        assert code == 0, whole + err
        assert shown == whole
        assert "no change" not in shown and "Spots bot traffic" in shown
    code, verbose, _ = cli("plan", *base, "-v")
    assert code == 0
    assert "no change Application alpha/web-server-logs-api-app" in verbose
