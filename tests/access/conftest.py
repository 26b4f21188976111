"""The access-map tests use the core fixtures: a real emulator on a loopback socket and the CLI in-process."""

from __future__ import annotations

from tests.core.conftest import cli, emulator_options, tenant  # noqa: F401
