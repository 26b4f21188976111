"""Renderers for a :class:`VerifyReport`: a human table, JSON (sorted keys) and JUnit XML.

Every string passes through :func:`provisioner.redact.text` on the way out, although checks hold
no secrets by construction (tokens appear only as fingerprints).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from provisioner import redact
from provisioner.verify.model import FAIL, PASS, SKIP, Check, VerifyReport

_COLORS = {PASS: "32", FAIL: "31", SKIP: "33"}
_HEADERS = ("check", "expected", "actual", "result")
_MAX_CELL = 60


def _cell(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _paint(text: str, status: str, color: bool) -> str:
    return f"\x1b[{_COLORS[status]}m{text}\x1b[0m" if color else text


def _split(name: str) -> tuple[str, str]:
    """``exchange → app: scope`` → (``exchange → app``, ``scope``); names without a section stay whole."""
    head, sep, tail = name.partition(": ")
    return (head, tail) if sep else ("", name)


def fit_widths(widths: list[int], budget: int, minimum: int = 10) -> list[int]:
    """Shrink the widest columns first until they fit in ``budget`` characters (never below ``minimum``)."""
    widths = list(widths)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= minimum:
            break
        widths[widest] -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    if len(text) <= width:
        return [text]
    indent = len(text) - len(text.lstrip(" "))
    return textwrap.wrap(text, width, subsequent_indent=" " * (indent + 2), break_on_hyphens=False) or [text]


def table_width(stream: object = None) -> int | None:
    """The width to fit: the terminal's; without a terminal ``COLUMNS`` when set, else none (a log or a
    pipe keeps each row on one line, so that it can be searched)."""
    import os
    import shutil
    import sys

    stream = sys.stdout if stream is None else stream
    if getattr(stream, "isatty", lambda: False)():
        return max(40, shutil.get_terminal_size((100, 24)).columns)
    columns = os.environ.get("COLUMNS", "")
    return max(40, int(columns)) if columns.isdigit() else None


def render_table(report: VerifyReport, *, color: bool = False, width: int | None = None) -> str:
    """One block per agent, checks under their section (check, expected, actual, pass/fail/skip), the
    diagnosis under each failed or skipped row, and a summary line. With ``width``, cells wrap so that
    no table line is longer (the status column stays whole; a diagnosis line is kept whole)."""
    lines: list[str] = []
    for group in report.groups:
        checks = report.by_group(group)
        rows = [("    " + _cell(_split(c.name)[1]), _cell(c.expected), _cell(c.actual), c.status) for c in checks]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS)]
        if width is not None:  # indent 2, three separators of 2, the status column
            widths[:3] = fit_widths(widths[:3], width - 2 - 6 - widths[3])
        lines.append(f"AIAgent {group}")
        lines.append("  " + "  ".join(h.ljust(widths[i]) for i, h in enumerate(_HEADERS)).rstrip())
        section = None
        for check, row in zip(checks, rows):
            head = _split(check.name)[0]
            if head and head != section:
                lines.extend(_wrap(f"  {head}", width) if width is not None else [f"  {head}"])
            section = head
            wrapped = [_wrap(row[i], widths[i]) if width is not None else [row[i]] for i in range(3)]
            for n in range(max(len(w) for w in wrapped)):
                cells = [(w[n] if n < len(w) else "").ljust(widths[i]) for i, w in enumerate(wrapped)]
                status = _paint(check.status, check.status, color) if n == 0 else ""
                lines.append(
                    ("  " + "  ".join(cells) + "  " + status).rstrip() if n else "  " + "  ".join(cells) + "  " + status
                )
            if check.message and check.status != PASS:  # the diagnosis stays one line (grep-able)
                lines.append(f"        ↳ {check.message}")
        lines.append("")
    if not report.checks:
        lines.append("No AIAgent with an application privilege: nothing to verify.")
    verdict = "verify passed" if report.ok else "verify FAILED"
    summary = f"{verdict}: {report.summary()}"
    if report.proved_nothing and report.failed == 0:
        summary += (
            " — nothing was proved (allowed by --allow-skipped)"
            if report.allow_skipped
            else " — nothing was proved: every check was skipped; fix what the skips name, or pass "
            "--allow-skipped to accept this"
        )
    lines.append(_paint(summary, PASS if report.ok else FAIL, color))
    return redact.text("\n".join(lines)) + "\n"


def render_json(report: VerifyReport) -> str:
    """The report as JSON with sorted keys (a stable contract for CI)."""
    return json.dumps(redact.data(report.to_dict()), indent=2, sort_keys=True) + "\n"


def _testcase(parent: ET.Element, check: Check) -> None:
    case = ET.SubElement(parent, "testcase", {"classname": f"verify.{check.group}", "name": check.name})
    details = f"expected: {check.expected}\nactual: {check.actual}"
    if check.message:
        details += f"\n{check.message}"
    if check.status == FAIL:
        failure = ET.SubElement(
            case, "failure", {"message": check.message or f"actual: {check.actual}", "type": "VerifyFailure"}
        )
        failure.text = details
    elif check.status == SKIP:
        ET.SubElement(case, "skipped", {"message": check.message or "skipped"})
    else:
        out = ET.SubElement(case, "system-out")
        out.text = details


def render_junit(report: VerifyReport) -> str:
    """JUnit XML: one ``testsuite`` per agent, one ``testcase`` per check, ``failure``/``skipped``."""
    root = ET.Element(
        "testsuites",
        {
            "name": "provisioner verify",
            "tests": str(len(report.checks)),
            "failures": str(report.failed),
            "skipped": str(report.skipped),
            "errors": "0",
        },
    )
    for group in report.groups:
        checks = report.by_group(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": group,
                "tests": str(len(checks)),
                "failures": str(sum(c.status == FAIL for c in checks)),
                "skipped": str(sum(c.status == SKIP for c in checks)),
                "errors": "0",
            },
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "target", "value": report.target})
        ET.SubElement(props, "property", {"name": "realm", "value": report.realm})
        for check in checks:
            _testcase(suite, check)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return redact.text('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
