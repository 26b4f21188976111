"""Tables and target checks from the results dict (the same dict written as JSON)."""

from __future__ import annotations

from typing import Any, TextIO

from .ideal import levels_text

ORDER = (
    "load",
    "cold_plan",
    "cold_apply",
    "noop_plan",
    "noop_apply",
    "drift_plan",
    "drift_apply",
    "prune_plan",
    "prune_apply",
)
TARGET_NOOP_PLAN_SIZE = 250
TARGET_COLD_APPLY_SIZE = 100
SLOPE_SIZES = (250, 1000, 2500)


def _req(step: dict[str, Any], key: str) -> Any:
    req = step.get("requests") or {}
    if key == "writes" and "config_writes" in req:
        return req["config_writes"]
    if key == "reads" and "config_reads" in req:
        return req["config_reads"]
    return req.get(key)


def _steps(entry: dict[str, Any], mode: str) -> list[tuple[str, dict[str, Any]]]:
    """The mode's measured steps in scenario order (JSON files have their keys sorted)."""
    steps = [(n, s) for n, s in (entry.get(mode) or {}).items() if isinstance(s, dict) and "wall_s" in s]
    return sorted(steps, key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER))


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def print_tables(results: dict[str, Any], out: TextIO) -> None:
    meta = results["meta"]
    out.write(
        f"\nlatency {meta['latency_ms']} ms, parallelism {meta['parallelism']}, "
        f"emulator {meta['emulator']}; {meta['machine']['cpu']} × {meta['machine']['nproc']}, "
        f"Python {meta['machine']['python']}\n"
    )
    if meta.get("cli_startup_s") is not None:
        out.write(
            f"CLI start-up (python -m provisioner --version): {meta['cli_startup_s']:.3f} s, "
            f"{meta.get('cli_startup_rss_mb', 0):.0f} MB RSS\n"
        )
    header = (
        f"{'N':>5} {'mode':<9} {'scenario':<12} {'wall s':>8} {'cpu s':>7} {'reads':>6} {'writes':>6} "
        f"{'ideal s':>8} {'ratio':>6} {'idealAM1':>8} {'tracemalloc':>11} {'maxrss':>7}  levels / notes"
    )
    for size, entry in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        load = entry.get("loadavg_before")
        if load:
            out.write(f"\nN={size}: load average before {load[0]:.2f}, after {entry.get('loadavg_after', [0])[0]:.2f}")
        out.write("\n" + header + "\n" + "-" * len(header) + "\n")
        for mode in ("cli", "inprocess", "naive"):
            for name, step in _steps(entry, mode):
                ideal = step.get("ideal") or {}
                note = levels_text(ideal.get("levels") or []) if ideal else ""
                if mode == "naive":
                    fast = entry.get("inprocess", {}).get(name, {})
                    if isinstance(fast, dict) and fast.get("wall_s"):
                        note = f"naive / in-process = {step['wall_s'] / fast['wall_s']:.1f}×"
                if not step.get("ok", True):
                    note = "FAILED: " + step.get("error", "")[:80]
                mem = step.get("peak_mem_mb")
                out.write(
                    f"{size:>5} {mode:<9} {name:<12} {step['wall_s']:>8.3f} {_fmt(step.get('cpu_s'), '.2f'):>7} "
                    f"{_fmt(_req(step, 'reads')):>6} "
                    f"{_fmt(_req(step, 'writes')):>6} {_fmt(ideal.get('ideal_s'), '.3f'):>8} "
                    f"{_fmt(step.get('ratio'), '.2f'):>6} {_fmt(ideal.get('ideal_serial_am_s'), '.3f'):>8} "
                    f"{_fmt(mem, '.1f'):>11} {_fmt(step.get('maxrss_mb'), '.0f'):>7}  {note}\n"
                )
            for err in (entry.get(mode) or {}).get("errors", []):
                out.write(f"      {mode} error: {err[:300]}\n")
    out.write("\nTargets:\n")
    for line in results.get("targets", []):
        out.write(f"  [{line['status']}] {line['target']}: {line['measured']}\n")


def _step(results: dict[str, Any], size: int, mode: str, name: str) -> dict[str, Any] | None:
    entry = results["sizes"].get(str(size)) or results["sizes"].get(size)
    step = (entry or {}).get(mode, {}).get(name)
    return step if isinstance(step, dict) and step.get("ok", True) else None


