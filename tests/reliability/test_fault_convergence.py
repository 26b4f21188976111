"""Property: random stacks applied under random fault injection converge in a few runs.

Each example: a random stack (1-4 applications with random scopes, 1-4 agents with privileges over
some of them, permission subsets) is applied against the emulator while >= 20 % of the admin API
requests fail (500 / 503 / 429 with Retry-After / connection dropped before or after the write),
re-running apply until one succeeds. Then, faults off: plan is empty and there is exactly one AM
client/agent, one IDM record and one privilege per key. Phase two sets unmanaged fields by raw REST,
applies a changed version of the stack under faults the same way, and checks they survived.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fault_soak import AGENT_SCOPES, APP_SCOPES, AgentSpec, AppSpec, Grant, StackSpec, run_stack
from tests import leakcheck
from tests.core.conftest import Tenant

FAULT_RATE = 0.3
MAX_ATTEMPTS = 6
_counter = itertools.count()


@st.composite
def stacks(draw: Any) -> tuple[StackSpec, StackSpec]:
    """A stack and a changed version of it (same objects, new scopes/descriptions/permissions)."""

    def scopes(pool: tuple[str, ...], low: int) -> tuple[str, ...]:
        return tuple(sorted(draw(st.sets(st.sampled_from(pool), min_size=low, max_size=4))))

    app_count = draw(st.integers(1, 4))
    agent_count = draw(st.integers(1, 4))
    grants_of = [sorted(draw(st.sets(st.integers(0, app_count - 1), min_size=1))) for _ in range(agent_count)]
    out = []
    for phase in range(2):
        apps = tuple(
            AppSpec(f"soak-app-{i}", scopes(APP_SCOPES, 1), f"app {i} phase {phase}") for i in range(app_count)
        )
        agents = tuple(
            AgentSpec(
                f"soak-agent-{j}",
                scopes(AGENT_SCOPES, 1),
                f"agent {j} phase {phase}",
                tuple(
                    Grant(apps[i].name, tuple(sorted(draw(st.sets(st.sampled_from(apps[i].scopes))))))
                    for i in grants_of[j]
                ),
            )
            for j in range(agent_count)
        )
        out.append(StackSpec(apps, agents))
    return out[0], out[1]


def _check(
    tenant: Tenant, tmp_path: Path, capsys: Any, spec: StackSpec, changed: StackSpec, seed: int
) -> dict[str, Any]:
    run = next(_counter)
    secrets = {name: f"rel-{run:04d}-{n:02d}-secret-value" for n, name in enumerate(spec.secret_names())}
    leakcheck.add_secret(*secrets.values())
    environ = {**os.environ, **secrets}
    workdir = tmp_path / f"example-{run}"
    outcome = run_stack(
        tenant.url,
        workdir,
        spec,
        changed,
        environ,
        fault_rate=FAULT_RATE,
        seed=seed,
        max_attempts=MAX_ATTEMPTS,
        progress=print,
        journal_dir=str(workdir / "journal"),
    )
    capsys.readouterr()  # recorded for the suite-wide secret-leak check
    assert not outcome.problems, "\n".join(outcome.problems + outcome.errors)
    assert all(a <= MAX_ATTEMPTS for a in outcome.attempts), outcome.errors
    return {"faults": sum(outcome.faults.values()), "requests": outcome.requests, "kinds": outcome.faults}


def _run_property(tenant: Tenant, tmp_path: Path, capsys: Any, examples: int) -> None:
    totals = {"faults": 0, "requests": 0, "kinds": set()}

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(pair=stacks(), seed=st.integers(0, 10**6))
    def prop(pair: tuple[StackSpec, StackSpec], seed: int) -> None:
        seen = _check(tenant, tmp_path, capsys, pair[0], pair[1], seed)
        totals["faults"] += seen["faults"]
        totals["requests"] += seen["requests"]
        totals["kinds"] |= {k for k, v in seen["kinds"].items() if v}

    prop()
    # The faults really were there: >= 20 % of the admin API requests, every kind of fault seen.
    assert totals["faults"] >= 0.2 * totals["requests"], totals
    assert totals["kinds"] == {"500", "503", "429", "drop-before", "drop-after"}, totals


def test_random_stacks_converge_under_faults(tenant: Tenant, tmp_path: Path, capsys: Any) -> None:
    _run_property(tenant, tmp_path, capsys, examples=8)


@pytest.mark.slow
def test_random_stacks_converge_under_faults_many(tenant: Tenant, tmp_path: Path, capsys: Any) -> None:
    _run_property(tenant, tmp_path, capsys, examples=60)
