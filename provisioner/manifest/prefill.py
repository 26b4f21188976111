"""Cold loads on two cores: a forked child fills the manifest cache for the later files while this
process loads the earlier ones, then finds the later ones in the cache.

The child runs the same load code (read, template, parse, build, and the cache's read-back check) and
only writes cache entries; this process's load is unchanged, so it reports exactly what a one-process
load reports: a file the child did not cache (an error, a crash, a child that took too long) is loaded
here as usual. Used only in a command-line run (:data:`provisioner.runmode.CLI`: a library caller is
never forked), on Linux, with the cache on, in a process with a single thread (a fork copies
only the calling thread: a lock another thread held would stay held in the child), for four files or
more, and when the child's files have no cache entry yet (a warm load does not fork).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence

from provisioner import runmode
from provisioner.manifest.cache import ManifestCache

MIN_FILES = 4
#: How long the parent waits for the child beyond its own half (then it loads the rest itself).
GRACE_SECONDS = 30.0


class Prefill:
    """A running child: ``first`` is the index of its first file."""

    def __init__(self, pid: int, first: int) -> None:
        self.pid = pid
        self.first = first
        self.started = time.monotonic()

    def wait(self) -> None:
        """Until the child is done, or ``GRACE_SECONDS`` past the time this process took for its half
        (then it is stopped: its files are loaded here)."""
        if not self.pid:
            return
        deadline = time.monotonic() + (time.monotonic() - self.started) + GRACE_SECONDS
        while time.monotonic() < deadline:
            if _reaped(self.pid):
                self.pid = 0
                return
            time.sleep(0.002)
        self.stop()

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
            _reaped(self.pid, block=True)
            self.pid = 0


def _reaped(pid: int, block: bool = False) -> bool:
    try:
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _single_threaded() -> bool:
    return threading.active_count() == 1


def start(files: Sequence[str], load_one: Callable[[str], object], cache: ManifestCache | None) -> Prefill | None:
    """Fork a child that runs ``load_one`` on the later files (about half of the bytes), or None."""
    if cache is None or len(files) < MIN_FILES or not sys.platform.startswith("linux"):
        return None
    if not runmode.CLI or not _single_threaded():
        return None
    sizes = []
    for file in files:
        try:
            sizes.append(os.path.getsize(file))
        except OSError:
            sizes.append(0)
    total, running, first = sum(sizes), 0, len(files)
    for index, size in enumerate(sizes):
        if running >= total / 2:
            first = index
            break
        running += size
    theirs = files[first:]
    if not theirs or all(cache.has_entry(file) for file in theirs):
        return None
    from provisioner.manifest import yamlload  # noqa: F401 - the child imports nothing (see above)

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: fill the cache, say nothing, leave without running any exit handler
        code = 0
        try:
            for file in theirs:
                load_one(file)
        except BaseException:  # noqa: BLE001 - whatever happens here, the parent loads the file itself
            code = 1
        finally:
            os._exit(code)
    return Prefill(pid, first)
