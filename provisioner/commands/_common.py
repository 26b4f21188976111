"""What the commands share: the common options, output through the redaction layer, loading and
diagnostics, plan display and files, confirmation, Ctrl-C handling, the end-of-run report, undo's run.

No command module imports from another: they all import from here.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from provisioner import redact
from provisioner.commands import SECRETS_DIR_HELP
from provisioner.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from provisioner.plan import Plan


def diagnostic_line(diag: Any) -> str:
    """``file:line:col: path: message``, with ``warning: `` before the message of a warning (the one
    format validate, plan and apply print diagnostics in)."""
    text = str(diag)
    if diag.severity == "warning":
        head, sep, _ = text.rpartition(f": {diag.message}")
        text = f"{head}: warning: {diag.message}" if sep else f"warning: {text}"
    return text


_STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # schemas/stack.schema.json


def check_stack_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--stack NAME``: the same rule as ``stack:`` in provisioner.yaml (it becomes the ownership marker
    written on every object, so a name the file would refuse is refused here too)."""
    if value is not None and not _STACK_NAME.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not a valid stack name (a letter or digit, then letters, digits, "
            f"'.', '_' or '-'; at most 64 characters)"
        )
    return value


def run_options(
    verbose_help: str = "Show unchanged objects and trace HTTP requests.",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--parallelism``, ``-v``, ``-q`` and ``--no-color``: how every command that talks to a tenant runs."""
    options = [
        click.option(
            "--parallelism",
            type=click.IntRange(min=1, max=64),
            default=4,
            show_default=True,
            help="Concurrent requests.",
        ),
        click.option("-v", "--verbose", is_flag=True, help=verbose_help),
        click.option("-q", "--quiet", is_flag=True, help="Print less."),
        click.option("--no-color", "no_color", is_flag=True, help="No ANSI colour (also NO_COLOR)."),
    ]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _disable_cache(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from provisioner.manifest import cache

        cache.disable()


def no_cache_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--no-cache``: load every manifest file from scratch (the cache: provisioner/manifest/cache.py)."""
    return click.option(
        "--no-cache",
        is_flag=True,
        expose_value=False,
        callback=_disable_cache,
        help="Parse every manifest file again instead of reusing .provisioner/cache (also PROVISIONER_CACHE=off).",
    )(fn)


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options plan and apply share."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        no_cache_option,
        click.option("--env", "env", metavar="NAME", help="Load environments/NAME.yaml next to the manifests."),
        click.option(
            "--env-file",
            "env_file",
            metavar="FILE",
            type=click.Path(),
            help="Dotenv file for secret references and credentials.",
        ),
        click.option(
            "--secrets-dir",
            "secrets_dirs",
            metavar="DIR",
            multiple=True,
            type=click.Path(file_okay=False),
            help=SECRETS_DIR_HELP,
        ),
        click.option("--tenant", "tenant", metavar="URL|local", help="Tenant URL, or 'local' for the emulator."),
        click.option("--realm", "realm", metavar="R", help="Put every resource in realm R."),
        click.option(
            "--stack",
            "stack_name",
            metavar="NAME",
            callback=check_stack_name,
            help="The stack's identity (overrides the environment's stack: and provisioner.yaml): the "
            "ownership marker written on every object; prune deletes only objects carrying it.",
        ),
        click.option(
            "--take-over",
            "take_over",
            is_flag=True,
            help="Move objects another stack owns to this stack instead of refusing them.",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json", "markdown"]),
            default="text",
            show_default=True,
            help="Plan output format.",
        ),
        click.option("--prune", is_flag=True, help="Delete objects this stack created that are no longer declared."),
        click.option(
            "--max-deletes",
            "max_deletes",
            type=click.IntRange(min=0),
            default=5,
            show_default=True,
            help="Refuse to delete more objects than this.",
        ),
        run_options(),
        click.option(
            "--record",
            "record",
            metavar="FILE.har",
            type=click.Path(dir_okay=False),
            help="Write every HTTP exchange of the run to FILE.har (HAR 1.2, secrets redacted).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def echo(text: str, *, err: bool = False) -> None:
    """Every line that leaves the process goes through the redaction layer."""
    click.echo(redact.text(text), err=err, nl=False)


def target_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--target ADDRESS`` (repeatable), for plan and apply."""
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDRESS",
        help="Only this object and what it needs (repeatable), e.g. 'AIAgent alpha/bot' or bot.",
    )(fn)


def read_input(path: str, what: str) -> str:
    """The text of ``path``, or of stdin for ``-`` (a clear error naming the file otherwise)."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text") from None


def stdin_paths(paths: tuple[str, ...]) -> tuple[tuple[str, ...], Any]:
    """``-`` among the manifest PATHS: stdin is saved to a private temporary folder as ``stdin.yaml``."""
    if "-" not in paths:
        return paths, None
    import tempfile
    from pathlib import Path

    folder = tempfile.TemporaryDirectory(prefix="provisioner-stdin-")
    target = Path(folder.name) / "stdin.yaml"
    target.write_text(sys.stdin.read(), encoding="utf-8")
    return tuple(str(target) if p == "-" else p for p in paths), folder


def load_or_report(
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    stack_name: str | None,
    secrets_dirs: tuple[str, ...] = (),
    quiet: bool = False,
) -> Any:
    """Load the manifests; print diagnostics to stderr (warnings not with ``quiet``); ``None`` when there
    are errors (no network yet). ``-`` in ``paths`` reads a manifest from stdin."""
    from provisioner import api  # validate imports this module: it must not load the tenant client

    paths, stdin_folder = stdin_paths(paths)
    try:
        result = api.load(
            list(paths),
            env=env,
            env_file=env_file,
            environ=os.environ,
            stack_name=stack_name,
            secrets_dirs=secrets_dirs,
        )
    finally:
        if stdin_folder is not None:
            stdin_folder.cleanup()
    for diag in result.diagnostics:
        if not (quiet and diag.severity == "warning"):
            echo(diagnostic_line(diag) + "\n", err=True)
    if not result.ok or result.stack is None:
        count = len(result.errors)
        echo(
            f"Error: the manifests are not valid ({count} error{'' if count == 1 else 's'}); nothing was read or "
            "written.\n",
            err=True,
        )
        return None
    return result


def show_plan(
    plan_dict: dict[str, Any], fmt: str, *, verbose: bool, no_color: bool, target_shown: bool, quiet: bool = False
) -> None:
    """Print a plan in ``fmt`` to stdout (text: coloured only on a TTY; ``quiet``: the changes and the
    summary only, without the header lines and warnings)."""
    from provisioner.render import render, stream_json, use_colour  # not for validate

    if fmt == "text":
        colour = use_colour(sys.stdout, no_color)
        if quiet:
            plan_dict = {
                **plan_dict,
                "stack": None,
                "environment": None,
                "diagnostics": [d for d in plan_dict.get("diagnostics") or [] if d.get("severity") == "error"],
            }
        text = render(plan_dict, "text", colour=colour, header=not target_shown and not quiet, verbose=verbose)
        echo(text.lstrip("\n") if quiet else text)
    elif fmt == "json":  # streamed: a 10,000-object plan is never one string in memory
        stream_json(plan_dict, echo)
    else:
        echo(render(plan_dict, fmt))


def print_target(label: str, fmt: str, quiet: bool = False) -> None:
    """The target goes first: on stdout for text, on stderr for machine formats (stdout stays parseable);
    not at all with ``quiet``."""
    if not quiet:
        echo(label + "\n", err=fmt != "text")


def write_plan_file(path: str, plan: Any) -> None:
    """Save the JSON plan (``Plan``, its dict, or its text), streamed through the redaction layer.

    A plan in which masking changed a value (a secret's value written into a plain field, such as a
    description) is not kept: applying it would write the mask to the tenant."""
    from pathlib import Path

    from provisioner.render import stream_json  # not for validate

    if isinstance(plan, str):
        text = redact.text(plan)
        masked = text != plan
        Path(path).write_text(text, encoding="utf-8")
    else:
        with open(path, "w", encoding="utf-8") as handle:
            masked = stream_json(plan if isinstance(plan, dict) else plan.to_dict(), handle.write)
    if masked:
        Path(path).unlink(missing_ok=True)
        raise UsageError(
            f"the plan was not saved to {path}: a value in it holds a secret (shown as {redact.MASK}), and "
            "applying the saved plan would write the mask; take the secret out of plain fields such as "
            "descriptions, then plan again"
        )


#: A saved plan of 10,000 objects is a few MB; anything far larger is not one.
MAX_PLAN_BYTES = 256 * 1024 * 1024


def read_plan_file(path: str) -> Plan:
    """A saved plan; ``-`` reads it from stdin."""
    from provisioner import safefile
    from provisioner.plan import Plan, PlanFormatError  # validate never needs the plan model

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


def confirm_with(
    fmt: str,
    verbose: bool,
    no_color: bool,
    auto_approve: bool,
    quiet: bool,
    on_approved: Any = None,
    after_plan: Any = None,
    tenant: str = "the tenant",
    shown: list[Any] | None = None,
) -> Any:
    """The confirmation step. With ``--format json`` the plan is not printed here (it goes into the one
    JSON document at the end, through ``shown``); a prompt then shows the text plan on stderr.
    ``after_plan`` runs after the plan is shown (e.g. undo: what it cannot restore, before the question)."""
    from provisioner.render import render  # not for validate

    def confirm(plan: Plan) -> bool:
        asking = plan.has_writes and not plan.errors and not auto_approve
        if fmt == "json":
            if shown is not None:
                shown.append(plan)
            if asking and sys.stdin.isatty():
                echo(render(plan.to_dict(), "text", colour=False, header=False, verbose=verbose), err=True)
        elif not (quiet and not asking and not plan.has_writes):
            show_plan(plan.to_dict(), fmt, verbose=verbose, no_color=no_color, target_shown=True, quiet=quiet)
        if after_plan is not None:
            after_plan()
        if not asking:
            approved = True
        elif not sys.stdin.isatty():
            raise UsageError("refusing to ask for confirmation without a terminal; pass --auto-approve")
        else:
            count = sum(1 for c in plan.changes if c.action != "no-op")
            approved = click.confirm(
                f"Apply these {count} change{'' if count == 1 else 's'} to {tenant}?", default=False, err=fmt == "json"
            )
        if approved and on_approved is not None:
            on_approved()
        return approved

    return confirm


@contextmanager
def graceful_interrupt(stop: threading.Event) -> Iterator[Any]:
    """Yield ``arm()``: from then on the first Ctrl-C sets ``stop`` (no new writes are started, the
    writes in flight finish, the report is printed); a second one aborts at once. Before ``arm()``
    (reading, planning, the prompt) Ctrl-C interrupts immediately: nothing has been written yet."""
    import signal  # only the commands that write (validate starts without it)

    previous: Any = None
    armed = False

    def on_sigint(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        echo(
            "\nInterrupted: starting no new writes; waiting for the ones in flight (Ctrl-C again to abort now)...\n",
            err=True,
        )

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
        echo(
            f"not attempted: {item.action} {item.address}" + (f" ({item.error})" if item.error else "") + "\n", err=True
        )
    for line in result.remaining:
        echo(f"still different after apply: {line}\n", err=True)
    if (not result.ok or result.interrupted) and result.journal:
        echo(f"Journal: {result.journal}\n", err=True)
    if not result.ok or result.interrupted:
        echo(
            f"Run {verb.lower()} again to finish: it re-reads the tenant and continues from what is there.\n", err=True
        )
    echo(result.summary().replace("Apply", verb, 1) + "\n", err=summary_err)


def show_unrestorable(lines: tuple[str, ...]) -> None:
    """Name, on stderr, what undo cannot put back (secrets, users that no longer exist)."""
    if lines:
        echo("Undo cannot restore:\n", err=True)
        for line in lines:
            echo(f"  {line}\n", err=True)


def run_undo(
    journal: Any,
    opened: Any,
    *,
    fmt: str,
    verbose: bool,
    quiet: bool,
    no_color: bool,
    auto_approve: bool,
    max_deletes: int,
    parallelism: int,
    out: str | None = None,
    heading: str | None = None,
    document: dict[str, Any] | None = None,
) -> int:
    """Plan the undo of ``journal`` against ``opened``, show it, and apply it (unless ``out``): exit code.

    With ``--format json`` stdout is one JSON document, ``{"plan", "result"}`` (progress and summary on
    stderr), or, given ``document`` (apply's rollback), that record goes into it as ``rollback``."""
    from provisioner import undo

    run = undo.read_run(journal) if not isinstance(journal, undo.JournalRun) else journal
    undo.check_target(run, opened)
    planned = undo.plan_undo(run, opened, max_deletes=max_deletes, parallelism=parallelism)
    machine = fmt == "json"
    progress = (lambda line: None) if quiet else (lambda line: echo(line + "\n", err=machine))
    if heading:
        echo(heading + "\n", err=machine)
    if out:
        write_plan_file(out, planned.plan.to_json())
        show_plan(planned.plan.to_dict(), fmt, verbose=verbose, no_color=no_color, target_shown=True)
        show_unrestorable(planned.unrestorable)
        if not quiet:
            echo(f"Saved the undo plan to {out}; run: provisioner apply --plan {out}\n", err=True)
        return EXIT_ERROR if planned.plan.errors else EXIT_OK
    stop = threading.Event()
    with graceful_interrupt(stop) as arm:
        shown: list[Any] = []
        confirm = confirm_with(
            fmt,
            verbose,
            no_color,
            auto_approve,
            quiet,
            on_approved=arm,
            after_plan=lambda: show_unrestorable(planned.unrestorable),
            shown=shown,
        )
        result = undo.apply_undo(
            planned,
            opened,
            confirm=confirm,
            progress=progress,
            stop=stop,
            journal_dir=JOURNAL_DIR,
            max_deletes=max_deletes,
            parallelism=parallelism,
        )
    report(result, verb="Undo", summary_err=machine)
    if machine:
        payload = {"plan": shown[0].to_dict() if shown else None, "result": result.to_dict()}
        if document is not None:
            document["rollback"] = payload
        else:
            from provisioner.render import stream_json  # not for validate

            stream_json(payload, echo)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR
