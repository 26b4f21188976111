"""``provisioner destroy PATH…``: delete every object the stack owns in the tenant (its teardown)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import click

from provisioner import api
from provisioner.commands._common import (
    JOURNAL_DIR,
    check_stack_name,
    diagnostic_line,
    echo,
    graceful_interrupt,
    print_target,
    report,
    run_options,
    show_plan,
    tenant_name,
)
from provisioner.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, UsageError


def _load(paths: tuple[str, ...], env: str | None, env_file: str | None, stack_name: str | None) -> Any:
    """The stack (its name and realms); secrets are not needed to delete, so they are not read."""
    from provisioner.manifest import load

    result = load(
        list(paths), env=env, env_file=env_file, environ=os.environ, stack_name=stack_name, resolve_secrets=False
    )
    for diag in result.errors:
        echo(diagnostic_line(diag) + "\n", err=True)
    if not result.ok or result.stack is None:
        return None
    return result


@click.command(name="destroy")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--env", "env", metavar="NAME", help="Load environments/NAME.yaml next to the manifests.")
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(), help="Dotenv file for credentials.")
@click.option("--tenant", "tenant", metavar="URL|local", help="Tenant URL, or 'local' for the emulator.")
@click.option("--realm", "realm", metavar="R", help="The realm the stack lives in (default: the manifests').")
@click.option(
    "--stack",
    "stack_name",
    metavar="NAME",
    callback=check_stack_name,
    help="The stack's identity (overrides the environment's stack: and provisioner.yaml).",
)
@click.option(
    "--max-deletes",
    "max_deletes",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Refuse to delete more objects than this (privileges included).",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How the destroy plan is shown.",
)
@run_options("Trace HTTP requests.")
def command(
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    tenant: str | None,
    realm: str | None,
    stack_name: str | None,
    max_deletes: int,
    auto_approve: bool,
    fmt: str,
    parallelism: int,
    verbose: bool,
    quiet: bool,
    no_color: bool,
) -> int:
    """Delete everything the stack owns in the tenant.

    The stack is the one PATHS declare (its name: the manifest directory's, or --stack). Only objects
    carrying the stack's ownership marker are deleted (with their IDM records, identities and
    privileges); the realm's OAuth2 provider and objects of other stacks are never touched. Asks for
    confirmation naming the tenant and the count unless --auto-approve; refuses more than --max-deletes.
    """
    loaded = _load(paths, env, env_file, stack_name)
    if loaded is None:
        return EXIT_ERROR
    stack = loaded.stack
    env_tenant = stack.environment.tenant if stack.environment else None
    progress = (lambda line: None) if quiet else (lambda line: echo(line + "\n", err=fmt != "text"))
    with api.tenant(
        tenant, env_file=env_file, environment_tenant=env_tenant, parallelism=parallelism, verbose=verbose, paths=paths
    ) as opened:
        print_target(opened.label, fmt, quiet)
        plan = api.destroy_plan(
            stack, opened, api.DestroyOptions(realm=realm, max_deletes=max_deletes, parallelism=parallelism)
        )
        show_plan(plan.to_dict(), fmt, verbose=verbose, no_color=no_color, target_shown=True, quiet=quiet)
        if plan.errors:
            return EXIT_ERROR
        count = sum(1 for c in plan.changes if c.action == "delete")
        if count == 0:
            echo(
                f"Nothing to destroy: stack {stack.name!r} owns no objects in {tenant_name(opened)}.\n",
                err=fmt != "text",
            )
            return EXIT_OK

        def confirm(the_plan: Any) -> bool:
            if auto_approve:
                return True
            if not sys.stdin.isatty():
                raise UsageError("refusing to ask for confirmation without a terminal; pass --auto-approve")
            noun = "object" if count == 1 else "objects"
            return click.confirm(
                f"Destroy {count} {noun} of stack {stack.name!r} in {tenant_name(opened)}? This cannot be undone",
                default=False,
                err=fmt != "text",
            )

        stop = threading.Event()
        with graceful_interrupt(stop) as arm:

            def approved(the_plan: Any) -> bool:
                ok = confirm(the_plan)
                if ok:
                    arm()
                return ok

            options = api.RunOptions(max_deletes=max_deletes, parallelism=parallelism, journal_dir=JOURNAL_DIR)
            result = api.apply(plan, opened, options, progress=progress, stop=stop, confirm=approved)
        report(result, verb="Destroy", summary_err=fmt != "text")
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR
