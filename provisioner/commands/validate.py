"""``provisioner validate``: schema, semantic rules and lint, offline; every problem at once."""
from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import click

from provisioner import redact
from provisioner.commands import SECRETS_DIR_HELP
from provisioner.errors import EXIT_ERROR, EXIT_OK
from provisioner.manifest import LoadResult, load


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(result: LoadResult) -> dict[str, Any]:
    """Counts for the summary line and the JSON ``summary`` object."""
    stack = result.stack
    kinds = Counter(r.kind for r in stack.resources) if stack else Counter()
    return {
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "files": len(stack.sources) if stack else 0,
        "resources": sum(kinds.values()),
        "kinds": dict(sorted(kinds.items())),
        "stack": stack.name if stack else None,
        "environment": stack.environment.name if stack and stack.environment else None,
    }


def diagnostic_line(diag: Any) -> str:
    """``file:line:col: path: message``, with ``warning: `` before the message of a warning (the one
    format validate, plan and apply print diagnostics in)."""
    text = str(diag)
    if diag.severity == "warning":
        head, sep, _ = text.rpartition(f": {diag.message}")
        text = f"{head}: warning: {diag.message}" if sep else f"warning: {text}"
    return text


def render_text(result: LoadResult) -> str:
    """One diagnostic per line (``file:line:col: path: message``), then a summary line."""
    lines = [diagnostic_line(diag) for diag in result.diagnostics]
    counts = summary(result)
    found = f"{_plural(counts['resources'], 'resource')} in {_plural(counts['files'], 'file')}"
    if result.ok:
        verdict = "valid" + (f" ({_plural(counts['warnings'], 'warning')})" if counts["warnings"] else "")
    else:
        verdict = "invalid: " + _plural(counts["errors"], "error")
        if counts["warnings"]:
            verdict += ", " + _plural(counts["warnings"], "warning")
    lines.append(f"{found}: {verdict}")
    return "\n".join(lines)


def render_json(result: LoadResult) -> str:
    """The machine-readable report: sorted keys, stable order, byte-identical for identical input."""
    document = {
        "valid": result.ok,
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "summary": summary(result),
    }
    return json.dumps(redact.data(document), sort_keys=True, indent=2, ensure_ascii=False)


@click.command(name="validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--env", "env", metavar="NAME", help="Load environments/NAME.yaml next to the manifests.")
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(),
              help="Dotenv file for fromEnv secrets (the process environment wins).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--secrets-dir", "secrets_dirs", metavar="DIR", multiple=True, type=click.Path(file_okay=False),
              help=SECRETS_DIR_HELP)
@click.option("--strict", is_flag=True, help="Treat lint warnings as errors.")
@click.option("--skip-secrets", is_flag=True,
              help="Do not resolve secret references (for pipelines without secrets).")
def command(paths: tuple[str, ...], env: str | None, env_file: str | None, output_format: str,
            strict: bool, skip_secrets: bool, secrets_dirs: tuple[str, ...] = ()) -> int:
    """Validate manifests offline: schema, semantic rules and lint.

    PATHS are manifest files or directories (every *.yaml/*.yml below, except environments/).
    Exit status 0 when valid (warnings allowed unless --strict), 1 when not.
    """
    result = load(list(paths), env=env, env_file=env_file, environ=os.environ, strict=strict,
                  resolve_secrets=not skip_secrets, secrets_dirs=secrets_dirs)
    output = render_json(result) if output_format == "json" else render_text(result)
    click.echo(redact.text(output))
    return EXIT_OK if result.ok else EXIT_ERROR
