"""``python -m provisioner`` and the ``provisioner`` console script.

``--version`` alone is answered here, before click and the commands are imported (start-up is most of
its cost); everything else goes to :func:`provisioner.cli.main`.
"""

from __future__ import annotations

import sys

#: The cyclic garbage collector's thresholds for a CLI run. A run builds large, almost entirely acyclic
#: structures (the tenant's lists, a plan of thousands of changes) that reference counting frees; with
#: the default thresholds (700, 10, 10) the collector still rescans the growing heap over and over: a
#: quarter of a 2,000-client no-op plan's CPU. Young objects are collected every 100,000 allocations
#: instead, older generations rarely; garbage in cycles is still collected, memory stays bounded.
GC_THRESHOLDS = (100_000, 50, 100)


def run() -> int:
    if sys.argv[1:] in (["--version"], ["version"]):
        from provisioner import __version__

        sys.stdout.write(f"provisioner, version {__version__}\n")
        return 0
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    from provisioner.cli import main

    try:
        return main()
    finally:
        # The run is over: the interpreter's last collection at exit would walk the whole heap (the
        # tenant's lists, the plan) to find nothing, ~0.1 s at 1,000 clients. Everything the run opened
        # (journal, sockets, temporary folders) is closed by then by its own context manager or atexit.
        gc.freeze()


if __name__ == "__main__":
    raise SystemExit(run())