def check_targets(results: dict[str, Any]) -> list[dict[str, str]]:
    """The issue's targets, evaluated on whatever this run measured (reported, never asserted)."""
    lat = results["meta"]["latency_ms"] / 1000.0
    lines: list[dict[str, str]] = []

    def add(target: str, ok: bool | None, measured: str) -> None:
        lines.append(
            {"target": target, "status": "n/a" if ok is None else ("met" if ok else "MISSED"), "measured": measured}
        )

    s = _step(results, TARGET_NOOP_PLAN_SIZE, "inprocess", "noop_plan")
    if s:
        total = s["requests"].get("total")
        add("no-op plan N=250: <= 15 requests", total is not None and total <= 15, f"{total} requests")
        limit = 10 * lat + 0.5
        add(
            f"no-op plan N=250 in-process: < 10 x latency + 0.5 s = {limit:.2f} s",
            s["wall_s"] < limit,
            f"{s['wall_s']:.3f} s",
        )
    else:
        add("no-op plan N=250", None, "not measured in this run")

    s = _step(results, TARGET_COLD_APPLY_SIZE, "inprocess", "cold_apply")
    if s:
        add(
            "cold apply N=100: measured/ideal <= 1.5",
            s.get("ratio") is not None and s["ratio"] <= 1.5,
            f"{s['wall_s']:.3f} s / {s['ideal']['ideal_s']:.3f} s = {s.get('ratio')}",
        )
        n = _step(results, TARGET_COLD_APPLY_SIZE, "naive", "cold_apply")
        if n:
            speed = n["wall_s"] / s["wall_s"] if s["wall_s"] else float("inf")
            add(
                "cold apply N=100: >= 5x faster than naive",
                speed >= 5,
                f"naive {n['wall_s']:.3f} s / {s['wall_s']:.3f} s = {speed:.1f}x",
            )
    else:
        add("cold apply N=100", None, "not measured in this run")

    noop = []
    for size in sorted(results["sizes"], key=int):
        for mode in ("inprocess", "cli"):
            s = _step(results, size, mode, "noop_apply")
            if s:
                noop.append((size, mode, _req(s, "writes")))
    if noop:
        add(
            "no-op apply: zero writes at every size",
            all(w == 0 for _, _, w in noop),
            ", ".join(f"N={n} {m}: {w}" for n, m, w in noop),
        )

    s = _step(results, 2500, "inprocess", "cold_plan") or _step(results, 2500, "inprocess", "noop_plan")
    if s:
        steps = [
            st
            for st in ((results["sizes"].get("2500") or {}).get("inprocess") or {}).values()
            if isinstance(st, dict) and "wall_s" in st
        ]
        peaks = [st["peak_mem_mb"] for st in steps if st.get("peak_mem_mb") is not None]
        rss = [st["maxrss_mb"] for st in steps if st.get("maxrss_mb") is not None]
        if peaks:
            add(
                "N=2500: plan completes, peak memory < 300 MB",
                max(peaks) < 300,
                f"tracemalloc peak {max(peaks):.1f} MB over in-process steps",
            )
        elif rss:  # without tracemalloc: the benchmark process's own high-water mark (an upper bound)
            add(
                "N=2500: plan completes, peak memory < 300 MB (ru_maxrss of the whole benchmark process)",
                max(rss) < 300,
                f"ru_maxrss {max(rss):.0f} MB after the last in-process step",
            )
    for name in ("noop_plan", "cold_plan", "cold_apply"):
        points = [(n, _step(results, n, "inprocess", name)) for n in SLOPE_SIZES]
        points = [(n, st["wall_s"]) for n, st in points if st]
        if len(points) >= 2:
            slopes = [(b[1] - a[1]) / ((b[0] - a[0]) / 1000) for a, b in zip(points, points[1:])]
            text = ", ".join(
                f"{a[0]}→{b[0]}: {sl:.3f} s per 1,000 N" for (a, b), sl in zip(zip(points, points[1:]), slopes)
            )
            linear = None if len(slopes) < 2 else (max(slopes) <= 1.5 * max(min(slopes), 1e-9))
            add(f"linear growth of {name} (slopes within 1.5x)", linear, text)
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables (for docs/performance.md; copy from a real run only)."""
    meta = results["meta"]
    m = meta["machine"]
    lines = [
        f"Run `{' '.join(meta.get('argv', []))}` on {m['cpu']} × {m['nproc']}, Python {m['python']}, "
        f"latency {meta['latency_ms']} ms, parallelism {meta['parallelism']}.",
        "",
    ]
    lines.append(
        "| N | mode | scenario | wall s | cpu s | load | reads | writes | ideal s | ratio | tracemalloc MB "
        "| maxrss MB |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size, entry in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        for mode in ("cli", "inprocess", "naive"):
            for name, step in _steps(entry, mode):
                ideal = step.get("ideal") or {}
                wall = f"{step['wall_s']:.3f}" if step.get("ok", True) else "failed"
                lines.append(
                    f"| {size} | {mode} | {name} | {wall} | {_fmt(step.get('cpu_s'), '.2f')} | "
                    f"{_fmt(step.get('loadavg'), '.1f')} | {_fmt(_req(step, 'reads'))} | "
                    f"{_fmt(_req(step, 'writes'))} | {_fmt(ideal.get('ideal_s'), '.3f')} | "
                    f"{_fmt(step.get('ratio'), '.2f')} | {_fmt(step.get('peak_mem_mb'), '.1f')} | "
                    f"{_fmt(step.get('maxrss_mb'), '.0f')} |"
                )
    return "\n".join(lines) + "\n"
