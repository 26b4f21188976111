"""``provisioner show PLAN``: render a plan saved by ``plan --out`` (or read from stdin with ``-``)."""

from __future__ import annotations

import click

from provisioner.commands._common import read_plan_file, show_plan
from provisioner.errors import EXIT_OK


@click.command(name="show")
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also list unchanged objects.")
@click.option("--no-color", "no_color", is_flag=True, help="No ANSI colour (also NO_COLOR).")
def command(plan_file: str, fmt: str, verbose: bool, no_color: bool) -> int:
    """Show a saved plan (plan --out FILE) as text, JSON or Markdown; '-' reads it from stdin.

    Nothing is read from the tenant: this is the plan as it was made, with its target.
    """

    plan = read_plan_file(plan_file)
    show_plan(plan.to_dict(), fmt, verbose=verbose, no_color=no_color, target_shown=False)
    return EXIT_OK
