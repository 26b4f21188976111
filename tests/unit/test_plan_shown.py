"""``Plan.to_dict(no_ops=False)``: what ``plan`` renders text (without --verbose) and Markdown from, so a
no-op plan of thousands of objects is not converted whole. The output must be the same as from the whole
plan."""

from __future__ import annotations

from provisioner.plan.model import Blocked, Change, FieldChange, Ids, Plan, PlanDiagnostic, summarize
from provisioner.render import render


def _plan() -> Plan:
    changes = (
        Change("Application alpha/a", "Application", "alpha", "a", "create", (FieldChange("scopes", None, ["x"]),)),
        Change(
            "Application alpha/b",
            "Application",
            "alpha",
            "b",
            "no-op",
            observed={"am": {"id": "b", "rev": "1"}},
            desired={"scopes": ["x"]},
            ids=Ids(record="r-b"),
        ),
        Change("AIAgent alpha/c", "AIAgent", "alpha", "c", "update", (FieldChange("scopes", ["x"], ["y"]),)),
        Change("AIAgent alpha/d", "AIAgent", "alpha", "d", "no-op", reason="kept"),
    )
    blocked = (Blocked("Application alpha/old", "Application", "alpha", "old", "not declared; pass --prune"),)
    return Plan(
        format_version="2",
        stack="demo",
        target={"url": "http://127.0.0.1:1", "label": "local", "tenant": "local"},
        environment="dev",
        changes=changes,
        blocked=blocked,
        diagnostics=(PlanDiagnostic("warning", "a warning", "m.yaml:1:1", "spec.x"),),
        summary=summarize(changes, blocked),
    )


def test_shown_dict_leaves_out_only_the_no_ops() -> None:
    plan = _plan()
    whole, shown = plan.to_dict(), plan.to_dict(no_ops=False)
    assert [c["address"] for c in shown["changes"]] == ["Application alpha/a", "AIAgent alpha/c"]
    assert {k: v for k, v in shown.items() if k != "changes"} == {k: v for k, v in whole.items() if k != "changes"}
    assert shown["changes"] == [c for c in whole["changes"] if c["action"] != "no-op"]


def test_text_and_markdown_are_the_same_without_the_no_ops() -> None:
    plan = _plan()
    whole, shown = plan.to_dict(), plan.to_dict(no_ops=False)
    for header in (True, False):
        assert render(shown, "text", header=header) == render(whole, "text", header=header)
    assert render(shown, "markdown") == render(whole, "markdown")
    # verbose text lists the no-ops: plan renders it from the whole plan
    assert "no change AIAgent alpha/d" in render(whole, "text", verbose=True)
