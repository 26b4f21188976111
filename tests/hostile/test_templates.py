"""Item 1: template rendering is bounded in CPU and memory; each bound is a located error, exit 1.

Every case ran for 40 s or ended in MemoryError (exit 3) before; now validate answers in well under
two seconds with ``file:line:1: template exceeds …``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.manifest import Limits
from provisioner.manifest.templating import render

HEAD = "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: app-one}\nspec:\n"

CASES = {
    "nested-loops": (
        "  description: \"{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% for c in 'x'*10000 %}"
        '{% endfor %}{% endfor %}{% endfor %}"',
        "template exceeds 500000 steps",
    ),
    "doubling-macro": (
        "  description: \"{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s|length }}{% endmacro %}{{ d('x', 60) }}\"",
        "template exceeds 1048576 characters in one value",
    ),
    "exponential-macro": (
        '  description: "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}"',
        "template exceeds ",
    ),
    "big-int-squaring": (
        '  description: "{% set a = 2**64 %}{% set b = a*a %}{% set c = b*b %}{% set d = c*c %}'
        '{% set e = d*d %}{% set f = e*e %}{% set g = f*f %}{{ g*g }}"',
        "template exceeds 4096-bit integers",
    ),
    "ljust": (
        "  description: \"{{ 'x'.ljust(30000000000) }}\"",
        "template exceeds 10000 for a width, precision or count (30000000000)",
    ),
    "percent-precision": (
        "  description: \"{{ '%.999999999f' % 1 }}\"",
        "template exceeds 10000 for a width, precision or count (999999999)",
    ),
    "format-method": (
        "  description: \"{{ '{:.999999999f}'.format(1) }}\"",
        "template exceeds 10000 for a width, precision or count (999999999)",
    ),
    "format-filter": (
        "  description: \"{{ '%999999999d'|format(1) }}\"",
        "template exceeds 10000 for a width, precision or count (999999999)",
    ),
    "center-filter": (
        "  description: \"{{ 'x'|center(999999999) }}\"",
        "template exceeds 10000 for a width, precision or count (999999999)",
    ),
    "batch-filter": (
        "  description: \"{{ 'x'|batch(999999999)|list }}\"",
        "template exceeds 10000 for a width, precision or count (999999999)",
    ),
    "replace-blowup": (
        "  description: \"{{ ('x'*10000)|replace('x', 'y'*10000) }}\"",
        "template exceeds 1048576 characters in one value",
    ),
    "concat-doubling": (
        "  description: \"{% set a = 'x'*10000 %}" + "{% set a = a ~ a %}" * 30 + '{{ a|length }}"',
        "template exceeds 1048576 characters in one value",
    ),
    "list-doubling": (
        "  description: \"{% set a = ['x']*10000 %}" + "{% set a = a + a %}" * 30 + '{{ a|length }}"',
        "template exceeds 1048576 characters in one value",
    ),
    "list-mutation": (
        "  description: \"{% set l = [1] %}{% for i in 'x'*40 %}{{ l.extend(l) }}{% endfor %}\"",
        "template error: access to attribute 'extend' of 'list' object is unsafe",
    ),
    "namespace-doubling": (
        "  description: \"{% set ns = namespace(s='x') %}{% for i in 'x'*40 %}"
        '{% set ns.s = ns.s ~ ns.s %}{% endfor %}"',
        "undefined template variable 'namespace'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_templates_are_located_errors_in_milliseconds(cli, tmp_path: Path, case: str) -> None:
    line, message = CASES[case]
    manifest = tmp_path / "app.yaml"
    manifest.write_text(HEAD + "  displayName: App One\n" + line + "\n", encoding="utf-8")
    cli("validate", str(manifest)).check(1, f"{manifest}:6:", message)


def test_output_cap_points_at_the_line_that_overflowed() -> None:
    text = "a: 1\nb: 2\n{% for a in l %}{% for b in l %}{{ a }}{{ b }}{% endfor %}{% endfor %}\n"
    _, problems = render(text, "f.yaml", {"l": list(range(300))}, Limits(max_rendered_bytes=1000))
    assert [str(p) for p in problems] == ["f.yaml:3:1: template output exceeds 1000 bytes"]


def test_ordinary_templates_still_render(cli, tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text("realm: alpha\nvars: {names: [a, b, c]}\n", encoding="utf-8")
    (tmp_path / "apps.yaml").write_text(
        "{% for n in names %}---\n"
        + HEAD.replace("app-one", "app-{{ n }}")
        + "  displayName: \"{{ ('App ' ~ n)|upper|center(12) }} {{ '%05d'|format(loop.index) }}\"\n{% endfor %}",
        encoding="utf-8",
    )
    cli("validate", str(tmp_path), "--env", "dev").check(0, "3 resources in 1 file: valid")


def test_a_large_honest_loop_fits_the_budget() -> None:
    """3,000 generated documents with filters and a macro stay well inside the step budget."""
    text = (
        "{% macro app(n) %}apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: app-{{ n }}}\n"
        "spec: {displayName: \"{{ ('App ' ~ n)|title }}\"}{% endmacro %}"
        "{% for n in names %}---\n{{ app(n) }}\n{% endfor %}"
    )
    out, problems = render(text, "f.yaml", {"names": [f"n{i:04d}" for i in range(3000)]})
    assert problems == [] and out is not None and out.count("kind: Application") == 3000
