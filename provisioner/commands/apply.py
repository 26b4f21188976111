"""``provisioner apply``: execute a plan (or plan first), with confirmation, progress and a result."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from provisioner import api
from provisioner.commands.plan import (
    common_options,
    echo,
    load_or_report,
    print_target,
    read_input,
    show_plan,
    target_option,
)
from provisioner.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ProvisionerError, UsageError
from provisioner.plan import Plan, PlanFormatError
from provisioner.render import render


#: A saved plan of 10,000 objects is a few MB; anything far larger is not one.
MAX_PLAN_BYTES = 256 * 1024 * 1024


def read_plan_file(path: str) -> Plan:
    """A saved plan; ``-`` reads it from stdin."""
    from provisioner import safefile

    try:
        if path == "-":
            text = read_input(path, "plan file")
        else:
            text = safefile.read_bytes(path, MAX_PLAN_BYTES, what="plan file").decode("utf-8")
    except safefile.FileRefused as exc:
        raise UsageError(str(exc)) from None
    except UnicodeDecodeError:
        raise UsageError(f"plan file {path} is not valid UTF-8") from None
    except OSError as exc:
        raise UsageError(f"cannot read plan file {path}: {exc.strerror}") from None
    try:
        return Plan.from_json(text)
    except PlanFormatError as exc:
        raise UsageError(f"{'<stdin>' if path == '-' else path}: {exc}") from None


#: Where apply writes its journal (the working directory's state dir, like the token cache).
JOURNAL_DIR = os.path.join(".provisioner", "journal")


def tenant_name(opened: Any) -> str:
    """How prompts name the tenant: its URL, or "the local emulator"."""
    if getattr(getattr(opened, "target", None), "is_local", False):
        return "the local emulator"
    return str(getattr(opened, "url", "") or "the tenant")


def _confirm(fmt: str, verbose: bool, no_color: bool, auto_approve: bool, quiet: bool,
             on_approved: Any = None, after_plan: Any = None, tenant: str = "the tenant",
             shown: list[Any] | None = None) -> Any:
    """The confirmation step. With ``--format json`` the plan is not printed here (it goes into the one
    JSON document at the end, through ``shown``); a prompt then shows the text plan on stderr.
    ``after_plan`` runs after the plan is shown (e.g. undo: what it cannot restore, before the question)."""
    def confirm(plan: Plan) -> bool:
        asking = plan.has_writes and not plan.errors and not auto_approve
        if fmt == "json":
            if shown is not None:
                shown.append(plan)
            if asking and sys.stdin.isatty():
                echo(render(plan.to_dict(), "text", colour=False, header=False, verbose=verbose), err=True)
        elif not (quiet and not asking and not plan.has_writes):
            show_plan(plan.to_dict(), fmt, verbose=verbose, no_color=no_color, target_shown=True)
        if after_plan is not None:
            after_plan()
        if not asking:
            approved = True
        elif not sys.stdin.isatty():
            raise UsageError("refusing to ask for confirmation without a terminal; pass --auto-approve")
        else:
            count = sum(1 for c in plan.changes if c.action != "no-op")
            approved = click.confirm(f"Apply these {count} change{'' if count == 1 else 's'} to {tenant}?",
                                     default=False, err=fmt == "json")
        if approved and on_approved is not None:
            on_approved()
        return approved
    return confirm


@contextmanager
def graceful_interrupt(stop: threading.Event) -> Iterator[Any]:
    """Yield ``arm()``: from then on the first Ctrl-C sets ``stop`` (no new writes are started, the
    writes in flight finish, the report is printed); a second one aborts at once. Before ``arm()``
    (reading, planning, the prompt) Ctrl-C interrupts immediately: nothing has been written yet."""
    previous: Any = None
    armed = False

    def on_sigint(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        echo("\nInterrupted: starting no new writes; waiting for the ones in flight "
             "(Ctrl-C again to abort now)...\n", err=True)

    def arm() -> None:
        nonlocal previous, armed
        if threading.current_thread() is threading.main_thread() and not armed:
            previous = signal.signal(signal.SIGINT, on_sigint)
            armed = True

    try:
        yield arm
    finally:
        if armed:
            signal.signal(signal.SIGINT, previous)


def report(result: Any, verb: str = "Apply", summary_err: bool = False) -> None:
    """The end-of-run summary. When the run did not complete: what was done, what failed (with the
    cause), what was not attempted, what still differs, and where the journal is. ``verb`` names the
    run (``Apply``, ``Undo``)."""
    if not result.ok or result.interrupted:
        for item in result.by_status("done"):
            echo(f"done: {item.action} {item.address}\n", err=True)
    for item in result.by_status("failed"):
        echo(f"failed: {item.action} {item.address}: {item.error}\n", err=True)
    for item in result.by_status("not attempted"):
        echo(f"not attempted: {item.action} {item.address}" + (f" ({item.error})" if item.error else "") + "\n",
             err=True)
    for line in result.remaining:
        echo(f"still different after apply: {line}\n", err=True)
    if (not result.ok or result.interrupted) and result.journal:
        echo(f"Journal: {result.journal}\n", err=True)
    if not result.ok or result.interrupted:
        echo(f"Run {verb.lower()} again to finish: it re-reads the tenant and continues from what is there.\n",
             err=True)
    echo(result.summary().replace("Apply", verb, 1) + "\n", err=summary_err)


@click.command(name="apply")
@click.argument("paths", nargs=-1, type=click.Path())
@common_options
@click.option("--plan", "plan_file", metavar="FILE", type=click.Path(), help="Apply a plan saved by plan --out.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--enable-features", is_flag=True, help="Enable the AI agents feature when the manifests need it.")
@click.option("--verify", "run_verify", is_flag=True, help="Run verify after a successful apply.")
@click.option("--rollback-on-failure", "rollback", is_flag=True,
              help="When a change fails, undo what this run wrote (see provisioner undo).")
@target_option
def command(paths: tuple[str, ...], env: str | None, env_file: str | None, tenant: str | None, realm: str | None,
            stack_name: str | None, fmt: str, prune: bool, max_deletes: int, parallelism: int, verbose: bool,
            quiet: bool, no_color: bool, plan_file: str | None, auto_approve: bool, enable_features: bool,
            run_verify: bool, rollback: bool, secrets_dirs: tuple[str, ...] = (),
            record: str | None = None, targets: tuple[str, ...] = ()) -> int:
    """Apply the manifests (PATHS) or a saved plan (--plan FILE, '-' for stdin) to the tenant.

    A saved plan is refused, before any write, when the tenant changed since it was made. With
    --format json, stdout is one JSON document ({"plan", "result", "verify"}); progress goes to stderr.
    """
    if not paths and not plan_file:
        raise UsageError("give manifest PATHS or --plan FILE")
    loaded = None
    if paths:
        loaded = load_or_report(paths, env, env_file, stack_name, secrets_dirs, quiet=quiet)
        if loaded is None:
            return EXIT_ERROR
    saved = read_plan_file(plan_file) if plan_file else None
    env_tenant = loaded.stack.environment.tenant if loaded and loaded.stack.environment else None
    if saved is not None and tenant is None and not os.environ.get("AIC_TENANT_URL"):
        tenant = (saved.target or {}).get("url") or None
    machine = fmt == "json"
    progress = (lambda line: None) if quiet else (lambda line: echo(line + "\n", err=machine))
    shown: list[Any] = []
    with api.tenant(tenant, env_file=env_file, environment_tenant=env_tenant, parallelism=parallelism,
                    verbose=verbose, paths=paths, record=record) as opened:
        print_target(opened.label, fmt)
        if saved is not None and saved.target.get("url") and saved.target.get("url") != opened.url:
            raise UsageError(f"the plan was made for {saved.target.get('url')}, not {opened.url}; nothing was written")
        subject: Any = saved if saved is not None else loaded
        stop = threading.Event()
        with graceful_interrupt(stop) as arm:
            # With --plan and PATHS, the manifests loaded above supply secrets and the re-plan.
            result = api.apply(subject, opened, loaded=loaded if saved is not None else None,
                               env=env, env_file=env_file, realm=realm, stack_name=stack_name, prune=prune,
                               max_deletes=max_deletes, parallelism=parallelism, enable_features=enable_features,
                               progress=progress, stop=stop, journal_dir=JOURNAL_DIR, targets=targets,
                               confirm=_confirm(fmt, verbose, no_color, auto_approve, quiet, on_approved=arm,
                                                tenant=tenant_name(opened), shown=shown))
        report(result, summary_err=machine)
        document: dict[str, Any] = {"plan": shown[0].to_dict() if shown else None, "result": result.to_dict()}
        if result.interrupted:
            code = EXIT_INTERRUPTED
        elif not result.ok:
            if rollback and result.by_status("failed") and result.journal:
                _rollback(result, opened, fmt, verbose, quiet, no_color, max_deletes, parallelism)
            code = EXIT_ERROR
        elif run_verify:
            code = _verify(loaded, opened, realm, document if machine else None)
        else:
            code = EXIT_OK
    if machine:
        echo(json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
    return code


def _rollback(result: Any, opened: Any, fmt: str, verbose: bool, quiet: bool, no_color: bool, max_deletes: int,
              parallelism: int) -> None:
    """``--rollback-on-failure``: undo the failed run from its journal, without asking (the flag is the
    consent), with the same checks as ``provisioner undo``; reports its own outcome after the apply's."""
    from provisioner.commands.undo import run_undo

    conflicts = [r.address for r in result.by_status("failed") if r.conflict]
    if conflicts:
        echo(f"Not rolling back: another writer changed {', '.join(conflicts)} during this apply; undoing now "
             f"would overwrite its work. Review with: provisioner undo {result.journal} --out undo-plan.json\n",
             err=True)
        return
    try:
        code = run_undo(result.journal, opened, fmt=fmt, verbose=verbose, quiet=quiet, no_color=no_color,
                        auto_approve=True, max_deletes=max_deletes, parallelism=parallelism,
                        heading=f"Rolling back: undoing what this apply wrote (journal {result.journal})")
    except ProvisionerError as exc:
        echo(f"Rollback failed: {exc}\nThe tenant is as the apply left it; see the journal and run "
             f"provisioner undo {result.journal}\n", err=True)
        return
    if code == EXIT_OK:
        echo("Rolled back: the objects this apply touched are as they were before it (apply failed).\n")
    else:
        echo(f"Rollback incomplete; run provisioner undo {result.journal} to finish it.\n", err=True)


def _verify(loaded: Any, opened: Any, realm: str | None, document: dict[str, Any] | None = None) -> int:
    """``--verify`` after apply: the table on stdout, or (``document``) the JSON report into the document."""
    if loaded is None:
        raise UsageError("--verify needs the manifest PATHS")
    from provisioner.verify import render_json, render_table, run_verify

    verdict = run_verify(loaded.stack, loaded.secrets, opened, realm=realm)
    if document is not None:
        document["verify"] = json.loads(render_json(verdict))
    else:
        from provisioner.verify.render import table_width

        echo(render_table(verdict, width=table_width()) + "\n")
    return EXIT_OK if getattr(verdict, "ok", True) else EXIT_ERROR
