"""The load fast paths agree with the reference paths they stand in for.

* libyaml events (``_parse_fast``) give exactly what the pure-Python loader gives (documents,
  locations, diagnostics), or decline;
* the compiled schema check (``quick_check``) says "valid" exactly when jsonschema reports no error.

Inputs: every YAML file in the repository plus seeded random mutations of them, so a difference
shows up as a failing, reproducible case.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from provisioner.manifest import yamlload
from provisioner.manifest.limits import DEFAULT_LIMITS
from provisioner.manifest.schema import ENVIRONMENT_SCHEMA, KIND_SCHEMAS, quick_check, validator

ROOT = Path(__file__).resolve().parents[2]
TEXTS = sorted(
    (str(p.relative_to(ROOT)), p.read_text(encoding="utf-8", errors="replace"))
    for pattern in ("manifests/**/*.yaml", "tests/**/*.yaml", "examples/**/*.yaml", "manifests/**/*.yml")
    for p in ROOT.glob(pattern)
)
PIECES = [
    "é",
    "日本",
    "\u00a0",
    ":",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "&",
    "*",
    "|",
    ">",
    "'",
    '"',
    "%",
    "@",
    "`",
    " ",
    "\n",
    "  ",
    "\n  ",
    "- ",
    ": ",
    "---\n",
    "...\n",
    "on",
    "yes",
    "~",
    "0x1F",
    "1e3",
    "2024-01-02",
    ".inf",
    "<<: ",
    "\t",
    "?",
    "!",
    "\r\n",
    "\ufeff",
]


def _reference(text: str) -> Any:
    saved = yamlload._CParser
    yamlload._CParser = None
    try:
        return yamlload.parse_documents(text, "f.yaml")
    finally:
        yamlload._CParser = saved


def _mutations(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chars = list(rng.choice(TEXTS)[1][:3000])
        for _ in range(rng.randint(1, 6)):
            pos = rng.randint(0, len(chars))
            op = rng.random()
            if op < 0.5:
                chars.insert(pos, rng.choice(PIECES))
            elif chars and op < 0.8:
                del chars[min(pos, len(chars) - 1)]
            elif chars:
                chars[min(pos, len(chars) - 1)] = rng.choice(PIECES)
        out.append("".join(chars))
    return out


@pytest.mark.skipif(yamlload._CParser is None, reason="PyYAML without libyaml")
def test_libyaml_path_matches_the_pure_python_loader() -> None:
    texts = [t for _, t in TEXTS] + _mutations(7, 3000)
    used = 0
    for text in texts:
        fast = yamlload._parse_fast(text, "f.yaml", DEFAULT_LIMITS, DEFAULT_LIMITS.max_documents)
        if fast is None:
            continue
        used += 1
        assert repr(fast) == repr(_reference(text)), text
    assert used > len(TEXTS) // 2  # the fast path is actually taken for ordinary files


@pytest.mark.parametrize(
    "text",
    [
        "a:\tb\n",
        "a: [x?y]\n",
        "a: {b: , c: d}\n",
        "a: |#\n  x\n",
        "a: !x [b,c]\n",
        "a: &a [*a]\n",
        "a: 1\n---\nb: [\n",
        "\ufeffa: 1\n",
        "a: 1\r\nb: 2\r\n",
    ],
)
def test_inputs_libyaml_reads_differently_take_the_pure_python_path(text: str) -> None:
    assert yamlload._parse_fast(text, "f.yaml", DEFAULT_LIMITS, 10) is None
    assert yamlload.parse_documents(text, "f.yaml") == _reference(text)


VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    1.5,
    3600,
    10**9,
    "",
    "x",
    "alpha",
    "provisioner/v1",
    "client_credentials",
    "token_exchange",
    "service",
    "web",
    "https://a.example/cb",
    "bad id!",
    "a" * 300,
    [],
    ["x"],
    ["x", "x"],
    ["a", "b"],
    [1],
    [{}],
    {},
    {"fromEnv": "X"},
    {"fromFile": "f"},
    {"fromEnv": "X", "fromFile": "f"},
    {"userName": "u"},
    {"ensure": ["x"]},
    {"exact": []},
    {"x": 1},
]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, prefix + (index,))
    return out


def _documents() -> list[tuple[str, Any]]:
    out = []
    for _, text in TEXTS:
        docs, _ = _reference(text)
        for doc in docs:
            data = doc.data
            kind = data.get("kind") if isinstance(data, dict) else None
            name = KIND_SCHEMAS.get(kind) if isinstance(kind, str) else None
            if name is None and isinstance(data, dict) and "tenant" in data:
                name = ENVIRONMENT_SCHEMA
            if name:
                out.append((name, data))
    return out


def test_compiled_schema_check_agrees_with_jsonschema() -> None:
    documents = _documents()
    assert len(documents) > 10
    rng = random.Random(11)
    cases = list(documents)
    for _ in range(4000):
        name, data = rng.choice(documents)
        data = copy.deepcopy(data)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(_paths(data))
            if not path:
                continue
            parent = data
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict) and rng.random() < 0.2:
                parent[rng.choice(["extra", "scope", "name", "realm", "ensure"])] = rng.choice(VALUES)
            elif isinstance(parent, dict) and rng.random() < 0.2:
                parent.pop(path[-1])
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
        cases.append((name, data))
    valid = 0
    for name, data in cases:
        check = quick_check(name)
        assert check is not None
        expected = validator(name).is_valid(data)
        assert check(data) == expected, (name, data)
        valid += expected
    assert 0 < valid < len(cases)
