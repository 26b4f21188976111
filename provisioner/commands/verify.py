"""``provisioner verify PATH…``: run the declared OAuth flows against the tenant and check the claims."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import click

from provisioner import redact
from provisioner.commands import SECRETS_DIR_HELP
from provisioner.errors import EXIT_ERROR, EXIT_OK, UsageError, ValidationFailed


def _color(no_color: bool, environ: Mapping[str, str]) -> bool:
    """The one colour rule (``render.use_colour``): a TTY, no ``--no-color``, ``NO_COLOR`` unset or empty."""
    from provisioner.render import use_colour

    return use_colour(sys.stdout, no_color, environ)


def _echo_diagnostics(diagnostics: tuple[object, ...]) -> None:
    """Diagnostics in validate's and plan's one format (``file:line:col: path: warning: message``)."""
    from provisioner.commands._common import diagnostic_line

    for diagnostic in diagnostics:
        click.echo(redact.text(diagnostic_line(diagnostic)), err=True)


def _write_junit(path: str, text: str) -> None:
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write the JUnit report to {path}: {exc.strerror or exc}") from None


@click.command(name="verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--env", "env_name", metavar="NAME", help="Load environments/NAME.yaml next to the manifests.")
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Dotenv file for secret references and credentials.",
)
@click.option("--tenant", metavar="URL|local", help="Tenant base URL, or 'local' for the embedded emulator.")
@click.option("--realm", metavar="R", help="Realm to verify in (default: the environment's / the manifests').")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format on stdout (json: the target line goes to stderr).",
)
@click.option(
    "--junit",
    "junit",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write a JUnit XML report (one test suite per agent, one test case per check).",
)
@click.option(
    "--allow-skipped",
    is_flag=True,
    help="Exit 0 even when no check passed because every one was skipped (default: exit 1).",
)
@click.option(
    "--secrets-dir",
    "secrets_dirs",
    metavar="DIR",
    multiple=True,
    type=click.Path(file_okay=False),
    help=SECRETS_DIR_HELP,
)
@click.option("--no-color", is_flag=True, help="No ANSI colours (also honours NO_COLOR).")
@click.option(
    "--record",
    "record",
    metavar="FILE.har",
    type=click.Path(dir_okay=False),
    help="Write every HTTP exchange of the run to FILE.har (HAR 1.2, secrets redacted).",
)
@click.option(
    "--access",
    "access",
    is_flag=True,
    help="Also check the tenant's access map against the manifests' (provisioner access): every "
    "declared edge as declared, and no edge the map lacks.",
)
def command(
    paths: tuple[str, ...],
    env_name: str | None,
    env_file: str | None,
    tenant: str | None,
    realm: str | None,
    fmt: str,
    junit: str | None,
    allow_skipped: bool,
    no_color: bool,
    access: bool = False,
    secrets_dirs: tuple[str, ...] = (),
    record: str | None = None,
) -> int:
    """Prove the configured flows work, end to end.

    For every AIAgent with an application privilege: client-credentials token and tokeninfo, token
    exchange towards the application with the permitted scopes and tokeninfo again (sub, act.sub, aud,
    scope, grant_type); the on-behalf-of flow for privileges with subjects when the environment
    configures verify.testUsers; and least-privilege probes (a scope outside the permissions, an
    application without privilege, an exchange without audience). With --access, also the access map:
    each agent's own token and exchanges as the tenant holds them, and no exchange the manifests lack.

    Exit 0 when every check that ran passed and at least one did, 1 otherwise: a run where every check
    was skipped proved nothing (exit 1 unless --allow-skipped). An agent missing from the tenant is
    named as such. Tokens are shown only as fingerprints.
    """
    from provisioner import api
    from provisioner.verify import render_json, render_junit, render_table

    environ = os.environ
    result = api.load(list(paths), env=env_name, env_file=env_file, environ=environ, secrets_dirs=secrets_dirs)
    if not result.ok or result.stack is None:
        _echo_diagnostics(result.diagnostics)
        raise ValidationFailed("the manifests are not valid; nothing was verified")
    environment = result.stack.environment
    with api.tenant(
        tenant,
        env_file=env_file,
        environment_tenant=environment.tenant if environment else None,
        paths=paths,
        record=record,
    ) as opened:
        click.echo(redact.text(opened.label), err=(fmt == "json"))
        _echo_diagnostics(result.diagnostics)  # warnings, after the target line
        report = api.verify(result, opened, api.VerifyOptions(realm=realm, allow_skipped=allow_skipped, access=access))
    if fmt == "json":
        click.echo(render_json(report), nl=False)
    else:
        from provisioner.verify.render import table_width

        click.echo(render_table(report, color=_color(no_color, environ), width=table_width()), nl=False)
    if junit:
        _write_junit(junit, render_junit(report))
    return EXIT_OK if report.ok else EXIT_ERROR
