"""Smoke test for benchmarks/plan_apply.py: the generator and a tiny end-to-end run (structure only).

Timings are never asserted here; benchmarks live in benchmarks/, not in timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "plan_apply.py"
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib.generate import build_model, prune_victims, write_stack  # noqa: E402
from benchlib.ideal import ideal, plan_reads, work_from_plan  # noqa: E402


def test_generator_shape(tmp_path: Path) -> None:
    model = build_model(10)
    assert model.counts() == {"applications": 10, "agents": 10, "privileges": 20, "providers": 1, "objects": 41}
    files = write_stack(model, tmp_path)
    docs = [d for f in files for d in yaml.safe_load_all(f.read_text())]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Application") == 10 and kinds.count("AIAgent") == 10 and kinds.count("OAuth2Provider") == 1
    assert not any("clientSecret" in d["spec"] for d in docs)
    agent = next(d for d in docs if d["kind"] == "AIAgent")
    assert len(agent["spec"]["applications"]) == 2
    assert any(p["subjectGroups"] for d in docs if d["kind"] == "AIAgent" for p in d["spec"]["applications"])
    # every permission is a scope of the application it names
    scopes = {d["metadata"]["name"]: set(d["spec"]["scopes"]) for d in docs if d["kind"] == "Application"}
    for d in docs:
        for p in d["spec"].get("applications", []):
            assert set(p["permissions"]) <= scopes[p["application"]]
    users = {u["userName"] for u in model.seed_payload()["users"]}
    assert {d["spec"]["owners"][0]["userName"] for d in docs if d["kind"] == "Application"} <= users

    victims = prune_victims(model)
    assert len(victims) == 1
    write_stack(model.without_agents(victims), tmp_path)
    docs = [d for f in sorted(tmp_path.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if "kind" in d]
    assert sum(d["kind"] == "AIAgent" for d in docs) == 9


def test_default_secrets_are_distinct_and_generated(tmp_path: Path) -> None:
    from benchlib.scenarios import Options, SizeRun, secret_var

    model = build_model(5)
    files = write_stack(model, tmp_path, secret_env=secret_var)
    refs = [
        d["spec"]["clientSecret"]["fromEnv"]
        for f in files
        for d in yaml.safe_load_all(f.read_text())
        if d["kind"] != "OAuth2Provider"
    ]
    assert len(refs) == 10 and len(set(refs)) == 10
    from types import SimpleNamespace

    emulator = SimpleNamespace(url="http://127.0.0.1:9")  # not contacted: only the secrets are looked at
    run = SizeRun(5, emulator, tmp_path, Options(parallelism=8, latency_ms=0, scenarios=()))  # type: ignore[arg-type]
    assert run.opts.secrets == "distinct" and set(run.secret_values) == set(refs)
    assert len(set(run.secret_values.values())) == 10
    assert all(len(v) >= 32 for v in run.secret_values.values())


def test_generated_stack_loads(tmp_path: Path) -> None:
    manifest = pytest.importorskip("provisioner.manifest")
    if not hasattr(manifest, "load"):
        pytest.skip("manifest loader not available yet")
    write_stack(build_model(3), tmp_path)
    result = manifest.load([str(tmp_path)], environ={"BENCH_SECRET": "bench-secret-value-0123456789"})
    assert result.ok, [str(d) for d in result.errors]
    assert len(result.stack.resources) == 7


def test_ideal_counts_levels() -> None:
    plan = {
        "changes": [
            {"address": "p", "kind": "OAuth2Provider", "action": "update", "fields": [{"path": "spec.grantTypes"}]},
            {"address": "a", "kind": "Application", "action": "create"},
            {"address": "g", "kind": "AIAgent", "action": "create"},
            {"address": "x", "kind": "AgentPrivilege", "action": "create", "depends_on": ["a", "g"]},
            {"address": "y", "kind": "AgentPrivilege", "action": "no-op"},
        ]
    }
    work, shape = work_from_plan(plan)
    assert [(lv["am"], lv["idm"]) for lv in work.levels] == [(3, 0), (0, 1), (0, 1)]
    assert shape["dependency_depth"] == 2
    work.plan_reads, work.plan_read_rounds = plan_reads(0, 0, 0, parallelism=8)
    result = ideal(work, parallelism=2, latency_s=0.1, include_plan=False, is_apply=True)
    # token 1 + writes ceil(3/2) + 1 + 1 + re-read before the level with the provider update 1 + confirm 1
    assert result["total_rounds"] == 1 + 4 + 1 + 1
    assert result["ideal_s"] == pytest.approx(0.7)


def test_quick_run_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("provisioner.api")
    out = tmp_path / "quick.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    entry = results["sizes"]["3"]
    assert entry["counts"]["objects"] == 3 + 3 + 6 + 1
    for mode in ("inprocess", "cli"):
        steps = entry[mode]
        assert not steps.get("errors"), steps.get("errors")
        for name in (
            "cold_plan",
            "cold_apply",
            "noop_plan",
            "noop_apply",
            "drift_plan",
            "drift_apply",
            "prune_plan",
            "prune_apply",
        ):
            step = steps[name]
            assert step["ok"], (mode, name, step["error"])
            assert step["wall_s"] >= 0 and step["requests"]["total"] >= 0
            assert "ideal_s" in step["ideal"]
        writes = steps["noop_apply"]["requests"].get("config_writes", steps["noop_apply"]["requests"]["writes"])
        assert writes == 0
        assert steps["cold_apply"]["requests"]["writes"] > 0
        assert steps["prune_apply"]["requests"]["byMethod"].get("DELETE", 0) > 0
    naive = entry["naive"]
    assert not naive.get("errors"), naive.get("errors")
    assert naive["cold_apply"]["requests"]["writes"] > 0
    assert naive["noop_plan"]["requests"]["writes"] == 0
    assert {t["target"] for t in results["targets"]}
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
