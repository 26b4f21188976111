"""``provisioner apply``: execute a plan (or plan first), with confirmation, progress and a result."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import click

from provisioner import api
from provisioner.commands._common import (
    JOURNAL_DIR,
    common_options,
    confirm_with,
    echo,
    graceful_interrupt,
    load_or_report,
    print_target,
    read_plan_file,
    report,
    run_undo,
    target_option,
    tenant_name,
)
from provisioner.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ProvisionerError, UsageError


@click.command(name="apply")
@click.argument("paths", nargs=-1, type=click.Path())
@common_options
@click.option("--plan", "plan_file", metavar="FILE", type=click.Path(), help="Apply a plan saved by plan --out.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--enable-features", is_flag=True, help="Enable the AI agents feature when the manifests need it.")
@click.option("--verify", "run_verify", is_flag=True, help="Run verify after a successful apply.")
@click.option(
    "--rollback-on-failure",
    "rollback",
    is_flag=True,
    help="When a change fails, undo what this run wrote (see provisioner undo).",
)
@target_option
def command(**options: Any) -> int:
    """Apply the manifests (PATHS) or a saved plan (--plan FILE, '-' for stdin) to the tenant.

    A saved plan is refused, before any write, when the tenant changed since it was made. With
    --format json, stdout is one JSON document ({"plan", "result", "verify"}); progress goes to stderr.
    """
    if not options["paths"] and not options["plan_file"]:
        raise UsageError("give manifest PATHS or --plan FILE")
    machine = options["fmt"] == "json"
    shown: list[Any] = []  # the plan once it is shown, for the JSON document of a run that stops
    try:
        return _apply(shown, **options)
    except ProvisionerError as exc:
        if machine:  # stdout stays one JSON document, also when the run stops with an error
            echo(
                json.dumps(
                    {"plan": shown[0].to_dict() if shown else None, "result": None, "error": str(exc)},
                    sort_keys=True,
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            )
        raise


def _apply(
    shown: list[Any],
    *,
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    tenant: str | None,
    realm: str | None,
    stack_name: str | None,
    take_over: bool,
    fmt: str,
    prune: bool,
    max_deletes: int,
    parallelism: int,
    verbose: bool,
    quiet: bool,
    no_color: bool,
    plan_file: str | None,
    auto_approve: bool,
    enable_features: bool,
    run_verify: bool,
    rollback: bool,
    secrets_dirs: tuple[str, ...],
    record: str | None,
    targets: tuple[str, ...],
) -> int:
    loaded = None
    if paths:
        loaded = load_or_report(paths, env, env_file, stack_name, secrets_dirs, quiet=quiet)
        if loaded is None:
            if fmt == "json":
                echo(
                    json.dumps(
                        {
                            "plan": None,
                            "result": None,
                            "error": "the manifests are not valid (diagnostics on stderr); nothing was read or written",
                        },
                        sort_keys=True,
                        indent=2,
                    )
                    + "\n"
                )
            return EXIT_ERROR
    saved = read_plan_file(plan_file) if plan_file else None
    if loaded is not None and saved is None:
        api.require_stack(loaded.stack)
    env_tenant = loaded.stack.environment.tenant if loaded and loaded.stack.environment else None
    if saved is not None:
        if loaded is None and env and env != saved.environment:
            raise UsageError(
                f"the plan was made for environment {saved.environment or '(none)'!r}, not {env!r} "
                f"(--env); nothing was written"
            )
        if tenant is None:
            tenant = _saved_tenant(saved, env_tenant)
    machine = fmt == "json"
    progress = (lambda line: None) if quiet else (lambda line: echo(line + "\n", err=machine))
    document: dict[str, Any] = {}
    with api.tenant(
        tenant,
        env_file=env_file,
        environment_tenant=env_tenant,
        parallelism=parallelism,
        verbose=verbose,
        paths=paths,
        record=record,
    ) as opened:
        print_target(opened.label, fmt, quiet)
        subject: Any = saved if saved is not None else loaded
        stop = threading.Event()
        with graceful_interrupt(stop) as arm:
            # With --plan and PATHS, the manifests loaded above supply secrets and the re-plan.
            options = api.RunOptions(
                env=env,
                env_file=env_file,
                realm=realm,
                stack_name=stack_name,
                prune=prune,
                max_deletes=max_deletes,
                parallelism=parallelism,
                enable_features=enable_features,
                journal_dir=JOURNAL_DIR,
                targets=targets,
                take_over=take_over,
            )
            result = api.apply(
                subject,
                opened,
                options,
                loaded=loaded if saved is not None else None,
                progress=progress,
                stop=stop,
                confirm=confirm_with(
                    fmt,
                    verbose,
                    no_color,
                    auto_approve,
                    quiet,
                    on_approved=arm,
                    tenant=tenant_name(opened),
                    shown=shown,
                ),
            )
        report(result, summary_err=machine)
        document = {"plan": shown[0].to_dict() if shown else None, "result": result.to_dict()}
        if result.interrupted:
            code = EXIT_INTERRUPTED
        elif not result.ok:
            if rollback and result.by_status("failed") and result.journal:
                _rollback(
                    result,
                    opened,
                    fmt,
                    verbose,
                    quiet,
                    no_color,
                    max_deletes,
                    parallelism,
                    document if machine else None,
                )
            code = EXIT_ERROR
        elif run_verify:
            code = _verify(loaded, opened, realm, document if machine else None)
        else:
            code = EXIT_OK
    if machine:
        from provisioner.render import stream_json

        stream_json(document, echo)  # json.dumps(sort_keys, indent=2)'s text, streamed and redacted leaf by leaf
    return code


def _rollback(
    result: Any,
    opened: Any,
    fmt: str,
    verbose: bool,
    quiet: bool,
    no_color: bool,
    max_deletes: int,
    parallelism: int,
    document: dict[str, Any] | None = None,
) -> None:
    """``--rollback-on-failure``: undo the failed run from its journal, without asking (the flag is the
    consent), with the same checks as ``provisioner undo``; reports its own outcome after the apply's."""

    conflicts = [r.address for r in result.by_status("failed") if r.conflict]
    if conflicts:
        echo(
            f"Not rolling back: another writer changed {', '.join(conflicts)} during this apply; undoing now "
            f"would overwrite its work. Review with: provisioner undo {result.journal} --out undo-plan.json\n",
            err=True,
        )
        return
    try:
        code = run_undo(
            result.journal,
            opened,
            fmt=fmt,
            verbose=verbose,
            quiet=quiet,
            no_color=no_color,
            auto_approve=True,
            max_deletes=max_deletes,
            parallelism=parallelism,
            heading=f"Rolling back: undoing what this apply wrote (journal {result.journal})",
            document=document,
        )
    except ProvisionerError as exc:
        echo(
            f"Rollback failed: {exc}\nThe tenant is as the apply left it; see the journal and run "
            f"provisioner undo {result.journal}\n",
            err=True,
        )
        return
    if code == EXIT_OK:
        echo(
            "Rolled back: the objects this apply touched are as they were before it (apply failed).\n",
            err=document is not None,
        )
    else:
        echo(f"Rollback incomplete; run provisioner undo {result.journal} to finish it.\n", err=True)


