"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from provisioner import redact


@pytest.fixture
def private_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty redaction registry for this test only (random values must not join the session's leak
    scan)."""
    for name, empty in (("_values", set()), ("_forms", set()), ("_windows", {}), ("_short", set()), ("_pending", [])):
        monkeypatch.setattr(redact, name, empty)
    for name, value in (("_loose", ()), ("_loose_forms", 0), ("_loose_spent", 0)):
        monkeypatch.setattr(redact, name, value)
    monkeypatch.setattr(redact, "_flags", {"short_escapable": False, "crosses_json": False})
