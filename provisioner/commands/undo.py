"""``provisioner undo JOURNAL``: plan and apply the restoration of everything an apply run touched."""
from __future__ import annotations

import os
import threading
from typing import Any

import click

from provisioner import api, undo
from provisioner.commands.apply import JOURNAL_DIR, _confirm, graceful_interrupt, report
from provisioner.commands.plan import echo, print_target, show_plan, write_plan_file
from provisioner.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK


def show_unrestorable(lines: tuple[str, ...]) -> None:
    """Name, on stderr, what undo cannot put back (secrets, users that no longer exist)."""
    if lines:
        echo("Undo cannot restore:\n", err=True)
        for line in lines:
            echo(f"  {line}\n", err=True)


def run_undo(journal: Any, opened: Any, *, fmt: str, verbose: bool, quiet: bool, no_color: bool, auto_approve: bool,
             max_deletes: int, parallelism: int, out: str | None = None, heading: str | None = None) -> int:
    """Plan the undo of ``journal`` against ``opened``, show it, and apply it (unless ``out``): exit code."""
    run = undo.read_run(journal) if not isinstance(journal, undo.JournalRun) else journal
    undo.check_target(run, opened)
    planned = undo.plan_undo(run, opened, max_deletes=max_deletes, parallelism=parallelism)
    progress = (lambda line: None) if quiet else (lambda line: echo(line + "\n"))
    if heading:
        echo(heading + "\n")
    if out:
        write_plan_file(out, planned.plan.to_json())
        show_plan(planned.plan.to_dict(), fmt, verbose=verbose, no_color=no_color, target_shown=True)
        show_unrestorable(planned.unrestorable)
        if not quiet:
            echo(f"Saved the undo plan to {out}; run: provisioner apply --plan {out}\n", err=True)
        return EXIT_ERROR if planned.plan.errors else EXIT_OK
    stop = threading.Event()
    with graceful_interrupt(stop) as arm:
        confirm = _confirm(fmt, verbose, no_color, auto_approve, quiet, on_approved=arm,
                           after_plan=lambda: show_unrestorable(planned.unrestorable))
        result = undo.apply_undo(planned, opened, confirm=confirm, progress=progress, stop=stop,
                                 journal_dir=JOURNAL_DIR, max_deletes=max_deletes, parallelism=parallelism)
    report(result, verb="Undo")
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR


@click.command(name="undo")
@click.argument("journal", type=click.Path())
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(), help="Dotenv file for credentials.")
@click.option("--tenant", "tenant", metavar="URL|local",
              help="Tenant URL, or 'local' (default: the tenant the journal records).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="Plan output format.")
@click.option("--out", "out", metavar="FILE", type=click.Path(),
              help="Save the undo plan (for apply --plan) instead of applying it.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--max-deletes", "max_deletes", type=click.IntRange(min=0), default=5, show_default=True,
              help="Refuse to delete more objects than this.")
@click.option("--parallelism", type=click.IntRange(min=1, max=64), default=4, show_default=True,
              help="Concurrent requests.")
@click.option("-v", "--verbose", is_flag=True, help="Show unchanged objects and trace HTTP requests.")
@click.option("-q", "--quiet", is_flag=True, help="Print less.")
@click.option("--no-color", "no_color", is_flag=True, help="No ANSI colour (also NO_COLOR).")
def command(journal: str, env_file: str | None, tenant: str | None, fmt: str, out: str | None, auto_approve: bool,
            max_deletes: int, parallelism: int, verbose: bool, quiet: bool, no_color: bool) -> int:
    """Undo the apply recorded in JOURNAL (.provisioner/journal/apply-*.jsonl).

    Restores every object the run touched to what it held before the run (the managed fields), and
    deletes what it created. The undo is a plan like any other: it is shown, confirmed, refused when
    the tenant changed since, capped by --max-deletes, and journaled (so it can be undone too).
    Client secrets cannot be restored (the tenant never returns them): undo names them.
    """
    run = undo.read_run(journal)
    if tenant is None and not os.environ.get("AIC_TENANT_URL"):
        tenant = "local" if run.local else (run.target or None)
    with api.tenant(tenant, env_file=env_file, parallelism=parallelism, verbose=verbose) as opened:
        print_target(opened.label, fmt)
        return run_undo(run, opened, fmt=fmt, verbose=verbose, quiet=quiet, no_color=no_color,
                        auto_approve=auto_approve, max_deletes=max_deletes, parallelism=parallelism, out=out)
