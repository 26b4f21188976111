"""Plan/apply benchmark: requests, wall time, memory and the ideal time, against the emulator.

    python benchmarks/plan_apply.py --sizes 10,100 --latency-ms 25 --parallelism 8 \
        --json benchmarks/results/latest.json

See docs/performance.md for what is measured and how the ideal time is counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib.measure import run_cli  # noqa: E402
from benchlib.report import check_targets, markdown, print_tables  # noqa: E402
from benchlib.scenarios import NAIVE_SCENARIOS, SCENARIOS, SECRET_MODES, Options, SizeRun  # noqa: E402
from benchlib.tenant import start_emulator  # noqa: E402

MODES = ("cli", "inprocess", "naive")  # cli first: what users run


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform()}


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10,100", help="comma-separated stack sizes N (N apps + N agents)")
    p.add_argument("--latency-ms", type=int, default=25, help="injected per-request latency")
    p.add_argument("--parallelism", type=int, default=8)
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"subset of {','.join(SCENARIOS)}")
    p.add_argument("--modes", default=",".join(MODES), help="inprocess (library API), cli (whole process), naive")
    p.add_argument(
        "--naive-max-size",
        type=int,
        default=250,
        help="skip the naive baseline above this N (it is sequential and slow)",
    )
    p.add_argument("--cli-max-size", type=int, default=100_000)
    p.add_argument("--emulator", choices=("subprocess", "inprocess"), default="subprocess")
    p.add_argument(
        "--memory",
        choices=("separate", "inline", "off"),
        default="separate",
        help="in-process peak memory: separate (timed pass untraced, then a second pass under "
        "tracemalloc), inline (time under tracemalloc), off",
    )
    p.add_argument(
        "--secrets",
        choices=SECRET_MODES,
        default="distinct",
        help="distinct (default): every application and agent its own generated secret, as real "
        "stacks have; shared: one value {fromEnv: BENCH_SECRET} for all; none",
    )
    p.add_argument(
        "--secret",
        dest="secrets",
        action="store_const",
        const="distinct",
        help="same as --secrets distinct (the default)",
    )
    p.add_argument("--no-secret", dest="secrets", action="store_const", const="none", help="--secrets none")
    p.add_argument("--page-size", type=int, default=1000, help="IDM page size assumed by the ideal")
    p.add_argument("--json", dest="json_path", help="write the results here (e.g. benchmarks/results/latest.json)")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file")
    p.add_argument(
        "--from-json", help="do not run: print the tables (and --markdown) of earlier --json files (comma-separated)"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: N=3, latency 0, every scenario and mode")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.latency_ms = "3", 0
    args.size_list = [int(s) for s in _csv(args.sizes)]
    args.scenario_list = tuple(s for s in _csv(args.scenarios))
    args.mode_list = tuple(_csv(args.modes))
    bad = [s for s in args.scenario_list if s not in SCENARIOS] + [m for m in args.mode_list if m not in MODES]
    if bad:
        p.error(f"unknown scenario or mode: {', '.join(bad)}")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    opts = Options(
        parallelism=args.parallelism,
        latency_ms=args.latency_ms,
        scenarios=args.scenario_list,
        memory=args.memory,
        secrets=args.secrets,
        page_size=args.page_size,
    )
    results: dict[str, Any] = {
        "meta": {
            "latency_ms": args.latency_ms,
            "memory": args.memory,
            "secrets": args.secrets,
            "parallelism": args.parallelism,
            "emulator": args.emulator,
            "sizes": args.size_list,
            "scenarios": list(args.scenario_list),
            "modes": list(args.mode_list),
            "machine": machine(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "argv": sys.argv[1:],
        },
        "sizes": {},
    }
    if "cli" in args.mode_list:
        # An installed package has its bytecode compiled (pip does it); a checkout run with
        # PYTHONDONTWRITEBYTECODE set (as on the development VM) would compile every module on every CLI
        # start instead (~0.15 s). Python reads existing __pycache__ files whatever that variable says.
        results["meta"]["bytecode_compiled"] = compile_package()
        code, _, _, wall, rss = run_cli(["--version"], env=dict(os.environ))
        results["meta"]["cli_startup_s"] = round(wall, 4) if code == 0 else None
        results["meta"]["cli_startup_rss_mb"] = round(rss, 1)
    with (
        tempfile.TemporaryDirectory(prefix="bench-stacks-") as tmp,
        start_emulator(args.latency_ms, mode=args.emulator) as emu,
    ):
        for size in args.size_list:
            runner = SizeRun(size, emu, Path(tmp), opts)
            entry: dict[str, Any] = {
                "counts": runner.model.counts(),
                "pruned_agents": len(runner.victims),
                "loadavg_before": list(os.getloadavg()),
            }
            results["sizes"][str(size)] = entry
            for mode in args.mode_list:
                if mode == "naive" and (
                    size > args.naive_max_size or not set(NAIVE_SCENARIOS) & set(args.scenario_list)
                ):
                    continue
                if mode == "cli" and size > args.cli_max_size:
                    continue
                print(f"N={size}: {mode} ...", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                try:
                    entry[mode] = getattr(runner, f"run_{mode}")()
                except Exception as exc:  # keep the other modes and sizes
                    entry[mode] = {"errors": [f"{type(exc).__name__}: {exc}"]}
                print(f"N={size}: {mode} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
            entry["loadavg_after"] = list(os.getloadavg())
            runner.cleanup()
    results["targets"] = check_targets(results)
    return results


def compile_package() -> bool:
    """Compile the provisioner package's bytecode into its __pycache__ folders (what pip install does)."""
    import compileall

    import provisioner

    return bool(compileall.compile_dir(Path(provisioner.__file__).parent, quiet=1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        # several files (comma-separated) merge their sizes; the first file's meta is kept
        files = [json.loads(Path(f).read_text()) for f in _csv(args.from_json)]
        results = files[0]
        for other in files[1:]:
            results["sizes"].update(other["sizes"])
        results["targets"] = check_targets(results)
    else:
        results = run(args)
    print_tables(results, sys.stdout)
    if args.markdown:
        Path(args.markdown).write_text(markdown(results))
    if args.json_path and not args.from_json:
        path = Path(args.json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote {path}")
    failed = any(
        (e.get(m) or {}).get("errors") for e in results["sizes"].values() for m in MODES if isinstance(e.get(m), dict)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
