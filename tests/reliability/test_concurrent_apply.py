"""Two applies of conflicting manifests at once: at most one wins, a loser stops with a named conflict.

Both runs use the same stack name and declare the same application and agent; one gives the agent
scopes A (and permissions A on the application), the other scopes B. The emulator answers every
request after 150 ms so the two runs overlap (a barrier starts them together).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from fault_soak import AgentSpec, AppSpec, Grant, StackSpec, check_tenant, write_stack
from provisioner import api
from tests import leakcheck
from tests.core.conftest import Tenant

APP_SPEC = AppSpec("race-app", ("read", "search", "write"), "the contested API")
SECRETS = {"SOAK_RACE_APP_SECRET": "race-app-secret-value", "SOAK_RACE_AGENT_SECRET": "race-agent-secret-value"}


def stack(agent_scopes: tuple[str, ...], permissions: tuple[str, ...], description: str) -> StackSpec:
    agent = AgentSpec("race-agent", agent_scopes, description, (Grant(APP_SPEC.name, permissions),))
    return StackSpec((APP_SPEC,), (agent,))


BASE = stack(("monitor",), ("read",), "contested")
SIDE_A = stack(("act", "monitor"), ("read", "search"), "contested")
SIDE_B = stack(("plan", "report"), ("write",), "contested")


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"latency_ms": 150}


def _race(tenant: Tenant, tmp_path: Path, capsys: Any) -> tuple[dict[str, Any], dict[str, Path]]:
    leakcheck.add_secret(*SECRETS.values())
    environ = {**os.environ, **SECRETS}
    paths = {"A": write_stack(SIDE_A, tmp_path / "a"), "B": write_stack(SIDE_B, tmp_path / "b")}
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(side: str) -> None:
        try:
            with api.tenant(tenant.url, environ=environ) as opened:
                barrier.wait(timeout=30)
                results[side] = api.apply(
                    [str(paths[side])], opened, environ=environ, progress=lambda line: print(f"[{side}] {line}")
                )
        except Exception as exc:  # reported by the assertions below
            results[side] = exc

    threads = [threading.Thread(target=run, args=(side,)) for side in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for side in ("A", "B"):
        result = results[side]
        print(f"[{side}] {result if isinstance(result, Exception) else result.summary()}")
        if not isinstance(result, Exception):
            for item in result.by_status("failed"):
                print(f"[{side}] failed: {item.address}: {item.error}")
    capsys.readouterr()  # recorded for the secret-leak check
    return results, paths


def _no_silent_loss(results: dict[str, Any]) -> str | None:
    """At most one run completed; a run that did not says so: either it failed only with conflicts, each
    naming its object, and started no new level after its conflict, or every write landed and its check
    after apply names what the other run overwrote (AM does not enforce If-Match, so a write that lands
    between the other run's write and its re-read is only seen there). Both runs may lose when their
    requests interleave that way, which a loaded machine makes likely. Never may both believe they won."""
    assert not any(isinstance(r, Exception) for r in results.values()), results
    winners = [side for side, r in results.items() if r.ok]
    assert len(winners) <= 1, {side: r.to_dict() for side, r in results.items()}
    for loser in (r for r in results.values() if not r.ok):
        failed = loser.by_status("failed")
        if not failed:
            assert loser.remaining, loser.to_dict()
            continue
        for item in failed:
            assert item.error.startswith("conflict: ") and item.address in item.error, loser.to_dict()
        assert all(r.status == "not attempted" for r in loser.results[loser.results.index(failed[-1]) + 1 :])
    return winners[0] if winners else None


@pytest.mark.parametrize("round_", [1, 2])
def test_concurrent_updates_one_wins_other_reports_conflict(
    tenant: Tenant, tmp_path: Path, capsys: Any, round_: int
) -> None:
    environ = {**os.environ, **SECRETS}
    base = write_stack(BASE, tmp_path / "base")
    with api.tenant(tenant.url, environ=environ) as opened:
        assert api.apply([str(base)], opened, environ=environ).ok
    results, paths = _race(tenant, tmp_path, capsys)
    winner = _no_silent_loss(results)
    if winner is None:  # both stopped on conflicts: running one of them again converges to it
        winner = "A"
        with api.tenant(tenant.url, environ=environ) as opened:
            assert api.apply([str(paths[winner])], opened, environ=environ).ok
    spec = SIDE_A if winner == "A" else SIDE_B
    # The tenant holds the winner's manifest exactly: no change left, one object per key.
    assert check_tenant(tenant.url, environ, [str(paths[winner])], spec, unmanaged=False) == []


def test_concurrent_creates_never_duplicate_and_every_loss_is_a_named_conflict(
    tenant: Tenant, tmp_path: Path, capsys: Any
) -> None:
    """Creating the same objects from two runs at once: several objects are contested in parallel, so
    each run may win some of them; whatever a run loses is a named conflict (never an overwrite, never
    a duplicate), and re-running either side converges to it exactly."""
    environ = {**os.environ, **SECRETS}
    results, paths = _race(tenant, tmp_path, capsys)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    assert sum(1 for r in results.values() if r.ok) <= 1
    for side, result in results.items():
        for item in result.by_status("failed"):
            assert item.error.startswith("conflict: ") and item.address in item.error, (side, result.to_dict())
    loser = next((side for side, r in results.items() if not r.ok), "B")
    rerun = api.tenant(tenant.url, environ=environ)
    with rerun as opened:
        assert api.apply([str(paths[loser])], opened, environ=environ).ok
    spec = SIDE_A if loser == "A" else SIDE_B
    assert check_tenant(tenant.url, environ, [str(paths[loser])], spec, unmanaged=False) == []
