"""The ``provisioner`` command line: parse, dispatch, and the one error boundary.

Each command lives in ``provisioner/commands/<name>.py`` as a small click command that builds typed
inputs and calls one function. Expected failures are ``ProvisionerError`` (exit 1 unless the error
says otherwise); anything else is a bug (exit 3); Ctrl-C exits 130. Every message passes through
the redaction layer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from provisioner import __version__, redact
from provisioner.errors import EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED, ProvisionerError

_COMMANDS = (
    "validate",
    "schema",
    "plan",
    "apply",
    "undo",
    "destroy",
    "show",
    "verify",
    "export",
    "import-frodo",
    "access",
    "emulator",
    "completion",
    "version",
)


class _LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or ``--help`` lists them all): start-up
    stays cheap (``--version`` imports no command; ``validate`` never imports the HTTP client)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            import importlib

            module = importlib.import_module(f"provisioner.commands.{cmd_name.replace('-', '_')}")
            self.add_command(module.command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="provisioner")
def cli() -> None:
    """Infrastructure-as-code for Ping Advanced Identity Cloud tenants.

    Declarative YAML manifests for the realm's OAuth2 provider, custom OAuth2 applications, AI agents
    and their application privileges: validated offline, planned against the tenant field by field,
    applied idempotently and verified by running the real OAuth flows.

    Exit codes: 0 success, 1 error (invalid input, failed apply or verify), 2 changes present
    (plan --detailed-exitcode), 3 internal error, 130 interrupted.
    """


def _register() -> None:
    """Import and register every command now (for tools that walk ``cli.commands``)."""
    for name in _COMMANDS:
        cli.get_command(click.Context(cli), name)


def _closed_streams_as_devnull() -> None:
    """A closed stdin, stdout or stderr (``<&-`` in a job runner) is ``None`` in Python: treat it as
    ``/dev/null`` (stdin: empty and no terminal, so prompts refuse and ``-`` reads nothing) instead of
    failing with an internal error."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115 (lives as long as the run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises)."""
    _closed_streams_as_devnull()
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="provisioner", standalone_mode=False)
    except ProvisionerError as exc:
        if str(exc):
            click.echo(redact.text(f"Error: {exc}"), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        # click exits 2 on usage errors; 2 means "changes present" for plan --detailed-exitcode.
        exc.show()
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # the error boundary: a bug, reported without secrets
        click.echo(redact.text(f"Internal error ({type(exc).__name__}): {exc}"), err=True)
        click.echo("This is a bug in provisioner; please report it with the command you ran.", err=True)
        return EXIT_BUG
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
