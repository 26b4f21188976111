"""The scenario sequence for one stack size, in-process (library API), whole-process (CLI) and naive.

Each mode starts from an empty tenant (emulator reset + seed of users and groups) and walks the same
sequence; later steps depend on the state the earlier ones leave behind:

  load (manifests only, no requests) → cold_plan → cold_apply → noop_plan → noop_apply → [drift injected] drift_plan → drift_apply
  → [10 % of agents removed from the manifests] prune_plan → prune_apply (--prune, big --max-deletes)

Steps not asked for with ``--scenarios`` still run when a later step needs their effect, but are not
measured or reported.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ideal as idealmod
from .drift import inject_drift
from .generate import BenchModel, build_model, prune_victims, write_stack
from .measure import StepResult, measure_cli, measure_inprocess, parse_json_output
from .naive import naive_apply, naive_read
from .tenant import AdminSession, Control, Emulator, jwk_file

SCENARIOS = (
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
NAIVE_SCENARIOS = ("cold_apply", "noop_plan")
SECRET_ENV = "BENCH_SECRET"
SECRET_VALUE = "bench-secret-value-0123456789"  # --secrets shared: one human-style value for every client
SECRET_MODES = ("distinct", "shared", "none")


def secret_var(client_id: str) -> str:
    """The environment variable of one client's own secret (``--secrets distinct``)."""
    return "BENCH_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", client_id).upper()


MAX_DELETES = 1_000_000


@dataclass
class Options:
    parallelism: int
    latency_ms: float
    scenarios: tuple[str, ...]
    memory: str = "separate"  # separate: a second, traced in-process pass; inline; off
    #: distinct: every client its own generated secret ({fromEnv: BENCH_SECRET_<ID>}, what real stacks
    #: have); shared: every client {fromEnv: BENCH_SECRET}, one human-style value; none: no secrets
    secrets: str = "distinct"
    page_size: int = 1000


