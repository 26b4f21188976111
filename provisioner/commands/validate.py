"""Placeholder for the `validate` command; replaced by its implementation."""
import click

from provisioner.errors import UsageError


@click.command(name="validate", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> int:
    """Not available yet."""
    raise UsageError("'validate' is not implemented yet")
