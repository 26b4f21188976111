"""Renderers: table, JSON (sorted keys), JUnit XML (parses, counts, failure/skipped elements)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from provisioner.verify.model import FAIL, PASS, SKIP, Check, VerifyReport
from provisioner.verify.render import render_json, render_junit, render_table

REPORT = VerifyReport(
    "http://127.0.0.1:1",
    "alpha",
    (
        Check("client credentials: token", "bot-agent", "token for [monitor-system]", "issued sha256:0011aabb", PASS),
        Check(
            "exchange → logs: token",
            "bot-agent",
            "token for logs",
            "refused: invalid_scope",
            FAIL,
            'token exchange refused: invalid_scope <& "quoted">',
        ),
        Check(
            "on-behalf-of → web",
            "da-agent",
            "user token exchanged by the agent",
            "not run",
            SKIP,
            "no test user configured",
        ),
    ),
)


def test_table_has_sections_rows_diagnoses_and_summary():
    text = render_table(REPORT)
    lines = text.splitlines()
    assert lines[0] == "AIAgent bot-agent"
    assert lines[1].split() == ["check", "expected", "actual", "result"]
    assert lines[2] == "  client credentials"
    assert lines[3].split()[0] == "token" and "issued sha256:0011aabb" in lines[3] and lines[3].endswith("pass")
    assert lines[4] == "  exchange → logs"
    assert lines[5].endswith("fail")
    assert lines[6].strip() == '↳ token exchange refused: invalid_scope <& "quoted">'
    assert "AIAgent da-agent" in lines
    assert any(line.strip().startswith("on-behalf-of → web") and line.endswith("skip") for line in lines)
    assert "        ↳ no test user configured" in lines
    assert lines[-1] == "verify FAILED: 3 checks: 1 passed, 1 failed, 1 skipped"
    assert "\x1b[" not in text
    assert "\x1b[31m" in render_table(REPORT, color=True)


def test_json_is_sorted_and_complete():
    text = render_json(REPORT)
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["summary"] == {"failed": 1, "passed": 1, "skipped": 1, "total": 3}
    assert data["ok"] is False
    assert list(data["checks"][0]) == sorted(data["checks"][0])
    assert data["checks"][2]["status"] == "skip"


def test_junit_parses_with_one_suite_per_agent():
    root = ET.fromstring(render_junit(REPORT).encode())
    assert root.tag == "testsuites"
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("skipped") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["bot-agent", "da-agent"]
    assert [s.get("tests") for s in suites] == ["2", "1"]
    cases = root.findall(".//testcase")
    assert len(cases) == 3
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == 'token exchange refused: invalid_scope <& "quoted">'
    assert cases[2].find("skipped").get("message") == "no test user configured"
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None


def test_all_pass_summary():
    ok = VerifyReport("u", "alpha", REPORT.checks[:1])
    assert ok.ok
    assert render_table(ok).splitlines()[-1] == "verify passed: 1 check: 1 passed, 0 failed, 0 skipped"


LONG = VerifyReport(
    "http://127.0.0.1:1",
    "alpha",
    (
        Check(
            "on-behalf-of demo-user → digital-assistant-web-app: aud",
            "digital-assistant-ai-agent",
            "contains digital-assistant-ai-agent, digital-assistant-web-app",
            "[digital-assistant-ai-agent, digital-assistant-web-app]",
            PASS,
        ),
        Check(
            "least privilege: unpermitted scope → digital-assistant-web-app",
            "digital-assistant-ai-agent",
            "openid not granted",
            "issued a token with [openid, read-data, write-data] and more",
            FAIL,
            "the privilege's permissions do not limit the scopes; check permissions on the privilege entry",
        ),
    ),
)


def test_table_fits_the_width_by_wrapping_and_keeps_every_word():
    natural = render_table(LONG)
    assert max(len(line) for line in natural.splitlines()) > 120
    for width in (80, 100):
        text = render_table(LONG, width=width)
        table = [line for line in text.splitlines() if "↳" not in line]  # a diagnosis stays one line
        assert max(len(line) for line in table) <= width, text
        words = lambda t: sorted("".join(t.split()))  # noqa: E731 — every character survives the wrapping
        assert words(text.replace("check", "").replace("expected", "").replace("actual", "")) == words(
            natural.replace("check", "").replace("expected", "").replace("actual", "")
        )
        rows = [line for line in text.splitlines() if line.rstrip().endswith(("pass", "fail"))]
        assert len(rows) == 2  # the status stays on the row's first line


def test_table_width_without_a_terminal_is_columns_or_unlimited(monkeypatch):
    import io

    from provisioner.verify.render import table_width

    monkeypatch.delenv("COLUMNS", raising=False)
    assert table_width(io.StringIO()) is None  # logs and pipes keep one row per line
    monkeypatch.setenv("COLUMNS", "80")
    assert table_width(io.StringIO()) == 80
