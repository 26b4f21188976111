"""Measuring one step: wall time, emulator request counters, peak memory.

In-process steps run under ``tracemalloc`` (peak of Python allocations during the step) unless it is
switched off; the process's ``ru_maxrss`` is recorded too (a high-water mark for the whole run, so it
only ever grows). Whole-process steps are CLI subprocesses started through ``launch.py``, which reaps the
CLI with ``os.wait4`` and so reports that process's own wall time and ``ru_maxrss``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .tenant import Control

# Routes that are not tenant configuration: the service-account token endpoint, OAuth endpoints.
_AUTH_MARKERS = ("/oauth2/",)


def summarize_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Counters of one step: totals as the emulator reports them plus config reads/writes by route.

    ``config_writes`` leaves out the token endpoint (a POST, counted as a write by the emulator);
    "zero writes" claims are about configuration writes.
    """
    by_route = stats.get("byRoute") or {}
    cfg_reads = cfg_writes = auth = 0
    routes: dict[str, int] = {}
    for route, value in by_route.items():
        count = (
            value
            if isinstance(value, int)
            else int((value or {}).get("total", value.get("count", 0)) if isinstance(value, dict) else 0)
        )
        routes[route] = count
        method = route.split(" ", 1)[0].upper() if " " in route else ""
        if any(m in route for m in _AUTH_MARKERS):
            auth += count
        elif method in ("GET", "HEAD"):
            cfg_reads += count
        elif method:
            cfg_writes += count
    out = {
        "total": stats.get("total", 0),
        "reads": stats.get("reads", 0),
        "writes": stats.get("writes", 0),
        "byMethod": stats.get("byMethod") or {},
        "byRoute": dict(sorted(routes.items(), key=lambda kv: -kv[1])),
    }
    if routes and any(" " in r for r in routes):
        out.update({"config_reads": cfg_reads, "config_writes": cfg_writes, "auth_requests": auth})
    return out


@dataclass
class StepResult:
    name: str
    wall_s: float
    stats: dict[str, Any]
    peak_mem_mb: float | None = None  # tracemalloc peak (in-process)
    maxrss_mb: float | None = None  # ru_maxrss of the measured process
    ok: bool = True
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_s": round(self.wall_s, 4),
            "requests": self.stats,
            "peak_mem_mb": None if self.peak_mem_mb is None else round(self.peak_mem_mb, 1),
            "maxrss_mb": None if self.maxrss_mb is None else round(self.maxrss_mb, 1),
            "ok": self.ok,
            "error": self.error,
            **self.extra,
        }


def _self_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def measure_inprocess(
    name: str, control: Control, fn: Callable[[], Any], *, trace_memory: bool = True
) -> tuple[StepResult, Any]:
    """Run ``fn`` in this process with counters reset before; return the step and ``fn``'s value."""
    control.reset_stats()
    value, error = None, ""
    if trace_memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        value = fn()
    except Exception as exc:  # a failing step is a result, not the end of the benchmark
        error = f"{type(exc).__name__}: {exc}"[:2000]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = None
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    stats = summarize_stats(control.stats())
    return StepResult(
        name,
        wall,
        stats,
        peak_mem_mb=peak,
        maxrss_mb=_self_maxrss_mb(),
        ok=not error,
        error=error,
        extra={"cpu_s": round(cpu, 3), "loadavg": round(os.getloadavg()[0], 2)},
    ), value


LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")


def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 3600) -> tuple[int, str, str, float, float]:
    """Run ``python -m provisioner ARGS``; return (exit code, stdout, stderr, wall s, child maxrss MB).

    Wall time and peak RSS are the CLI process's own, taken by ``launch.py`` (see there why).
    """
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        report = os.path.join(tmp, "report.json")
        cmd = [sys.executable, "-S", LAUNCHER, report, sys.executable, "-m", "provisioner", *args]
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        try:
            with open(report) as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            info = {"exit": proc.returncode, "wall_s": float("nan"), "maxrss_kb": 0}
        _LAST_CPU[0] = info.get("cpu_s")
        return (
            int(info["exit"]),
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
            float(info["wall_s"]),
            info["maxrss_kb"] / 1024.0,
        )


_LAST_CPU: list[float | None] = [None]  # the last CLI run's user+sys CPU seconds (from launch.py)


def measure_cli(
    name: str, control: Control, args: list[str], env: dict[str, str], *, ok_codes: tuple[int, ...] = (0, 2)
) -> tuple[StepResult, str]:
    """A whole-process step: the CLI's wall time (process start to exit) and its own peak RSS."""
    control.reset_stats()
    code, out, err, wall, rss = run_cli(args, env)
    stats = summarize_stats(control.stats())
    ok = code in ok_codes
    cpu = _LAST_CPU[0]
    step = StepResult(
        name,
        wall,
        stats,
        maxrss_mb=rss,
        ok=ok,
        error="" if ok else f"exit {code}: {err.strip()[-2000:]}",
        extra={
            "exit_code": code,
            "cpu_s": None if cpu is None else round(cpu, 3),
            "loadavg": round(os.getloadavg()[0], 2),
        },
    )
    return step, out


def parse_json_output(text: str) -> Any:
    """The JSON document a command printed (tolerating a leading non-JSON line such as the target)."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.find("{")
        return json.loads(text[start:]) if start >= 0 else None
