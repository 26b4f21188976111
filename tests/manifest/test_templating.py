"""Jinja2 templating over manifest text: strict variables, located errors, the sandbox."""

from __future__ import annotations

from provisioner.manifest.limits import Limits
from provisioner.manifest.templating import render


def messages(problems):  # noqa: ANN001, ANN201 - tiny test helper
    return [str(p) for p in problems]


def test_text_without_template_syntax_is_returned_unchanged() -> None:
    text = "a: {b: c}\n"
    assert render(text, "f.yaml", {}) == (text, [])


def test_variables_are_substituted_and_lines_kept() -> None:
    text, problems = render("a: {{ name }}\nb: {{ n + 1 }}\n", "f.yaml", {"name": "x", "n": 1})
    assert problems == [] and text == "a: x\nb: 2\n"


def test_every_use_of_every_undefined_variable_is_reported_with_its_column() -> None:
    text, problems = render(
        "a: {{ one }}\nb: x-{{ two }}\nc: {{ one | upper }}\n", "f.yaml", {"x": 1}, hint="defined: x"
    )
    assert text is None
    assert messages(problems) == [
        "f.yaml:1:7: undefined template variable 'one' (defined: x)",
        "f.yaml:3:7: undefined template variable 'one' (defined: x)",
        "f.yaml:2:9: undefined template variable 'two' (defined: x)",
    ]


def test_default_filter_and_defined_test_allow_undefined_names() -> None:
    text, problems = render("a: {{ x | default('d') }}\n{% if y is defined %}b: {{ y }}{% endif %}\n", "f.yaml", {})
    assert problems == [] and text == "a: d\n\n"


def test_undefined_attribute_fails_at_render_with_its_line() -> None:
    _, problems = render("a: 1\nb: {{ v.missing }}\n", "f.yaml", {"v": {}})
    assert messages(problems) == ["f.yaml:2:1: template error: 'dict object' has no attribute 'missing'"]


def test_loop_variables_are_not_undefined() -> None:
    text, problems = render("{% for u in users %}- {{ u }}\n{% endfor %}", "f.yaml", {"users": ["a", "b"]})
    assert problems == [] and text == "- a\n- b\n"


def test_syntax_errors_are_located() -> None:
    _, problems = render("a: 1\nb: {{ x\n", "f.yaml", {"x": 1})
    assert messages(problems)[0].startswith("f.yaml:")
    assert "template syntax error" in messages(problems)[0]


def test_the_sandbox_blocks_python_internals_and_huge_output() -> None:
    _, problems = render("a: {{ x.__class__.__mro__ }}", "f.yaml", {"x": ""})
    assert "unsafe" in problems[0].message
    _, problems = render("a: {{ 'x' * 100000000 }}", "f.yaml", {})
    assert problems[0].message == "template error: repetition too large in template expression"
    _, problems = render("a: {{ 9 ** 999999 }}", "f.yaml", {})
    assert problems[0].message == "template error: exponent too large in template expression"
    _, problems = render("{% for i in range(10) %}{% endfor %}", "f.yaml", {})
    assert "undefined template variable 'range'" in problems[0].message
    _, problems = render(
        "{% for a in l %}{% for b in l %}{{ a }}{{ b }}{% endfor %}{% endfor %}",
        "f.yaml",
        {"l": list(range(300))},
        Limits(max_rendered_bytes=1000),
    )
    assert problems[0].message == "template output exceeds 1000 bytes"


def test_errors_inside_expressions_are_diagnostics() -> None:
    _, problems = render("a: 1\nb: {{ 1 / 0 }}\n", "f.yaml", {})
    assert messages(problems) == ["f.yaml:2:1: template error: division by zero"]
