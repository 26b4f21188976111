"""``provisioner undo JOURNAL``: plan and apply the restoration of everything an apply run touched."""

from __future__ import annotations

import os

import click

from provisioner import api, undo
from provisioner.commands._common import print_target, run_options, run_undo


@click.command(name="undo")
@click.argument("journal", type=click.Path())
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(), help="Dotenv file for credentials.")
@click.option(
    "--tenant", "tenant", metavar="URL|local", help="Tenant URL, or 'local' (default: the tenant the journal records)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Plan output format.",
)
@click.option(
    "--out",
    "out",
    metavar="FILE",
    type=click.Path(),
    help="Save the undo plan (for apply --plan) instead of applying it.",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--max-deletes",
    "max_deletes",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Refuse to delete more objects than this.",
)
@run_options()
def command(
    journal: str,
    env_file: str | None,
    tenant: str | None,
    fmt: str,
    out: str | None,
    auto_approve: bool,
    max_deletes: int,
    parallelism: int,
    verbose: bool,
    quiet: bool,
    no_color: bool,
) -> int:
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
        print_target(opened.label, fmt, quiet)
        return run_undo(
            run,
            opened,
            fmt=fmt,
            verbose=verbose,
            quiet=quiet,
            no_color=no_color,
            auto_approve=auto_approve,
            max_deletes=max_deletes,
            parallelism=parallelism,
            out=out,
        )
