"""Reliability fixtures: the core suite's emulator, credentials and in-process CLI, plus shared helpers."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.core.conftest import cli, emulator_options, tenant  # noqa: F401 - fixtures re-exported

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
