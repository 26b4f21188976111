"""Placeholder for the `schema` command; replaced by its implementation."""
import click

from provisioner.errors import UsageError


@click.command(name="schema", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> int:
    """Not available yet."""
    raise UsageError("'schema' is not implemented yet")
