"""``provisioner emulator serve``: run the local emulator of the tenant APIs until SIGINT/SIGTERM.

Prints exactly one JSON line on stdout once the server accepts connections:
``{"url": ..., "serviceAccount": {"id": ..., "jwkFile": ...}}``.
"""
from __future__ import annotations

import json
import os
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


@command.command(name="serve")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="TCP port on 127.0.0.1 (0 picks a free one).")
@click.option("--state", type=click.Path(file_okay=False), default=None,
              help="State directory (SQLite + service-account key); in-memory when absent.")
@click.option("--latency-ms", type=click.IntRange(0), default=0, show_default=True,
              help="Sleep this long on every emulated API request.")
@click.option("--realm", "realms", multiple=True, help="A realm to serve (repeatable; default alpha, bravo).")
@click.option("--ai-agents", type=click.Choice(["enabled", "disabled"]), default="enabled", show_default=True,
              help="Initial state of the AI agents feature.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An emulator switch (reference §11), e.g. sa.sessionLimitMode=evict-oldest.")
def serve(port: int, state: str | None, latency_ms: int, realms: tuple[str, ...], ai_agents: str,
          options: tuple[str, ...]) -> int:
    """Serve the emulated tenant until interrupted."""
    from provisioner.emulator import EmulatorServer
    from provisioner.emulator.config import parse_options

    try:
        parsed = parse_options(options)
        server = EmulatorServer(port=port, state=state, latency_ms=latency_ms,
                                realms=realms or ("alpha", "bravo"), ai_agents=ai_agents == "enabled",
                                options=parsed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot start the emulator: {exc}") from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    tmpdirs: list[str] = []
    try:
        server.start()
        line = {"url": server.url,
                "serviceAccount": {"id": server.service_account["id"], "jwkFile": _jwk_file(server, tmpdirs)}}
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
