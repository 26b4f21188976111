"""``provisioner plan``: read the tenant and print the field-level diff (text, JSON or Markdown)."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from provisioner import api, redact
from provisioner.commands import SECRETS_DIR_HELP
from provisioner.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, UsageError
from provisioner.render import render, stream_json, use_colour


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options plan and apply share."""
    options = [
        click.option("--env", "env", metavar="NAME", help="Load environments/NAME.yaml next to the manifests."),
        click.option("--env-file", "env_file", metavar="FILE", type=click.Path(),
                     help="Dotenv file for secret references and credentials."),
        click.option("--secrets-dir", "secrets_dirs", metavar="DIR", multiple=True, type=click.Path(file_okay=False),
                     help=SECRETS_DIR_HELP),
        click.option("--tenant", "tenant", metavar="URL|local", help="Tenant URL, or 'local' for the emulator."),
        click.option("--realm", "realm", metavar="R", help="Put every resource in realm R."),
        click.option("--stack", "stack_name", metavar="NAME", help="Stack name (ownership marker for prune)."),
        click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
                     show_default=True, help="Plan output format."),
        click.option("--prune", is_flag=True, help="Delete objects this stack created that are no longer declared."),
        click.option("--max-deletes", "max_deletes", type=click.IntRange(min=0), default=5, show_default=True,
                     help="Refuse to delete more objects than this."),
        click.option("--parallelism", type=click.IntRange(min=1, max=64), default=4, show_default=True,
                     help="Concurrent requests."),
        click.option("-v", "--verbose", is_flag=True, help="Show unchanged objects and trace HTTP requests."),
        click.option("-q", "--quiet", is_flag=True, help="Print less."),
        click.option("--no-color", "no_color", is_flag=True, help="No ANSI colour (also NO_COLOR)."),
        click.option("--record", "record", metavar="FILE.har", type=click.Path(dir_okay=False),
                     help="Write every HTTP exchange of the run to FILE.har (HAR 1.2, secrets redacted)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def echo(text: str, *, err: bool = False) -> None:
    """Every line that leaves the process goes through the redaction layer."""
    click.echo(redact.text(text), err=err, nl=False)


def target_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--target ADDRESS`` (repeatable), for plan and apply."""
    return click.option("--target", "targets", multiple=True, metavar="ADDRESS",
                        help="Only this object and what it needs (repeatable), e.g. 'AIAgent alpha/bot' or bot.")(fn)


def read_input(path: str, what: str) -> str:
    """The text of ``path``, or of stdin for ``-`` (a clear error naming the file otherwise)."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text") from None


