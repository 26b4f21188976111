"""``--target`` selection (pure): address forms, dependencies pulled in, errors naming the addresses."""

from __future__ import annotations

import pytest

from provisioner.plan import FORMAT_VERSION, Change, Plan
from provisioner.plan.model import summarize
from provisioner.plan.target import TargetError, select


def change(kind: str, realm: str, key: str, action: str = "create", depends_on: tuple[str, ...] = ()) -> Change:
    address = f"{kind} {realm}" if kind == "OAuth2Provider" else f"{kind} {realm}/{key}"
    return Change(
        address=address,
        kind=kind,
        realm=realm,
        key=key,
        action=action,  # type: ignore[arg-type]
        depends_on=depends_on,
    )


PROVIDER = change("OAuth2Provider", "alpha", "alpha", "update")
APP = change("Application", "alpha", "logs")
OTHER_APP = change("Application", "alpha", "web")
AGENT = change("AIAgent", "alpha", "bot")
PRIV = change("AgentPrivilege", "alpha", "bot/logs", depends_on=(AGENT.address, APP.address))
BRAVO_APP = change("Application", "bravo", "logs")
CHANGES = (PROVIDER, APP, OTHER_APP, AGENT, PRIV, BRAVO_APP)
PLAN = Plan(
    format_version=FORMAT_VERSION,
    stack="s",
    target={},
    environment=None,
    changes=CHANGES,
    summary=summarize(CHANGES, ()),
)


def addresses(plan: Plan) -> set[str]:
    return {c.address for c in plan.changes}


def test_no_target_is_the_whole_plan() -> None:
    assert select(PLAN, ()) is PLAN


@pytest.mark.parametrize(
    "target", ["Application alpha/web", "application  alpha/web", "Application/web", "alpha/web", "web"]
)
def test_address_forms(target: str) -> None:
    assert addresses(select(PLAN, [target])) == {OTHER_APP.address, PROVIDER.address}


def test_a_privilege_brings_its_agent_and_application_and_an_agent_its_privileges() -> None:
    assert addresses(select(PLAN, [PRIV.address])) == {PRIV.address, AGENT.address, APP.address, PROVIDER.address}
    assert addresses(select(PLAN, ["bot"])) == {PRIV.address, AGENT.address, APP.address, PROVIDER.address}


def test_the_summary_counts_only_the_selection() -> None:
    narrowed = select(PLAN, ["web"])
    assert narrowed.summary["create"] == 1 and narrowed.summary["update"] == 1
    assert narrowed.options["targets"] == ["web"]


def test_ambiguous_and_unknown_targets_are_usage_errors() -> None:
    with pytest.raises(TargetError, match="'logs' is ambiguous: Application alpha/logs, Application bravo/logs"):
        select(PLAN, ["logs"])
    with pytest.raises(TargetError, match="matches nothing in the plan; addresses are: AIAgent alpha/bot"):
        select(PLAN, ["nope"])
    assert addresses(select(PLAN, ["bravo/logs"])) == {BRAVO_APP.address}  # no provider change in bravo
