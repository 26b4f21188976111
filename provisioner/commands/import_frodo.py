"""``provisioner import-frodo FILE… --out DIR``: turn Frodo export files into provisioner manifests."""

from __future__ import annotations

import click

from provisioner import safefile
from provisioner.commands._common import check_stack_name, echo
from provisioner.errors import EXIT_OK, UsageError
from provisioner.export import ExportOptions
from provisioner.export.build import GRANT_MODES, KINDS, build, select
from provisioner.export.frodo import FrodoFormatError, read_files
from provisioner.export.write import check_overwrite, output_files, write_files
from provisioner.kinds import spec_of
from provisioner.kinds.reverse import Note


@click.command(name="import-frodo")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder for the manifests.",
)
@click.option("--realm", default="alpha", show_default=True, metavar="R", help="The realm the export came from.")
@click.option(
    "--select",
    "select_ids",
    multiple=True,
    metavar="CLIENT_ID",
    help="Import only these applications/agents (repeat, or comma-separate).",
)
@click.option(
    "--provider-grant-types",
    "grant_mode",
    type=click.Choice(GRANT_MODES),
    default="ensure",
    show_default=True,
    help="ensure: the grant types beyond the AIC defaults; exact: the whole list.",
)
@click.option(
    "--tenant",
    "tenant",
    metavar="URL|local",
    help="Read user names for owners and subjects from this tenant (otherwise they are left out).",
)
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(), help="Dotenv file for credentials.")
@click.option(
    "--stack",
    "stack",
    metavar="NAME",
    callback=check_stack_name,
    help="Declare the stack in DIR/provisioner.yaml (plan and apply need one; nothing is written to a tenant).",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--schema", "schema", metavar="PATH|URL", help="The $schema for the editor comment (as for export).")
def command(
    files: tuple[str, ...],
    out_dir: str,
    realm: str,
    select_ids: tuple[str, ...],
    grant_mode: str,
    tenant: str | None,
    env_file: str | None,
    force: bool,
    schema: str | None,
    stack: str | None = None,
) -> int:
    """Turn Frodo export files (frodo agent / app / oauth2 client exports) into manifests under DIR.

    Reads the "agent", "application" (OAuth2 clients, with their "_provider") and "managedApplication"
    sections; writes the same minimal manifests as export (providers/, applications/, agents/), with
    every secret as a {fromEnv: <CLIENT_ID>_SECRET} reference (Frodo exports hold no secrets either).
    Owners and privilege subjects are user ids in Frodo's files: with --tenant they are named, without
    it they are left out (a note says so). Nothing is written to a tenant.
    """
    texts = []
    for name in files:
        try:
            texts.append((name, safefile.read_bytes(name, 64 * 1024 * 1024, what="export file").decode("utf-8")))
        except safefile.FileRefused as exc:
            raise UsageError(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        imported = read_files(texts, realm)
    except FrodoFormatError as exc:
        raise UsageError(str(exc)) from None
    snap = imported.snapshot()
    chosen = tuple(sorted({p.strip() for v in select_ids for p in v.split(",") if p.strip()}))
    kinds = KINDS
    if imported.provider is None:
        kinds = tuple(k for k in KINDS if not getattr(spec_of(k), "keyed_by_realm", False))  # no provider
        imported.notes.append(
            Note(
                "",
                "no _provider in the files (an export of agents or applications only): "
                "the realm's OAuth2 provider is not imported",
            )
        )
    options = ExportOptions(realm=realm, kinds=kinds, select=chosen, provider_grant_types=grant_mode)
    selection = select(snap, options)
    users = _user_names(imported.user_ids(), realm, tenant, env_file) if imported.user_ids() else {}
    result = build(snap, selection, users, options)
    outputs = output_files(result, out_dir, schema, stack, marked=False)
    check_overwrite(out_dir, outputs, force)
    for note in (*imported.notes, *result.notes):
        echo(f"note: {note}\n", err=True)
    for path in write_files(out_dir, outputs):
        echo(f"wrote {path}\n")
    count = len(result.documents)
    echo(
        f"Imported {count} object{'s' if count != 1 else ''} from {len(files)} Frodo file"
        f"{'s' if len(files) != 1 else ''} to {out_dir}.\n"
    )
    if result.secrets:
        echo("Set these secret variables (Frodo exports hold no secrets):\n")
        for variable, key in result.secrets:
            echo(f"  {variable}  ({key})\n")
    # Without --stack, plan needs one (never a folder name): the hint says so.
    echo(f"Next: provisioner plan {out_dir}{'' if stack else ' --stack NAME'} --detailed-exitcode\n")
    return EXIT_OK


def _user_names(ids: set[str], realm: str, tenant: str | None, env_file: str | None) -> dict[str, str]:
    """User id → userName from ``tenant`` (one query per 100 ids); empty without a tenant."""
    if not tenant:
        return {}
    from provisioner import api
    from provisioner.export.read import user_names

    with api.tenant(tenant, env_file=env_file) as opened:
        echo(opened.label + "\n", err=True)
        return user_names(opened.client, realm, ids)