class SizeRun:
    """Everything measured for one size N against one emulator."""

    def __init__(self, size: int, emu: Emulator, workdir: Path, opts: Options) -> None:
        self.size = size
        self.emu = emu
        self.control = Control(emu.url)
        self.opts = opts
        self.model = build_model(size)
        self.victims = prune_victims(self.model)
        self.pruned = self.model.without_agents(self.victims)
        self.dir = workdir / f"stack-{size}"
        self.latency_s = opts.latency_ms / 1000.0
        ids = [a.client_id for a in self.model.apps] + [a.client_id for a in self.model.agents]
        # Generated, as machine-client secrets should be (32 random bytes, docs/secrets.md).
        self.secret_values = (
            {secret_var(i): secrets.token_urlsafe(32) for i in ids}
            if opts.secrets == "distinct"
            else {SECRET_ENV: SECRET_VALUE}
            if opts.secrets == "shared"
            else {}
        )

    @property
    def secret_env(self) -> Any:
        """``write_stack``'s ``secret_env`` for the chosen secrets mode."""
        return {"distinct": secret_var, "shared": SECRET_ENV}.get(self.opts.secrets)

    # --- shared -----------------------------------------------------------------------------------
    def fresh_tenant(self) -> None:
        self.control.reset()
        # Every CLI process and the naive/drift sessions fetch their own service-account token; AIC
        # allows 5 concurrent sessions per service account (reference §2.3), a full sequence uses ~12.
        self.control.configure({"sa.sessionLimitMode": "off"})
        self.control.seed(self.model.seed_payload())
        write_stack(self.model, self.dir, secret_env=self.secret_env)

    def last_needed(self, sequence: tuple[str, ...]) -> int:
        wanted = [i for i, s in enumerate(sequence) if s in self.opts.scenarios]
        return max(wanted, default=-1)

    def work(self, plan: dict[str, Any] | None, tenant: BenchModel | None) -> idealmod.Work:
        work, _ = idealmod.work_from_plan(plan or {})
        apps, agents, privs = (len(tenant.apps), len(tenant.agents), len(tenant.privileges)) if tenant else (0, 0, 0)
        work.plan_reads, work.plan_read_rounds = idealmod.plan_reads(
            apps, agents, privs, parallelism=self.opts.parallelism, page_size=self.opts.page_size
        )
        return work

    def annotate(
        self,
        step: StepResult,
        plan: dict[str, Any] | None,
        before: BenchModel | None,
        after: BenchModel | None,
        *,
        include_plan: bool,
        is_apply: bool,
    ) -> dict[str, Any]:
        work = self.work(plan, before)
        confirm = self.work(None, after).plan_read_rounds if after else None
        ideal = idealmod.ideal(
            work,
            parallelism=self.opts.parallelism,
            latency_s=self.latency_s,
            include_plan=include_plan,
            is_apply=is_apply,
            after_read_rounds=confirm,
        )
        _, described = idealmod.work_from_plan(plan or {})
        out = step.to_dict()
        out["ideal"] = ideal
        out["plan_shape"] = described
        out["ratio"] = round(step.wall_s / ideal["ideal_s"], 2) if ideal["ideal_s"] > 0 else None
        return out

    # --- in-process (library API) -------------------------------------------------------------------
    def run_inprocess(self) -> dict[str, Any]:
        """The in-process sequence; with ``memory="separate"`` timed untraced, then again under tracemalloc.

        tracemalloc slows allocation-heavy code (YAML parsing, JSON Schema validation) several times,
        so timings from a traced pass would mostly measure tracemalloc.
        """
        if self.opts.memory != "separate":
            return self._run_inprocess(trace=self.opts.memory == "inline")
        timed = self._run_inprocess(trace=False)
        traced = self._run_inprocess(trace=True)
        for name, step in timed.items():
            other = traced.get(name)
            if isinstance(step, dict) and "wall_s" in step and isinstance(other, dict):
                step["peak_mem_mb"] = other.get("peak_mem_mb")
                step["wall_traced_s"] = other.get("wall_s")
        if traced.get("errors"):
            timed.setdefault("errors", []).extend(f"(traced pass) {e}" for e in traced["errors"])
        return timed

    def _run_inprocess(self, trace: bool) -> dict[str, Any]:
        from provisioner import api  # imported late: core lands while the benchmark is built

        os.environ["AIC_SERVICE_ACCOUNT_ID"] = str(self.emu.service_account["id"])
        os.environ["AIC_SERVICE_ACCOUNT_JWK_FILE"] = jwk_file(self.emu)
        os.environ.update(self.secret_values)
        url, P = self.emu.url, self.opts.parallelism
        results: dict[str, Any] = {}
        last = self.last_needed(SCENARIOS)
        if last < 0:
            return results
        self.fresh_tenant()
        paths = [str(self.dir)]
        state: dict[str, Any] = {}
        admin: list[AdminSession] = []
        # One open tenant for the whole sequence, as a library user would keep it: the service-account
        # token is fetched once (in the first measured step) and the connection pool is reused.
        with api.tenant(url, environ=dict(os.environ), parallelism=P) as tenant:
            return self._inprocess_steps(api, tenant, paths, state, admin, results, last, trace)

    def _inprocess_steps(
        self,
        api: Any,
        tenant: Any,
        paths: list[str],
        state: dict[str, Any],
        admin: list[AdminSession],
        results: dict[str, Any],
        last: int,
        trace: bool,
    ) -> dict[str, Any]:
        url, P = self.emu.url, self.opts.parallelism

        def do_plan(**opts: Any) -> Any:
            return api.plan(paths, tenant=tenant, parallelism=P, **opts)

        timeline: list[tuple[float, str]] = []

        def do_apply(plan: Any) -> Any:
            prune = {"prune": True, "max_deletes": MAX_DELETES} if plan.options.get("prune") else {}
            timeline.clear()
            timeline.append((time.perf_counter(), "start"))
            # paths= lets apply re-plan afterwards and confirm the plan is empty (DESIGN §6)
            return api.apply(
                plan,
                tenant=tenant,
                paths=paths,
                parallelism=P,
                progress=lambda line: timeline.append((time.perf_counter(), line)),
                **prune,
            )

        def before_drift() -> None:
            admin.append(AdminSession(url, self.emu.service_account))
            results["drift_injected"] = inject_drift(admin[-1], self.model)

        def before_prune() -> None:
            write_stack(self.pruned, self.dir, secret_env=self.secret_env)

        steps: list[tuple[str, Callable[[], Any], Callable[[], None] | None]] = [
            ("load", lambda: api.load(paths), None),
            ("cold_plan", lambda: do_plan(), None),
            ("cold_apply", lambda: do_apply(state["plan"]), None),
            ("noop_plan", lambda: do_plan(), None),
            ("noop_apply", lambda: do_apply(state["plan"]), None),
            ("drift_plan", lambda: do_plan(), before_drift),
            ("drift_apply", lambda: do_apply(state["plan"]), None),
            ("prune_plan", lambda: do_plan(prune=True, max_deletes=MAX_DELETES), before_prune),
            ("prune_apply", lambda: do_apply(state["plan"]), None),
        ]
        for name, fn, prepare in steps[: last + 1]:
            if prepare:
                prepare()
            step, value = measure_inprocess(name, self.control, fn, trace_memory=trace and name in self.opts.scenarios)
            is_apply = name.endswith("_apply")
            if name == "load":
                if value is not None and not value.ok:
                    step.ok, step.error = False, "; ".join(str(d) for d in value.errors)[:2000]
                if name in self.opts.scenarios:
                    results[name] = step.to_dict()
                if not step.ok:
                    results.setdefault("errors", []).append(f"{name}: {step.error}")
                    break
                continue
            if not is_apply:
                state["plan"] = value
                state["plan_dict"] = value.to_dict() if value is not None and hasattr(value, "to_dict") else None
            else:
                step.extra["apply_result"] = _apply_summary(value)
                step.extra["timeline"] = _timeline(timeline)
                if step.ok and value is not None and getattr(value, "ok", True) is False:
                    step.ok = False
                    failed = [r.to_dict() for r in getattr(value, "results", ()) if r.status != "done"][:5]
                    step.error = (
                        f"apply not ok: {value.summary()} remaining={list(value.remaining)[:10]} failed={failed}"
                    )[:3000]
            if name in self.opts.scenarios:
                before, after = self._tenant_models(name)
                results[name] = self.annotate(
                    step, state.get("plan_dict"), before, after, include_plan=not is_apply, is_apply=is_apply
                )
            if not step.ok:
                results.setdefault("errors", []).append(f"{name}: {step.error}")
                break
        return results

    def _tenant_models(self, name: str) -> tuple[BenchModel | None, BenchModel | None]:
        """The tenant's content before the step and after it (for read counts)."""
        if name in ("cold_plan", "cold_apply"):
            return None, (self.model if name == "cold_apply" else None)
        if name == "prune_apply":
            return self.model, self.pruned
        return self.model, self.model

    # --- whole-process (CLI) -------------------------------------------------------------------------
    def run_cli(self) -> dict[str, Any]:
        env = dict(os.environ)
        env.update(
            {
                "AIC_SERVICE_ACCOUNT_ID": str(self.emu.service_account["id"]),
                "AIC_SERVICE_ACCOUNT_JWK_FILE": jwk_file(self.emu),
                "NO_COLOR": "1",
            }
        )
        env.update(self.secret_values)
        env.pop("CI", None)
        env.pop("AIC_ACCESS_TOKEN", None)
        url, P = self.emu.url, str(self.opts.parallelism)
        results: dict[str, Any] = {}
        last = self.last_needed(SCENARIOS)
        if last < 0:
            return results
        self.fresh_tenant()
        d = str(self.dir)
        plan_cmd = ["plan", d, "--tenant", url, "--format", "json"]
        apply_cmd = ["apply", d, "--tenant", url, "--auto-approve", "--parallelism", P]
        prune = ["--prune", "--max-deletes", str(MAX_DELETES)]
        admin: list[AdminSession] = []

        def before_drift() -> None:
            admin.append(AdminSession(url, self.emu.service_account))
            results["drift_injected"] = inject_drift(admin[-1], self.model)

        def before_prune() -> None:
            write_stack(self.pruned, self.dir, secret_env=self.secret_env)

        steps = [
            ("load", ["validate", d], None),
            ("cold_plan", plan_cmd, None),
            ("cold_apply", apply_cmd, None),
            ("noop_plan", plan_cmd, None),
            ("noop_apply", apply_cmd, None),
            ("drift_plan", plan_cmd, before_drift),
            ("drift_apply", apply_cmd, None),
            ("prune_plan", plan_cmd + prune, before_prune),
            ("prune_apply", apply_cmd + prune, None),
        ]
        plan_dict: dict[str, Any] | None = None
        for name, args, prepare in steps[: last + 1]:
            if prepare:
                prepare()
            step, out = measure_cli(name, self.control, args, env)
            is_apply = name.endswith("_apply")
            if name == "load":
                if name in self.opts.scenarios:
                    results[name] = step.to_dict()
                if not step.ok:
                    results.setdefault("errors", []).append(f"{name}: {step.error}")
                    break
                continue
            if not is_apply:
                parsed = parse_json_output(out) if step.ok else None
                plan_dict = parsed if isinstance(parsed, dict) else None
            if name in self.opts.scenarios:
                before, after = self._tenant_models(name)
                results[name] = self.annotate(step, plan_dict, before, after, include_plan=True, is_apply=is_apply)
            if not step.ok:
                results.setdefault("errors", []).append(f"{name}: {step.error}")
                break
        return results

    # --- naive baseline -------------------------------------------------------------------------------
    def run_naive(self) -> dict[str, Any]:
        results: dict[str, Any] = {}
        wanted = [s for s in NAIVE_SCENARIOS if s in self.opts.scenarios]
        if not wanted:
            return results
        self.fresh_tenant()
        session = AdminSession(self.emu.url, self.emu.service_account)
        for name, fn in (("cold_apply", naive_apply), ("noop_plan", naive_read)):
            step, _ = measure_inprocess(name, self.control, lambda fn=fn: fn(session, self.model), trace_memory=False)
            results[name] = step.to_dict()
            if not step.ok:
                results.setdefault("errors", []).append(f"{name}: {step.error}")
                break
            if name == wanted[-1]:
                break
        return results

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _timeline(events: list[tuple[float, str]]) -> dict[str, Any]:
    """From apply's progress lines: per kind/action, how many changes, their mean duration, and the
    span from the first to the last one finishing (relative to the start of apply)."""
    if not events:
        return {}
    t0 = events[0][0]
    out: dict[str, Any] = {}
    for t, line in events[1:]:
        m = re.match(r"^\S+ (create|update|delete) (\S+) \S+ \(([0-9.]+)s\)", line)
        if not m:
            continue
        key = f"{m.group(2)}:{m.group(1)}"
        entry = out.setdefault(key, {"count": 0, "sum_s": 0.0, "first_done_s": t - t0, "last_done_s": 0.0})
        entry["count"] += 1
        entry["sum_s"] += float(m.group(3))
        entry["last_done_s"] = round(t - t0, 3)
    for entry in out.values():
        entry["mean_change_s"] = round(entry.pop("sum_s") / entry["count"], 4)
        entry["first_done_s"] = round(entry["first_done_s"], 3)
    return out


def _apply_summary(result: Any) -> Any:
    """A JSON-able summary of an ApplyResult (whatever shape core gives it)."""
    if result is None:
        return None
    if hasattr(result, "to_dict"):
        data = result.to_dict()
    elif hasattr(result, "__dict__"):
        data = {k: v for k, v in vars(result).items() if not k.startswith("_")}
    else:
        return repr(result)[:500]
    summary: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, (list, tuple)):
            summary[key] = len(value)
        elif isinstance(value, (int, float, str, bool)) or value is None:
            summary[key] = value
        elif isinstance(value, dict) and len(value) < 20:
            summary[key] = value
    return summary
