"""``provisioner version``: the same line as ``provisioner --version``."""

from __future__ import annotations

import click

from provisioner import __version__


@click.command(name="version")
def command() -> int:
    """Print the version (as --version does)."""
    click.echo(f"provisioner, version {__version__}")
    return 0
