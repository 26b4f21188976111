"""The JSON Schemas: well-formed, documented, closed, in step with the vocabulary, usable alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from provisioner import grants
from provisioner.cli import main
from provisioner.manifest.schema import SCHEMA_FILES, bundled_schema, schema_documents, validator

ROOT = Path(__file__).resolve().parents[2]


def properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema (and $defs entry) in a schema document, with a readable path."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", sub
        for name, sub in node.get("$defs", {}).items():
            yield f"{where}#{name}", sub
        for key, sub in node.items():
            yield from properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from properties(sub, f"{where}[{index}]")


def objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for sub in node.values():
            yield from objects(sub)
    elif isinstance(node, list):
        for sub in node:
            yield from objects(sub)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_files_are_draft_2020_12_and_match_the_checkout(name: str) -> None:
    document = schema_documents()[name]
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8")) == document


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_property_has_a_title_and_a_description(name: str) -> None:
    missing = [
        path for path, sub in properties(schema_documents()[name]) if not (sub.get("title") and sub.get("description"))
    ]
    assert missing == []


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_object_is_closed(name: str) -> None:
    open_objects = [
        o.get("title")
        for o in objects(schema_documents()[name])
        if o.get("additionalProperties") is not False
        and o.get("unevaluatedProperties") is not False
        and o.get("title") != "Template variables"
    ]
    assert open_objects == []


def test_grant_type_enum_has_every_alias_and_every_am_value() -> None:
    grant = schema_documents()["definitions.schema.json"]["$defs"]["grantType"]
    assert set(grant["enum"]) == set(grants.ALIASES) | set(grants.AM_VALUES)
    assert len(grant["enumDescriptions"]) == len(grant["enum"])


def test_the_vocabulary_of_docs_architecture() -> None:
    spec = lambda name: schema_documents()[name]["properties"]["spec"]["properties"]  # noqa: E731
    assert set(spec("application.schema.json")) == {
        "displayName",
        "description",
        "template",
        "owners",
        "clientSecret",
        "scopes",
        "defaultScopes",
        "grantTypes",
        "tokenEndpointAuthMethod",
        "redirectUris",
        "accessTokenLifetime",
        "clientType",
    }
    assert set(spec("aiagent.schema.json")) == {
        "displayName",
        "description",
        "owners",
        "clientSecret",
        "scopes",
        "defaultScopes",
        "grantTypes",
        "tokenEndpointAuthMethod",
        "accessTokenLifetime",
        "providerOverrides",
        "applications",
    }
    assert set(spec("oauth2provider.schema.json")) == {"grantTypes", "acceptAudienceInTokenExchange"}
    privilege = schema_documents()["aiagent.schema.json"]["$defs"]["privilege"]["properties"]
    assert set(privilege) == {"application", "existing", "description", "subjects", "subjectGroups", "permissions"}


def example_documents() -> list[dict[str, Any]]:
    from provisioner.manifest.templating import render

    docs = []
    for path in sorted(
        p for p in (ROOT / "manifests").glob("*/*.yaml") if p.name not in ("emulator-seed.yaml", "provisioner.yaml")
    ):  # not manifests
        text, _ = render(path.read_text(encoding="utf-8"), str(path), {"webAppOrigin": "https://x.example"})
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def test_examples_validate_against_the_combined_schema_in_both_forms() -> None:
    bundled = jsonschema.Draft202012Validator(bundled_schema())
    combined = validator("manifest.schema.json")
    documents = example_documents()
    assert len(documents) == 6
    for document in documents:
        assert list(combined.iter_errors(document)) == []
        assert list(bundled.iter_errors(document)) == []
    bad = dict(documents[0], extra=1)
    assert list(bundled.iter_errors(bad)) and list(combined.iter_errors(bad))


def test_bundled_schema_is_self_contained() -> None:
    text = json.dumps(bundled_schema())
    assert ".schema.json" not in text.replace("manifest.schema.json", "")


def test_schema_command_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == bundled_schema()
    assert main(["schema", "aiagent"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "AIAgent"
    assert main(["schema", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(SCHEMA_FILES)
    assert main(["schema", "nope"]) == 1
    assert "unknown schema 'nope'" in capsys.readouterr().err
