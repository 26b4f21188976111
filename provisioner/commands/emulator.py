"""``provisioner emulator serve``: run the local emulator of the tenant APIs until SIGINT/SIGTERM.

Prints exactly one JSON line on stdout once the server accepts connections:
``{"url": ..., "serviceAccount": {"id": ..., "jwkFile": ...}}`` (or, with ``--format env``, the
``export`` lines that point the CLI at it). ``--write-env FILE`` writes the same settings as a dotenv
file for ``--env-file``; ``--seed FILE`` loads users and groups (docs/emulator.md).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import tempfile
import threading
from typing import Any

import click

from provisioner.errors import UsageError


@click.group(name="emulator")
def command() -> None:
    """A local emulator of the tenant's admin and OAuth APIs (for tests and --tenant local)."""


def _jwk_file(server: Any, tmpdir: list[str]) -> str:
    """The SA key file: in the state dir, or (in-memory state) a private temporary file."""
    if server.service_account["jwkFile"]:
        return str(server.service_account["jwkFile"])
    directory = tempfile.mkdtemp(prefix="provisioner-emulator-")
    tmpdir.append(directory)
    path = os.path.join(directory, "service-account.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(server.service_account["jwk"], handle, indent=2)
    return path


def _write_env(path: str, settings: dict[str, str]) -> None:
    """``export KEY=VALUE`` lines (0600: it names the key file): a shell sources it, a dotenv reader reads it."""
    lines = ["# Written by provisioner emulator serve: the local emulator and its service account.\n"]
    lines += [f"export {k}={shlex.quote(v)}\n" for k, v in settings.items()]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


@command.command(name="serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="TCP port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--state",
    type=click.Path(file_okay=False),
    default=None,
    help="State directory (SQLite + service-account key); in-memory when absent.",
)
@click.option(
    "--latency-ms",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Sleep this long on every emulated API request.",
)
@click.option("--realm", "realms", multiple=True, help="A realm to serve (repeatable; default alpha, bravo).")
@click.option(
    "--ai-agents",
    type=click.Choice(["enabled", "disabled"]),
    default="enabled",
    show_default=True,
    help="Initial state of the AI agents feature.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An emulator switch (see docs/emulator.md), e.g. sa.sessionLimitMode=evict-oldest.",
)
@click.option(
    "--seed",
    "seeds",
    multiple=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Load users and groups from a seed file (YAML or JSON; repeatable).",
)
@click.option(
    "--env-file",
    "env_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Dotenv file for {fromEnv} references in seed files (the process environment wins).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "env"]),
    default="json",
    show_default=True,
    help="stdout once ready: one JSON line, or shell 'export' lines for the CLI.",
)
@click.option(
    "--write-env",
    "write_env",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also write AIC_TENANT_URL and the service account as a dotenv file (mode 0600) for --env-file.",
)
def serve(
    port: int,
    state: str | None,
    latency_ms: int,
    realms: tuple[str, ...],
    ai_agents: str,
    options: tuple[str, ...],
    seeds: tuple[str, ...],
    env_file: str | None,
    fmt: str,
    write_env: str | None,
) -> int:
    """Serve the emulated tenant until interrupted.

    \b
    Point the CLI at it (the variables select the tenant and its service account):
      provisioner emulator serve --write-env emulator.env --seed users.yaml &
      . ./emulator.env
      provisioner plan manifests/STACK --tenant "$AIC_TENANT_URL" --env-file manifests/STACK/demo.env
    """
    from provisioner import gcmode
    from provisioner.emulator import EmulatorServer
    from provisioner.emulator.config import parse_options
    from provisioner.emulator.seedfile import apply_seed, read_seed_file

    gcmode.on_for_good()  # a server runs until stopped

    dotenv: dict[str, str] = {}
    if env_file:
        from provisioner.api import read_env_file

        dotenv = read_env_file(env_file)
    bodies = [(seed, read_seed_file(seed, os.environ, dotenv)) for seed in seeds]  # errors before starting
    try:
        parsed = parse_options(options)
        server = EmulatorServer(
            port=port,
            state=state,
            latency_ms=latency_ms,
            realms=realms or ("alpha", "bravo"),
            ai_agents=ai_agents == "enabled",
            options=parsed,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot start the emulator: {exc}") from None
    try:
        for seed, body in bodies:
            apply_seed(server, body, seed)
    except UsageError:
        server.stop()
        raise
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    tmpdirs: list[str] = []
    try:
        server.start()
        jwk_file = _jwk_file(server, tmpdirs)
        settings = {
            "AIC_TENANT_URL": server.url,
            "AIC_SERVICE_ACCOUNT_ID": server.service_account["id"],
            "AIC_SERVICE_ACCOUNT_JWK_FILE": os.path.abspath(jwk_file),
        }
        if write_env:
            _write_env(write_env, settings)
        if fmt == "env":
            sys.stdout.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in settings.items()))
        else:
            line = {"url": server.url, "serviceAccount": {"id": server.service_account["id"], "jwkFile": jwk_file}}
            sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for directory in tmpdirs:
            for name in os.listdir(directory):
                os.unlink(os.path.join(directory, name))
            os.rmdir(directory)
    return 0
