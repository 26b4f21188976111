"""Simple ``{{ name }}`` / ``{{ name | default('x') }}`` texts render without Jinja, exactly as Jinja would."""

from __future__ import annotations

import pytest

from provisioner.manifest import templating

VARS = {"name": "logs", "n": 3, "ratio": 0.5, "flag": True, "empty": "", "items": [1, 2]}

CASES = [
    "a: {{ name }}\n",
    'a: "x{{name}}y{{ n }}"\nb: {{ ratio }}\n',
    'a: "{{ missing | default(\'\') }}"\nb: {{ missing|d("dflt") }}\n',
    "a: {{ name | default('unused') }}\n",
    "a: '}} literal'\nb: {{ empty }}\n",
    "a: {{ flag }}\n",
    "a: {{ items }}\n",  # list: Jinja
    "a: {{ true }}\n",  # a Jinja constant, not a variable: Jinja
    "a: {{ name | upper }}\n",  # any other filter: Jinja
    "a: {% if n %}x{% endif %}\n",
    "a: {{ name }}\r\nb: 1\r\n",
    "a: {{ name }} {{ 'lit' }}\n",
]


@pytest.mark.parametrize("text", CASES)
def test_fast_path_output_equals_jinja(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_diags = templating.render(text, "f.yaml", VARS)
    monkeypatch.setattr(templating, "_render_simple", lambda text, variables: None)
    slow, slow_diags = templating.render(text, "f.yaml", VARS)
    assert (fast, [str(d) for d in fast_diags]) == (slow, [str(d) for d in slow_diags])


def test_fast_path_is_taken_for_simple_tags_and_not_for_undefined_names() -> None:
    assert templating._render_simple("a: {{ name }}-{{ x | default('d') }}\n", VARS) == "a: logs-d\n"
    assert templating._render_simple("a: {{ undefined_name }}\n", VARS) is None
    assert templating._render_simple("a: {{ flag }}\n", VARS) == "a: True\n"  # as Jinja: str(value)
    assert templating._render_simple("a: {{ items }}\n", VARS) is None
    assert templating._render_simple("a: {{ name }} {{ name|upper }}\n", VARS) is None


def test_undefined_variable_is_still_reported_where_it_is_used() -> None:
    out, diags = templating.render("a: {{ name }}\nb: {{ nope }}\n", "f.yaml", VARS)
    assert out is None and [str(d) for d in diags] == ["f.yaml:2:7: undefined template variable 'nope'"]