def _saved_tenant(saved: Any, env_tenant: str | None) -> str | None:
    """The tenant a saved plan was made for (``local`` for the embedded emulator); any configured
    source (AIC_TENANT_URL, the environment file, FRODO_HOST) must name the same one."""
    from provisioner.tenant import resolve_target

    planned = (saved.target or {}).get("tenant") or (saved.target or {}).get("url")
    if not planned:
        return None
    try:
        configured = resolve_target(None, env_tenant, os.environ, ci=False)
    except UsageError:
        configured = None
    if configured is not None and configured.source != "default":
        shown = "local" if configured.url is None else configured.url
        if shown != planned:
            raise UsageError(
                f"the plan was made for tenant {planned}, but {configured.source} says {shown}; "
                f"pass --tenant to choose; nothing was written"
            )
    return str(planned)


def _verify(loaded: Any, opened: Any, realm: str | None, document: dict[str, Any] | None = None) -> int:
    """``--verify`` after apply: the table on stdout, or (``document``) the JSON report into the document."""
    if loaded is None:
        raise UsageError("--verify needs the manifest PATHS")
    from provisioner.verify import render_json, render_table

    verdict = api.verify(loaded, opened, api.VerifyOptions(realm=realm))
    if document is not None:
        document["verify"] = json.loads(render_json(verdict))
    else:
        from provisioner.verify.render import table_width

        echo(render_table(verdict, width=table_width()) + "\n")
    return EXIT_OK if getattr(verdict, "ok", True) else EXIT_ERROR
