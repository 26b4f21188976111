"""``provisioner export``: read existing tenant objects into minimal manifests (adoption)."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from provisioner import api, redact
from provisioner.commands._common import echo
from provisioner.errors import EXIT_OK, ProvisionerError, UsageError
from provisioner.export import ExportOptions, export_realm, parse_kinds, select
from provisioner.export.build import GRANT_MODES
from provisioner.export.mark import apply_marks, marks_needed
from provisioner.export.write import SECRETS_FILE, check_overwrite, output_files, write_files

_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _selection(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--select a --select b,c`` → ``("a", "b", "c")``."""
    return tuple(sorted({p.strip() for v in values for p in v.split(",") if p.strip()}))


def _confirm_marks(count: int, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "--stack writes to the tenant; refusing to ask for confirmation without a terminal; pass --auto-approve"
        )
    if not click.confirm(f"Mark these {count} object{'' if count == 1 else 's'}?", default=False):
        raise ProvisionerError("Export cancelled; nothing was written.")


@click.command(name="export")
@click.option("--tenant", "tenant", metavar="URL|local", help="Tenant URL, or 'local' for the emulator.")
@click.option("--env-file", "env_file", metavar="FILE", type=click.Path(), help="Dotenv file for credentials.")
@click.option("--realm", default="alpha", show_default=True, metavar="R", help="The realm to read.")
@click.option("--kinds", "kinds", metavar="K,K", help="Kinds to export (default: OAuth2Provider,Application,AIAgent).")
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="CLIENT_ID",
    help="Export only these applications/agents (repeat, or comma-separate).",
)
@click.option(
    "--stack",
    "stack",
    metavar="NAME",
    help="Mark the exported applications and agents as owned by stack NAME (writes to the tenant).",
)
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Output folder (default: the --stack name, else 'exported').",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option(
    "--provider-grant-types",
    "grant_mode",
    type=click.Choice(GRANT_MODES),
    default="ensure",
    show_default=True,
    help="ensure: the grant types beyond the AIC defaults; exact: the whole list.",
)
@click.option(
    "--schema",
    "schema",
    metavar="PATH|URL",
    help="The $schema for the editor comment (default: schemas/manifest.schema.json found above DIR, "
    "else one written into DIR).",
)
@click.option("--auto-approve", is_flag=True, help="With --stack: mark without asking.")
@click.option(
    "--parallelism", type=click.IntRange(min=1, max=64), default=4, show_default=True, help="Concurrent requests."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["manifests", "frodo"]),
    default="manifests",
    show_default=True,
    help="manifests: provisioner YAML; frodo: Frodo's JSON export files (agents, applications).",
)
@click.option("-v", "--verbose", is_flag=True, help="Trace HTTP requests.")
@click.option(
    "--record",
    "record",
    metavar="FILE.har",
    type=click.Path(dir_okay=False),
    help="Write every HTTP exchange of the run to FILE.har (HAR 1.2, secrets redacted).",
)
def command(
    tenant: str | None,
    env_file: str | None,
    realm: str,
    kinds: str | None,
    select: tuple[str, ...],
    stack: str | None,
    out_dir: str | None,
    force: bool,
    grant_mode: str,
    schema: str | None,
    auto_approve: bool,
    parallelism: int,
    fmt: str,
    verbose: bool,
    record: str | None,
) -> int:
    """Read the realm's provider, applications, agents and privileges into minimal manifests.

    One file per object under DIR (providers/, applications/, agents/), only the fields that differ
    from the create defaults; confidential clients get clientSecret: {fromEnv: <CLIENT_ID>_SECRET}.
    Then set the secret variables, check that plan shows no changes, and commit.
    """
    if stack is not None and not _STACK.match(stack):
        raise UsageError(f"--stack: {stack!r} is not a valid stack name (letters, digits, '.', '_', '-')")
    options = ExportOptions(
        realm=realm, kinds=parse_kinds(kinds), select=_selection(select), provider_grant_types=grant_mode
    )
    if fmt == "frodo":
        if stack is not None:
            raise UsageError("--stack cannot be used with --format frodo (it marks objects for manifests)")
        return _export_frodo(tenant, env_file, options, out_dir or "frodo-export", force, parallelism, verbose, record)
    out = out_dir or stack or "exported"
    with api.tenant(tenant, env_file=env_file, parallelism=parallelism, verbose=verbose, record=record) as opened:
        echo(opened.label + "\n")
        result, snap = export_realm(opened.client, options, parallelism)
        files = output_files(result, out, schema, stack)
        check_overwrite(out, files, force)
        marks, mark_notes = marks_needed(snap, result, stack) if stack else ([], [])
        for note in (*result.notes, *mark_notes):
            echo(f"note: {note}\n", err=True)
        if marks:
            noun = "object" if len(marks) == 1 else "objects"
            echo(
                f"Will mark {len(marks)} {noun} as owned by stack {stack!r} (customProperties "
                f"provisioner.stack={stack}):\n"
            )
            for mark in marks:
                echo(f"  {mark.address}\n")
            _confirm_marks(len(marks), auto_approve)
        for path in write_files(out, files):
            echo(f"wrote {path}\n")
        if marks:
            assert stack is not None
            apply_marks(opened.client, snap, marks, stack, lambda line: echo(line + "\n"))
    _summary(result, out, stack)
    return EXIT_OK


