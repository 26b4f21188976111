"""YAML with line tracking: locations by document path, duplicate keys, limits."""

from __future__ import annotations

import time

from provisioner.manifest.limits import Limits
from provisioner.manifest.model import SourceLocation
from provisioner.manifest.yamlload import format_path, offset_location, parse_documents

TEXT = """\
first: 1
nested:
  list: [a, {b: c}]
  block:
    - x
    - y: z
---
second: true
"""


def test_every_node_and_key_is_located_by_document_path() -> None:
    docs, problems = parse_documents(TEXT, "f.yaml")
    assert problems == []
    doc = docs[0]
    assert doc.data == {"first": 1, "nested": {"list": ["a", {"b": "c"}], "block": ["x", {"y": "z"}]}}
    loc = doc.locations
    assert loc[("first",)] == SourceLocation("f.yaml", 1, 8)
    assert loc[("nested", "list", 1, "b")] == SourceLocation("f.yaml", 3, 17)
    assert loc[("nested", "block", 1)] == SourceLocation("f.yaml", 6, 7)
    assert doc.key_locations[("nested", "block", 1, "y")] == SourceLocation("f.yaml", 6, 7)
    assert doc.key_locations[("nested",)] == SourceLocation("f.yaml", 2, 1)


def test_documents_are_numbered_and_keep_their_own_lines() -> None:
    docs, _ = parse_documents(TEXT, "f.yaml")
    assert [d.index for d in docs] == [0, 1]
    assert docs[1].locations[("second",)] == SourceLocation("f.yaml", 8, 9)


def test_locate_falls_back_to_the_nearest_parent() -> None:
    doc = parse_documents(TEXT, "f.yaml")[0][0]
    assert doc.locate(("nested", "list", 7)) == SourceLocation("f.yaml", 3, 9)
    assert doc.locate(("nested", "list"), key=True) == SourceLocation("f.yaml", 3, 3)


def test_duplicate_keys_are_reported_at_the_second_key() -> None:
    docs, problems = parse_documents("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml")
    assert [str(p) for p in problems] == ["f.yaml:4:3: b.c: duplicate key 'c' (first defined on line 3)"]
    assert docs[0].data == {"a": 1, "b": {"c": 1}}


def test_keys_stay_strings_as_written() -> None:
    docs, _ = parse_documents("on: yes\n1: 2\nnull: ~\n", "f.yaml")
    assert docs[0].data == {"on": True, "1": 2, "null": None}


def test_timestamps_keep_their_text() -> None:
    docs, _ = parse_documents("when: 2024-01-02\n", "f.yaml")
    assert docs[0].data == {"when": "2024-01-02"}


def test_syntax_errors_keep_the_documents_before_them() -> None:
    docs, problems = parse_documents("a: 1\n---\nb: [\n", "f.yaml")
    assert [d.data for d in docs] == [{"a": 1}]
    assert len(problems) == 1 and problems[0].location.line == 4


def test_huge_integers_are_refused_not_converted() -> None:
    _, problems = parse_documents("a: " + "9" * 5000 + "\n", "f.yaml")
    assert [p.message for p in problems] == ["number is too large"]


def test_document_cap() -> None:
    _, problems = parse_documents("a: 1\n---\nb: 2\n---\nc: 3\n", "f.yaml", Limits(max_documents=2))
    assert [str(p) for p in problems] == ["f.yaml:5:1: too many YAML documents (more than 2)"]


def test_alias_cap_and_cycles() -> None:
    many = "a: &a [1]\n" + "".join(f"k{i}: *a\n" for i in range(5))
    _, problems = parse_documents(many, "f.yaml", Limits(max_aliases=3))
    assert [p.message for p in problems] == ["too many YAML aliases (more than 3 in one file)"]
    _, problems = parse_documents("a: &a [*a]\n", "f.yaml")
    assert [p.message for p in problems] == ["nesting is deeper than 32 levels"]


def test_billion_laughs_is_rejected_fast() -> None:
    bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
    )
    start = time.process_time()  # CPU time: wall time on a loaded machine says nothing about the bound
    docs, problems = parse_documents(bomb, "bomb.yaml")
    assert time.process_time() - start < 0.5
    assert docs == [] and "expands to more than" in problems[0].message


def test_deep_flow_nesting_is_rejected_without_recursion_error() -> None:
    _, problems = parse_documents("[" * 50_000, "f.yaml")
    assert [p.message for p in problems] == ["nesting is deeper than 32 levels"]


def test_format_path() -> None:
    assert format_path(("spec", "applications", 0, "permissions")) == "spec.applications[0].permissions"
    assert format_path(("vars", "a.b", 1)) == "vars['a.b'][1]"
    assert format_path(()) == ""


def test_offset_location_counts_lines_and_columns_from_one() -> None:
    assert offset_location("f", "ab\ncd", 4) == SourceLocation("f", 2, 2)
    assert offset_location("f", "ab", 0) == SourceLocation("f", 1, 1)
