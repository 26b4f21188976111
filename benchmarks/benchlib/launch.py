"""Run a command and report its own wall time and peak RSS: ``python -S launch.py OUT CMD...``.

Why a launcher: on Linux a child's ``ru_maxrss`` starts from the RSS of the process that forked it
(``exec`` keeps the old memory's high-water mark), so a CLI started straight from the benchmark
process would report at least the benchmark's own RSS. This small process forks the command itself,
reaps it with ``os.wait4`` and writes ``{"exit", "wall_s", "maxrss_kb", "cpu_s"}`` as JSON to OUT.
"""

import json
import os
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as handle:
        json.dump(
            {"exit": code, "wall_s": wall, "maxrss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime},
            handle,
        )
    return code if code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