def _export_frodo(
    tenant: str | None,
    env_file: str | None,
    options: ExportOptions,
    out: str,
    force: bool,
    parallelism: int,
    verbose: bool,
    record: str | None = None,
) -> int:
    """``--format frodo``: one Frodo export file per kind (``<realm>.application.json``, ``<realm>.agent.json``)."""
    import datetime

    from provisioner import __version__
    from provisioner.export.frodo import carries_provider, dumps, meta, to_frodo
    from provisioner.export.read import read_realm
    from provisioner.export.write import OutputFile

    with api.tenant(tenant, env_file=env_file, parallelism=parallelism, verbose=verbose, record=record) as opened:
        echo(opened.label + "\n")
        snap = read_realm(opened.client, options.realm, parallelism)
        selection = select(snap, options)
        for note in selection.notes:
            echo(f"note: {note}\n", err=True)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        documents = to_frodo(snap, selection, meta(opened.url, "provisioner", now, __version__))
        if not carries_provider(documents):
            echo(
                "note: Frodo keeps the realm's OAuth2 provider inside the OAuth2 clients of applications "
                "(_provider); with no application exported, the provider is not exported\n",
                err=True,
            )
        files = [OutputFile(name, dumps(doc)) for name, doc in sorted(documents.items())]
        check_overwrite(out, files, force)
        for path in write_files(out, [OutputFile(f.path, redact.text(f.text)) for f in files]):
            echo(f"wrote {path}\n")
    count = selection.count
    echo(
        f"Exported {count} object{'s' if count != 1 else ''} from realm {options.realm!r} to {out} in Frodo's "
        f"format (no secrets: the tenant never returns them).\n"
    )
    return EXIT_OK


def _summary(result: Any, out: str, stack: str | None) -> None:
    documents = len(result.documents)
    echo(f"Exported {documents} object{'s' if documents != 1 else ''} from realm {result.realm!r} to {out}.\n")
    if result.secrets:
        echo(f"Set these secret variables (the tenant never returns secrets; see {out}/{SECRETS_FILE}):\n")
        for name, key in result.secrets:
            echo(f"  {name}  ({key})\n")
    # With --stack, provisioner.yaml declares the stack; without, plan needs one (never a folder name).
    stack_args = "" if stack else " --stack NAME"
    echo(
        f"Next: provisioner plan {out}{stack_args} --detailed-exitcode (add --check-secrets until apply has "
        f"recorded the secrets)\n"
    )
