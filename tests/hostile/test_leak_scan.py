"""The suite-wide leak scan (tests/leakcheck.py, tests/conftest.py) finds encoded leaks.

A tiny test file that prints a secret JSON-escaped (and others: form-encoded, base64 in a Basic header)
is run by pytest in a subprocess with this suite's conftest as a plugin: the session must fail and name
each encoding; the same file without the leaks passes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import leakcheck

ROOT = Path(__file__).resolve().parents[2]

PLANTED = """
import base64, json
from urllib.parse import urlencode
from tests import leakcheck

SECRET = 'Pl4nted"Secret\\\\with/=+&-\\u00e9'


def test_json_escaped(capsys):
    leakcheck.add_secret(SECRET)
    print(json.dumps({{"userpassword": SECRET}}))
    capsys.readouterr()


def test_form_encoded(capsys):
    print(urlencode({{"client_secret": SECRET}}))
    capsys.readouterr()


def test_base64_in_basic_header(capsys):
    value = base64.b64encode(("agent:" + SECRET).encode()).decode()
    print("Authorization: Basic " + value)
    capsys.readouterr()


def test_clean(capsys):
    print("client_secret=(sensitive)", json.dumps({{"userpassword": "(sensitive)"}}))
    capsys.readouterr()
"""


def _run(tmp_path: Path, *pytest_args: str) -> subprocess.CompletedProcess[str]:
    """Run the planted file in a pytest subprocess with this suite's conftest (``pytest_args`` added)."""
    test_file = tmp_path / "test_planted_leak.py"
    test_file.write_text(PLANTED.format(), encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            *pytest_args,
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(tmp_path / "base"),
            str(test_file),
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_planted_json_escaped_leak_fails_the_session(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "4 passed" in result.stdout  # every test passed: the leak scan alone fails the session
    assert "SECRET LEAK CHECK FAILED: 3 leak(s)" in result.stdout, result.stdout
    for encoding, test in (
        ("JSON-escaped", "test_json_escaped"),
        ("form-encoded", "test_form_encoded"),
        ("base64", "test_base64_in_basic_header"),
    ):
        assert f"secret Pl4… ({encoding}) found in capsys:test_planted_leak.py::{test}" in result.stdout
    assert "test_clean" not in result.stdout  # the masked output of the clean test is no hit
    assert "Traceback" not in result.stdout + result.stderr


def test_encoded_forms_cover_json_url_and_base64() -> None:
    forms = leakcheck.encoded_forms('ab"c/d+e=f&g\\h i')
    assert set(forms.values()) == {"raw", "JSON-escaped", "form-encoded", "URL-encoded", "base64"}
    assert 'ab\\"c/d+e=f&g\\\\h i' in forms and "ab%22c%2Fd%2Be%3Df%26g%5Ch+i" in forms
