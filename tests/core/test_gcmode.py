"""The cyclic collector in a CLI run (provisioner.gcmode): off while a run builds its large, acyclic
structures; on for the objects apply's writes make; as it was for code that uses the package as a
library."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from provisioner import gcmode
from provisioner.client.transport import Transport
from tests.core.conftest import Tenant, bot_args


@pytest.fixture
def collector_off() -> Iterator[None]:
    was = gc.isenabled()
    thresholds = gc.get_threshold()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if was:
            gc.enable()


def test_collecting_turns_the_collector_on_for_new_objects_only(collector_off: None) -> None:
    before = gc.get_freeze_count()
    with gcmode.collecting():
        assert gc.isenabled() and gc.get_threshold() == gcmode.THRESHOLDS
        assert gc.get_freeze_count() > before  # what existed is left out of its scans
    assert not gc.isenabled()


def test_collecting_leaves_a_library_callers_collector_alone() -> None:
    assert gc.isenabled()
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    with gcmode.collecting():
        assert gc.isenabled() and gc.get_threshold() == thresholds
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_apply_writes_with_the_collector_on_and_plans_without(
    collector_off: None, tenant: Tenant, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, bool]] = []
    send = Transport.send

    def observed(self: Transport, method: str, target: str, **kwargs: Any) -> Any:
        seen.append((method, target, gc.isenabled()))
        return send(self, method, target, **kwargs)

    monkeypatch.setattr(Transport, "send", observed)
    code, out, err = cli("apply", *bot_args(tenant), "--auto-approve")
    assert code == 0, out + err
    writes = [on for method, target, on in seen if method != "GET" and "/oauth2/" not in target]
    assert len(writes) >= 4 and all(writes)  # every configuration write, with the collector on
    assert seen[0][2] is False and seen[-1][0] == "GET" and seen[-1][2] is False  # plan, confirmation: off
    assert not gc.isenabled()  # off again once the writes are done


def test_the_emulator_server_collects_for_good(collector_off: None) -> None:
    gcmode.on_for_good()
    assert gc.isenabled() and gc.get_threshold() == (700, 10, 10)
