"""``provisioner access PATH…``: which agent can obtain which token, for whom, with which scopes."""

from __future__ import annotations

import os

import click

from provisioner import redact
from provisioner.errors import EXIT_ERROR, EXIT_OK
from provisioner.kinds.access import from_resources, read_live
from provisioner.manifest import load
from provisioner.render.access import FORMATS, render


def _echo(text: str, *, err: bool = False) -> None:
    click.echo(redact.text(text), err=err, nl=False)


@click.command(name="access")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--env", "env", metavar="NAME", help="Load environments/NAME.yaml next to the manifests.")
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(), help="Dotenv file for credentials.")
@click.option(
    "--tenant",
    "tenant",
    metavar="URL|local",
    help="Map the live tenant (every agent in the manifests' realms) instead of the manifests.",
)
@click.option("--realm", "realm", metavar="R", help="With --tenant: the realm to read (default: the manifests').")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text, json, or a Mermaid graph (GitHub renders it in Markdown).",
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="Concurrent requests (with --tenant).",
)
def command(
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    tenant: str | None,
    realm: str | None,
    fmt: str,
    parallelism: int,
) -> int:
    """Print the access map: per AI agent, its own token (scopes) and, per application it may exchange
    into, the audience, the permitted scopes and who it may act for (no one, these users, these groups).

    Offline from the manifests (no secrets needed), or from the live tenant with --tenant.
    """
    result = load(list(paths), env=env, env_file=env_file, environ=os.environ, resolve_secrets=False)
    for diag in result.diagnostics:
        if diag.severity == "error":
            _echo(f"{diag}\n", err=True)
    if not result.ok or result.stack is None:
        count = len(result.errors)
        _echo(
            f"Error: the manifests are not valid ({count} error{'' if count == 1 else 's'}); no access map.\n", err=True
        )
        return EXIT_ERROR
    stack = result.stack
    if tenant is None:
        access = from_resources(stack.resources)
    else:
        from provisioner import api

        realms = {realm} if realm else {r.realm for r in stack.resources}
        if not realms and stack.environment is not None:
            realms = {stack.environment.realm}
        env_tenant = stack.environment.tenant if stack.environment else None
        with api.tenant(tenant, env_file=env_file, environment_tenant=env_tenant, parallelism=parallelism) as opened:
            _echo(opened.label + "\n", err=fmt != "text")
            access = read_live(opened.client, realms or {"alpha"}, parallelism)
    _echo(render(access.to_dict(), fmt))
    return EXIT_OK
