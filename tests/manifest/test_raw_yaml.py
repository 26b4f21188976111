"""Every shipped YAML file is what an editor sees: valid YAML and schema-valid BEFORE templating.

yaml-language-server checks the raw file against the schema named in its first line; a template
expression that breaks the YAML (an unquoted ``{{ … }}`` starts a flow mapping) would mark it red.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("manifests/**/*.yaml"), *ROOT.glob("examples/**/*.yaml")])


def _validator(name: str) -> jsonschema.Draft202012Validator:
    resources = []
    for path in sorted((ROOT / "schemas").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(document)
        resources += [(path.name, resource)] + ([(document["$id"], resource)] if "$id" in document else [])
    registry = Registry().with_resources(resources)
    schema = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def test_there_are_files_to_check() -> None:
    assert len(SHIPPED) >= 12  # 6 manifests, 6 environment files


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_yaml_is_valid_and_schema_valid_without_rendering(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]  # raises on invalid YAML
    assert documents, f"{path}: no YAML document"
    if path.name == "emulator-seed.yaml":  # the local emulator's users and groups, not a manifest
        return
    schema = "environment.schema.json" if path.parent.name == "environments" else "manifest.schema.json"
    if path.name == "provisioner.yaml":  # a stack's identity declaration
        schema = "stack.schema.json"
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=") and first.endswith(schema), first
    validator = _validator(schema)
    for document in documents:
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], f"{path.relative_to(ROOT)} (raw, not rendered): {errors}"


def test_the_workflow_example_parses() -> None:
    for path in ROOT.glob("examples/**/*.yml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8")), path


APP = """apiVersion: provisioner/v1
kind: Application
metadata: {{name: web-app, realm: alpha}}
spec:
  template: web
  scopes: [read]
  redirectUris:
    - {uri}
"""


@pytest.mark.parametrize(
    "uri, warned",
    [("{{ origin }}/callback", True), ('"{{ origin }}/callback"', False), ("https://fixed.example/callback", False)],
)
def test_validate_warns_when_a_template_breaks_the_raw_yaml(tmp_path: Path, uri: str, warned: bool) -> None:
    from click.testing import CliRunner

    from provisioner.cli import cli

    stack = tmp_path / "stack"
    (stack / "environments").mkdir(parents=True)
    (stack / "app.yaml").write_text(APP.format(uri=uri), encoding="utf-8")
    (stack / "environments" / "dev.yaml").write_text("vars: {origin: 'https://a.example'}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(stack), "--env", "dev"], env={"CI": "true"})
    assert result.exception is None and "valid" in result.output.splitlines()[-1], result.output
    lines = [ln for ln in result.output.splitlines() if "not valid YAML before templating" in ln]
    if warned:
        assert len(lines) == 1 and lines[0].startswith(f"{stack / 'app.yaml'}:8:"), result.output
        assert ": warning: " in lines[0] and 'quote the template expression (key: "{{ name }}")' in lines[0]
        strict = CliRunner().invoke(cli, ["validate", str(stack), "--env", "dev", "--strict"], env={"CI": "true"})
        assert strict.output.splitlines()[-1].endswith("invalid: 1 error"), strict.output
    else:
        assert lines == [], result.output
