"""Fixtures for the plan-tells-the-truth suite: the core fixtures (a real emulator on a loopback
socket, the in-process CLI) plus a copy of the example stacks in the test's own folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.core.conftest import BOT, DEMO_ENV, ROOT, Tenant, cli, emulator_options, tenant  # noqa: F401

__all__ = ["BOT", "DEMO_ENV", "ROOT", "Tenant", "copy_stack", "faults"]


def faults(emulated: Tenant, *rules: dict[str, Any]) -> None:
    """Install emulator fault rules (``/_emulator/faults``); no rules clears them."""
    if rules:
        response = requests.put(emulated.url + "/_emulator/faults", json=list(rules), timeout=10)
    else:
        response = requests.delete(emulated.url + "/_emulator/faults", timeout=10)
    assert response.status_code < 300, response.text


def copy_stack(source: Path, dest: Path) -> Path:
    """A copy of an example stack (manifests, environments, demo.env) to edit in a test."""
    shutil.copytree(source, dest)
    return dest


@pytest.fixture
def bot_copy(tmp_path: Path) -> Path:
    return copy_stack(BOT, tmp_path / "stacks" / "bot")
