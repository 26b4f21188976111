"""``provisioner validate``: schema, semantic rules and lint, offline; every problem at once."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import click

from provisioner import redact
from provisioner.commands import SECRETS_DIR_HELP
from provisioner.commands._common import diagnostic_line, no_cache_option
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
@click.option(
    "--env-file",
    "env_file",
    metavar="FILE",
    type=click.Path(),
    help="Dotenv file for fromEnv secrets (the process environment wins).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--secrets-dir",
    "secrets_dirs",
    metavar="DIR",
    multiple=True,
    type=click.Path(file_okay=False),
    help=SECRETS_DIR_HELP,
)
@click.option("--strict", is_flag=True, help="Treat lint warnings as errors.")
@click.option("--skip-secrets", is_flag=True, help="Do not resolve secret references (for pipelines without secrets).")
@click.option(
    "--each-stack",
    is_flag=True,
    help="PATHS hold stacks, one per folder: validate each alone, with each of its environments.",
)
@no_cache_option
def command(
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    output_format: str,
    strict: bool,
    skip_secrets: bool,
    secrets_dirs: tuple[str, ...] = (),
    each_stack: bool = False,
) -> int:
    """Validate manifests offline: schema, semantic rules and lint.

    PATHS are manifest files or directories (every *.yaml/*.yml below, except environments/).
    With --each-stack, every folder under PATHS that holds manifests is a stack of its own, validated
    alone and with each of its environments/ (the layout the docs recommend, and the pre-commit
    hook's default). Exit status 0 when valid (warnings allowed unless --strict), 1 when not.
    """
    if each_stack:
        return _each_stack(paths, env, env_file, output_format, strict, skip_secrets, secrets_dirs)
    result = load(
        list(paths),
        env=env,
        env_file=env_file,
        environ=os.environ,
        strict=strict,
        resolve_secrets=not skip_secrets,
        secrets_dirs=secrets_dirs,
    )
    output = render_json(result) if output_format == "json" else render_text(result)
    click.echo(redact.text(output))
    return EXIT_OK if result.ok else EXIT_ERROR


def stack_folders(paths: tuple[str, ...] | list[str]) -> list[str]:
    """The stacks under ``paths``: a folder with manifest files directly in it is one stack (its
    sub-folders belong to it); otherwise each sub-folder is looked at the same way. Files are stacks."""
    from provisioner.manifest.sources import ENVIRONMENTS_DIR, MANIFEST_SUFFIXES, NOT_MANIFESTS

    found: list[str] = []

    def visit(folder: str, depth: int) -> None:
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            found.append(folder)  # let the loader report it
            return
        if any(
            e.endswith(MANIFEST_SUFFIXES)
            and not e.startswith(".")
            and e not in NOT_MANIFESTS
            and os.path.isfile(os.path.join(folder, e))
            for e in entries
        ):
            found.append(folder)
            return
        subfolders = [
            os.path.join(folder, e)
            for e in entries
            if not e.startswith(".")
            and e != ENVIRONMENTS_DIR
            and os.path.isdir(os.path.join(folder, e))
            and not os.path.islink(os.path.join(folder, e))
        ]
        if depth >= 4 or not subfolders:
            found.append(folder)  # nothing to split: the loader says what is wrong
            return
        for sub in subfolders:
            visit(sub, depth + 1)

    for path in paths:
        if os.path.isdir(path):
            visit(path, 0)
        else:
            found.append(path)
    return found


def _each_stack(
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    output_format: str,
    strict: bool,
    skip_secrets: bool,
    secrets_dirs: tuple[str, ...] = (),
) -> int:
    from provisioner.manifest.environment import available_environments

    runs = []
    for stack in stack_folders(paths):
        envs: list[str | None] = [env] if env else (list(available_environments([stack])) or [None])
        for name in envs:
            result = load(
                [stack],
                env=name,
                env_file=env_file,
                environ=os.environ,
                strict=strict,
                resolve_secrets=not skip_secrets,
                secrets_dirs=secrets_dirs,
            )
            runs.append((stack, name, result))
    ok = all(result.ok for _, _, result in runs)
    if output_format == "json":
        document = {
            "valid": ok,
            "stacks": [
                {
                    "path": stack,
                    "environment": name,
                    "valid": result.ok,
                    "diagnostics": [d.to_json() for d in result.diagnostics],
                    "summary": summary(result),
                }
                for stack, name, result in runs
            ],
        }
        click.echo(redact.text(json.dumps(redact.data(document), sort_keys=True, indent=2, ensure_ascii=False)))
        return EXIT_OK if ok else EXIT_ERROR
    seen: set[str] = set()
    lines: list[str] = []
    for stack, name, result in runs:
        for diag in result.diagnostics:  # the same finding under several environments is shown once
            line = diagnostic_line(diag)
            if line not in seen:
                seen.add(line)
                lines.append(line)
        verdict = render_text(result).splitlines()[-1]
        lines.append(f"{stack}" + (f" (--env {name})" if name else "") + f": {verdict}")
    click.echo(redact.text("\n".join(lines)))
    return EXIT_OK if ok else EXIT_ERROR
