"""The Markdown plan (pull-request comments) has the documented structure and carries no secret."""

from __future__ import annotations

import re
from pathlib import Path

from tests.core.conftest import AGENT, BOT, Tenant, bot_args, demo_secrets


def _structure(md: str) -> tuple[str, list[str]]:
    summary = md.splitlines()[0]
    assert md.count("<details>") == md.count("</details>")
    assert md.count("<summary>") == md.count("</summary>") == md.count("<details>")
    assert md.count("```") % 2 == 0
    return summary, re.findall(r"<summary><code>(.*?)</code></summary>", md)


def test_markdown_plan_summary_first_one_collapsible_block_per_change(tenant: Tenant, cli, tmp_path: Path) -> None:
    code, md, err = cli("plan", *bot_args(tenant), "--format", "markdown", "--env", "dev", "--detailed-exitcode")
    assert code == 2, err
    summary, blocks = _structure(md)
    assert summary == "### Plan: 3 to create, 1 to update, 0 to delete."
    assert blocks == [
        "~ update OAuth2Provider alpha",
        "+ create Application alpha/web-server-logs-api-app",
        f"+ create AIAgent alpha/{AGENT}",
        f"+ create AgentPrivilege alpha/{AGENT}/web-server-logs-api-app",
    ]
    assert "Environment: `dev`" in md and "clientSecret: (sensitive)" in md
    assert "\033[" not in md

    # After apply, a rotated secret shows as a sensitive change and nothing else; no value anywhere.
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    secrets = demo_secrets()
    rotated = tmp_path / "rotated.env"
    rotated.write_text(
        f"LOGS_API_APP_SECRET={secrets['LOGS_API_APP_SECRET']}\nBOT_AGENT_SECRET=rotated-markdown-secret-4411\n"
    )
    code, md2, err2 = cli(
        "plan",
        str(BOT),
        "--tenant",
        tenant.url,
        "--env-file",
        str(rotated),
        "--format",
        "markdown",
        "--detailed-exitcode",
    )
    assert code == 2, err2
    summary, blocks = _structure(md2)
    assert summary == "### Plan: 0 to create, 1 to update, 0 to delete."
    assert blocks == [f"~ update AIAgent alpha/{AGENT}"]
    assert "clientSecret: (sensitive, changed)" in md2
    for value in ("rotated-markdown-secret-4411", *secrets.values()):
        assert value not in md + md2 + err + err2
