"""``python -m provisioner`` and the ``provisioner`` console script.

``--version`` alone is answered here, before click and the commands are imported (start-up is most of
its cost); everything else goes to :func:`provisioner.cli.main`.
"""

from __future__ import annotations

import sys


def run() -> int:
    if sys.argv[1:] in (["--version"], ["version"]):
        from provisioner import __version__

        sys.stdout.write(f"provisioner, version {__version__}\n")
        return 0
    from provisioner import gcmode, runmode

    runmode.CLI = True
    gcmode.off_for_run()  # see provisioner.gcmode: long-running parts turn it on for their own objects
    from provisioner.cli import main

    try:
        return main()
    finally:
        gcmode.at_exit()


if __name__ == "__main__":
    raise SystemExit(run())
