"""Suite-wide fixtures: a clean environment for every test, and the secret-leak check.

Tests must not depend on the machine's environment (CI runs with ``CI=true`` and no terminal), so
every variable the tool reads is cleared before each test; tests set what they need.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests import leakcheck

ROOT = Path(__file__).resolve().parent.parent

_TOOL_VARIABLES = (
    "CI",
    "GITHUB_ACTIONS",
    "NO_COLOR",
    "AIC_TENANT_URL",
    "AIC_SERVICE_ACCOUNT_ID",
    "AIC_SERVICE_ACCOUNT_JWK",
    "AIC_SERVICE_ACCOUNT_JWK_FILE",
    "AIC_ACCESS_TOKEN",
    "AIC_CA_BUNDLE",
    "FRODO_HOST",
    "FRODO_SA_ID",
    "FRODO_SA_JWK",
    # pytest-xdist workers inherit COLUMNS/LINES; the verify table fits them, so tests start without
    "COLUMNS",
    "LINES",
)


def _demo_env_names() -> set[str]:
    names = set()
    for env_file in ROOT.glob("manifests/**/*.env"):
        for line in env_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                names.add(line.split("=", 1)[0].removeprefix("export ").strip())
    return names


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_TOOL_VARIABLES, *_demo_env_names()):
        monkeypatch.delenv(name, raising=False)
    # The manifest cache writes .provisioner/cache in the working directory: off, so that a test's
    # result never depends on what an earlier test left (tests/manifest/test_cache.py turns it on).
    monkeypatch.setenv("PROVISIONER_CACHE", "off")


# --- leak check: record every output -------------------------------------------------------------


class _RecordingCapture:
    def __init__(self, inner, origin: str) -> None:
        self._inner = inner
        self._origin = origin

    def readouterr(self):
        result = self._inner.readouterr()
        leakcheck.record(self._origin, result.out)
        leakcheck.record(self._origin, result.err)
        return result

    def __getattr__(self, name):
        return getattr(self._inner, name)


@pytest.fixture
def capsys(capsys, request):  # noqa: F811 - wraps pytest's own fixture
    return _RecordingCapture(capsys, f"capsys:{request.node.nodeid}")


@pytest.fixture
def capfd(capfd, request):  # noqa: F811 - wraps pytest's own fixture
    return _RecordingCapture(capfd, f"capfd:{request.node.nodeid}")


_original_run = subprocess.run
_basetemp: list[Path] = []


def _recording_run(*args, **kwargs):
    result = _original_run(*args, **kwargs)
    leakcheck.record(f"subprocess:{args[0] if args else kwargs.get('args')}", result.stdout)
    leakcheck.record(f"subprocess:{args[0] if args else kwargs.get('args')}", result.stderr)
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tenant-url",
        default=None,
        metavar="URL",
        help="run the `contract` tests against this real tenant instead of the emulator (service-account "
        "credentials from AIC_SERVICE_ACCOUNT_ID + AIC_SERVICE_ACCOUNT_JWK_FILE/_JWK, or AIC_ACCESS_TOKEN)",
    )
    parser.addoption(
        "--har",
        action="append",
        default=[],
        metavar="FILE.har",
        help="also replay this HAR file (for example one written by --record against a real tenant) in "
        "tests/emulator/test_replay.py; repeatable",
    )


# The credentials of `--tenant-url`, read once before _clean_environment clears them for each test.
CONTRACT_ENVIRON: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    import os

    CONTRACT_ENVIRON.update({k: v for k, v in os.environ.items() if k in _TOOL_VARIABLES})
    subprocess.run = _recording_run  # type: ignore[assignment]
    try:
        from click.testing import CliRunner
    except ImportError:  # pragma: no cover
        return
    original_invoke = CliRunner.invoke

    def invoke(self, *args, **kwargs):
        result = original_invoke(self, *args, **kwargs)
        leakcheck.record("clirunner", result.output)
        try:
            leakcheck.record("clirunner", result.stderr)
        except ValueError:
            pass
        if result.exception is not None:
            leakcheck.record("clirunner-exception", repr(result.exception))
        return result

    CliRunner.invoke = invoke  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    subprocess.run = _original_run  # type: ignore[assignment]


@pytest.fixture(autouse=True, scope="session")
def _remember_basetemp(tmp_path_factory: pytest.TempPathFactory) -> None:
    _basetemp.append(tmp_path_factory.getbasetemp())


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    leakcheck.record(f"report:{report.nodeid}", report.capstdout)
    leakcheck.record(f"report:{report.nodeid}", report.capstderr)
    if report.failed:
        leakcheck.record(f"report:{report.nodeid}", report.longreprtext)


# Under pytest-xdist every worker records only what its own tests printed and wrote, and knows only
# the secrets its own tests used. So each worker leaves both in a file for the controller, which scans
# the union: a secret registered on one worker is still looked for in every other worker's output,
# and a worker that ends without leaving its file fails the check instead of being skipped silently.
_workers: list[str] = []
_leak_dirs: list[Path] = []


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    if not _leak_dirs:
        _leak_dirs.append(Path(tempfile.mkdtemp(prefix="provisioner-leakcheck-")))
    _workers.append(node.gateway.id)
    node.workerinput["leakcheck_dir"] = str(_leak_dirs[0])


def _collected() -> tuple[list[tuple[str, str]], set[str]]:
    from provisioner import redact

    secrets = leakcheck.secrets() | leakcheck.demo_env_secrets(ROOT) | redact.registered()
    records = leakcheck.records()
    for base in _basetemp:
        records.extend(leakcheck.tool_files(base))
    records.extend(leakcheck.tool_files(ROOT / ".provisioner" / "journal"))
    return records, secrets


def _from_workers(records: list[tuple[str, str]], secrets: set[str]) -> list[str]:
    """Add every worker's records and secrets; return the workers that left none."""
    missing = []
    for worker in _workers:
        path = _leak_dirs[0] / f"{worker}.json"
        try:
            seen = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            missing.append(worker)
            continue
        records.extend((origin, text) for origin, text in seen["records"])
        secrets.update(seen["secrets"])
    shutil.rmtree(_leak_dirs[0], ignore_errors=True)
    return missing


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    records, secrets = _collected()
    workerinput = getattr(session.config, "workerinput", None)
    if workerinput is not None:
        path = Path(workerinput["leakcheck_dir"]) / f"{workerinput['workerid']}.json"
        path.write_text(json.dumps({"records": records, "secrets": sorted(secrets)}), encoding="utf-8")
        return
    missing = _from_workers(records, secrets) if _workers else []
    hits = leakcheck.scan(records, secrets)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if hits or missing:
        if reporter is not None:
            if missing:
                reporter.write_line(
                    f"SECRET LEAK CHECK FAILED: no outputs from worker(s) {', '.join(missing)}", red=True
                )
            if hits:
                reporter.write_line(f"SECRET LEAK CHECK FAILED: {len(hits)} leak(s)", red=True)
            for origin, masked in hits[:50]:
                reporter.write_line(f"  secret {masked} found in {origin}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.write_line(
            f"secret leak check: {len(records)} outputs and files scanned for "
            f"{len([s for s in secrets if len(s) >= leakcheck.MIN_SECRET_LEN])} secret values, no leak"
            + (f" (from {len(_workers)} workers)" if _workers else "")
        )
