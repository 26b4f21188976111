"""The cyclic garbage collector during a CLI run.

A run builds large structures that live until it ends and are almost entirely acyclic: the manifests,
the tenant's lists, a plan of thousands of changes. Reference counting frees whatever they drop; the
cyclic collector would only scan each of those objects at least once, for nothing (0.1–0.2 s of a
2,000-client no-op plan). So a CLI run starts with it off (:func:`off_for_run`), and the parts that run
long and make garbage at a steady rate turn it on, for new objects only: the writes of apply, undo and
destroy (:func:`collecting`) and the emulator's server (:func:`on_for_good`). Cyclic garbage is rare
here (a whole 500-client cold apply with the collector off left 671 unreachable objects).

Code that uses the package as a library keeps the collector as its process has it: these functions
change nothing when it was on already.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Thresholds while collecting: young objects every 100,000 allocations, older generations rarely.
THRESHOLDS = (100_000, 50, 100)


def off_for_run() -> None:
    """Start of a CLI run: no cyclic collection until a long-running part asks for it."""
    gc.disable()


@contextmanager
def collecting() -> Iterator[None]:
    """Collect cyclic garbage within the block, among objects made from here on (everything made before
    is frozen: it lives until the run ends or is freed by reference counting)."""
    if gc.isenabled():
        yield
        return
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    gc.enable()
    try:
        yield
    finally:
        gc.disable()


def on_for_good() -> None:
    """A long-running process (the emulator's server): collect from here on, with the default
    thresholds, among new objects."""
    if not gc.isenabled():
        gc.freeze()
        gc.set_threshold(700, 10, 10)
        gc.enable()


def at_exit() -> None:
    """The run is over: the interpreter's last collection would walk the whole heap to find nothing
    (~0.1 s at 1,000 clients). Everything the run opened is closed by then by its own context manager."""
    gc.freeze()
