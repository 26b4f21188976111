"""The leak scan in the configuration `.ci/run` and the README use: pytest-xdist workers.

Each worker knows only the secrets its own tests registered and the outputs its own tests made; the
controller must scan the union, so a secret registered on one worker and printed on another is found,
and a planted leak fails the session exactly as it does without workers.
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.test_leak_scan import _run


def test_a_planted_leak_fails_the_session_under_xdist_workers(tmp_path: Path) -> None:
    result = _run(tmp_path, "-n", "2", "--dist", "load")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "4 passed" in out  # every test passed: the leak scan alone fails the session
    assert "SECRET LEAK CHECK FAILED: 3 leak(s)" in out, out
    for encoding, test in (
        ("JSON-escaped", "test_json_escaped"),
        ("form-encoded", "test_form_encoded"),
        ("base64", "test_base64_in_basic_header"),
    ):
        assert f"({encoding}) found in" in out and test in out, out