def _stdin_paths(paths: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    """``-`` among the manifest PATHS: stdin is saved to a private temporary folder as ``stdin.yaml``."""
    if "-" not in paths:
        return paths, None
    import tempfile

    folder = tempfile.TemporaryDirectory(prefix="provisioner-stdin-")
    target = Path(folder.name) / "stdin.yaml"
    target.write_text(sys.stdin.read(), encoding="utf-8")
    return tuple(str(target) if p == "-" else p for p in paths), folder


def load_or_report(paths: tuple[str, ...], env: str | None, env_file: str | None, stack_name: str | None,
                   secrets_dirs: tuple[str, ...] = (), quiet: bool = False) -> Any:
    """Load the manifests; print diagnostics to stderr (warnings not with ``quiet``); ``None`` when there
    are errors (no network yet). ``-`` in ``paths`` reads a manifest from stdin."""
    from provisioner.commands.validate import diagnostic_line

    paths, stdin_folder = _stdin_paths(paths)
    try:
        result = api.load(list(paths), env=env, env_file=env_file, environ=os.environ, stack_name=stack_name,
                          secrets_dirs=secrets_dirs)
    finally:
        if stdin_folder is not None:
            stdin_folder.cleanup()
    for diag in result.diagnostics:
        if not (quiet and diag.severity == "warning"):
            echo(diagnostic_line(diag) + "\n", err=True)
    if not result.ok or result.stack is None:
        count = len(result.errors)
        echo(f"Error: the manifests are not valid ({count} error{'' if count == 1 else 's'}); nothing was read or "
             "written.\n", err=True)
        return None
    return result


def show_plan(plan_dict: dict[str, Any], fmt: str, *, verbose: bool, no_color: bool, target_shown: bool,
              quiet: bool = False) -> None:
    """Print a plan in ``fmt`` to stdout (text: coloured only on a TTY; ``quiet``: the changes and the
    summary only, without the header lines and warnings)."""
    if fmt == "text":
        colour = use_colour(sys.stdout, no_color)
        if quiet:
            plan_dict = {**plan_dict, "stack": None, "environment": None,
                         "diagnostics": [d for d in plan_dict.get("diagnostics") or [] if d.get("severity") == "error"]}
        text = render(plan_dict, "text", colour=colour, header=not target_shown and not quiet, verbose=verbose)
        echo(text.lstrip("\n") if quiet else text)
    elif fmt == "json":  # streamed: a 10,000-object plan is never one string in memory
        stream_json(plan_dict, echo)
    else:
        echo(render(plan_dict, fmt))


def print_target(label: str, fmt: str, quiet: bool = False) -> None:
    """The target goes first: on stdout for text, on stderr for machine formats (stdout stays parseable);
    not at all with ``quiet``."""
    if not quiet:
        echo(label + "\n", err=fmt != "text")


def write_plan_file(path: str, plan: Any) -> None:
    """Save the JSON plan (``Plan``, its dict, or its text), streamed through the redaction layer."""
    if isinstance(plan, str):
        Path(path).write_text(redact.text(plan), encoding="utf-8")
        return
    with open(path, "w", encoding="utf-8") as handle:
        stream_json(plan if isinstance(plan, dict) else plan.to_dict(), lambda text: handle.write(redact.text(text)))


@click.command(name="plan")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@common_options
@click.option("--out", "out", metavar="FILE", type=click.Path(), help="Save the JSON plan (for apply --plan).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 2 changes, 1 error.")
@click.option("--check-secrets", is_flag=True, help="Also prove each declared secret at the token endpoint.")
@target_option
def command(paths: tuple[str, ...], env: str | None, env_file: str | None, tenant: str | None, realm: str | None,
            stack_name: str | None, fmt: str, prune: bool, max_deletes: int, parallelism: int, verbose: bool,
            quiet: bool, no_color: bool, out: str | None, detailed_exitcode: bool, check_secrets: bool,
            secrets_dirs: tuple[str, ...] = (), record: str | None = None, targets: tuple[str, ...] = ()) -> int:
    """Read the tenant and show what apply would change, field by field.

    PATHS are manifest files or directories ('-' reads one manifest file from stdin). Nothing is
    written to the tenant. -q prints only the changes and the summary line (and errors).
    """
    loaded = load_or_report(paths, env, env_file, stack_name, secrets_dirs, quiet=quiet)
    if loaded is None:
        return EXIT_ERROR
    stack = loaded.stack
    env_tenant = stack.environment.tenant if stack.environment else None
    with api.tenant(tenant, env_file=env_file, environment_tenant=env_tenant, parallelism=parallelism,
                    verbose=verbose, paths=paths, record=record) as opened:
        print_target(opened.label, fmt, quiet)
        plan, _ = api.plan_with_snapshot(stack, loaded.secrets, opened, realm=realm, prune=prune,
                                         max_deletes=max_deletes, check_secrets=check_secrets, parallelism=parallelism,
                                         targets=targets)
    plan_dict = plan.to_dict()
    if out:
        write_plan_file(out, plan_dict)
    show_plan(plan_dict, fmt, verbose=verbose, no_color=no_color, target_shown=True, quiet=quiet)
    if out and not quiet:
        echo(f"Saved the plan to {out}; run: provisioner apply --plan {out}\n", err=True)
    if plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK
