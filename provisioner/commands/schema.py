"""``provisioner schema``: print or write the JSON Schemas (editor integration)."""

from __future__ import annotations

import json
import os

import click

from provisioner.errors import EXIT_OK, UsageError
from provisioner.manifest.schema import KIND_SCHEMAS, bundled_schema, schema_documents

_CHOICES = {kind.lower(): name for kind, name in KIND_SCHEMAS.items()}
_CHOICES["environment"] = "environment.schema.json"
_CHOICES["stack"] = "stack.schema.json"
_CHOICES["definitions"] = "definitions.schema.json"


def _dump(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@click.command(name="schema")
@click.argument("kind", required=False, metavar="[KIND]")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write every schema file to DIR instead of printing.",
)
def command(kind: str | None, out_dir: str | None) -> int:
    """Print the JSON Schema for manifests (or write all schema files with --out).

    Without KIND, prints the combined manifest schema as one self-contained document. KIND is one of
    OAuth2Provider, Application, AIAgent, environment, definitions (these refer to
    definitions.schema.json; use --out to get the set).
    """
    if out_dir:
        if kind:
            raise UsageError("--out writes every schema file; leave out KIND")
        os.makedirs(out_dir, exist_ok=True)
        for name, document in sorted(schema_documents().items()):
            path = os.path.join(out_dir, name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(_dump(document))
            click.echo(path)
        return EXIT_OK
    if kind is None:
        click.echo(_dump(bundled_schema()), nl=False)
        return EXIT_OK
    chosen = _CHOICES.get(kind.lower())
    if chosen is None:
        choices = ", ".join([*KIND_SCHEMAS, "environment", "definitions"])
        raise UsageError(f"unknown schema '{kind}' (expected one of: {choices})")
    click.echo(_dump(schema_documents()[chosen]), nl=False)
    return EXIT_OK
