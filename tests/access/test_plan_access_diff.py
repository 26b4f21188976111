"""The Markdown plan names the access difference a change makes, above the field diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.core.conftest import AGENT, APP, BOT, Tenant, bot_args


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_changed_permissions_are_named_above_the_field_diff(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    stack = tmp_path / "bot-traffic-analyzer"
    shutil.copytree(BOT, stack)
    _edit(
        stack / "application.yaml", "scopes: [logs-read, logs-search]", "scopes: [logs-read, logs-search, logs-delete]"
    )
    _edit(stack / "agent.yaml", "permissions: [logs-read, logs-search]", "permissions: [logs-read, logs-delete]")
    code, md, err = cli(
        "plan",
        str(stack),
        "--tenant",
        tenant.url,
        "--env-file",
        str(stack / "demo.env"),
        "--format",
        "markdown",
        "--detailed-exitcode",
    )
    assert code == 2, err
    access = md.index("**Access changes**")
    assert access < md.index("<details>")
    section = md[access : md.index("<details>")]
    assert f"- agent `{AGENT}` gains `logs-delete` on `{APP}`" in section
    assert f"- agent `{AGENT}` loses `logs-search` on `{APP}`" in section
    assert section.count("\n- ") == 2  # the application's new scope alone grants nothing

    code, text, _ = cli("plan", str(stack), "--tenant", tenant.url, "--env-file", str(stack / "demo.env"))
    assert (
        f"Access changes:\n  agent {AGENT} gains logs-delete on {APP}\n  agent {AGENT} loses logs-search on {APP}\n"
        "\n~ update " in text
    )

    code, out, _ = cli(
        "plan", str(stack), "--tenant", tenant.url, "--env-file", str(stack / "demo.env"), "--format", "json"
    )
    changes = json.loads(out)["access"]
    assert [(c["agent"], c["application"], c["change"]) for c in changes] == [
        (AGENT, APP, "gains-scope"),
        (AGENT, APP, "loses-scope"),
    ]


def test_new_subject_group_says_who_the_agent_may_now_act_for(tenant: Tenant, cli, tmp_path: Path) -> None:
    tenant.seed(
        {
            "realm": "alpha",
            "users": [{"userName": "carol", "password": "Carol-pass-1234"}],
            "groups": [{"_id": "night-shift", "members": ["carol"]}],
        }
    )
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    stack = tmp_path / "bot-traffic-analyzer"
    shutil.copytree(BOT, stack)
    _edit(stack / "agent.yaml", "subjectGroups: []", "subjectGroups: [night-shift]")
    code, md, err = cli(
        "plan", str(stack), "--tenant", tenant.url, "--env-file", str(stack / "demo.env"), "--format", "markdown"
    )
    assert code == 0, err
    assert f"- agent `{AGENT}` may now act for group `night-shift` on `{APP}`" in md


def test_no_access_section_when_access_is_unchanged(tenant: Tenant, cli, tmp_path: Path) -> None:
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    stack = tmp_path / "bot-traffic-analyzer"
    shutil.copytree(BOT, stack)
    _edit(stack / "agent.yaml", "description: Finds bot traffic in the web server logs", "description: Other words")
    code, md, err = cli(
        "plan",
        str(stack),
        "--tenant",
        tenant.url,
        "--env-file",
        str(stack / "demo.env"),
        "--format",
        "markdown",
        "--detailed-exitcode",
    )
    assert code == 2, err
    assert "Access changes" not in md and "description" in md


def test_first_plan_lists_the_new_agent_and_its_exchange(tenant: Tenant, cli) -> None:
    code, md, err = cli("plan", *bot_args(tenant), "--format", "markdown")
    assert code == 0, err
    assert f"- new agent `{AGENT}` may obtain its own token with `monitor-system`" in md
    assert (
        f"- agent `{AGENT}` may now exchange into `{APP}` with `logs-read`, `logs-search`, acting for no one "
        "(autonomous: only for itself)"
    ) in md


def test_the_confirmation_plan_leaves_the_access_difference_out(tenant: Tenant) -> None:
    """Apply's confirmation plan only counts what remains; the access difference (explanatory) is not
    computed there. The same plan with it has the same changes."""
    from provisioner import api
    from provisioner.orchestrate.loading import loaded_stack
    from provisioner.orchestrate.options import PlanRunOptions
    from provisioner.orchestrate.planning import plan_with_snapshot
    from tests.core.conftest import DEMO_ENV

    stack, secrets = loaded_stack([str(BOT)], env=None, env_file=str(DEMO_ENV), environ={}, stack_name=None)
    with api.tenant(tenant.url) as t:
        full, _ = plan_with_snapshot(stack, secrets, t, PlanRunOptions(env_file=str(DEMO_ENV)))
        lean, _ = plan_with_snapshot(stack, secrets, t, PlanRunOptions(env_file=str(DEMO_ENV)), access=False)
    assert full.access and not lean.access
    assert [(c.address, c.action) for c in lean.changes] == [(c.address, c.action) for c in full.changes]
