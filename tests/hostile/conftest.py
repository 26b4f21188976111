"""Helpers for hostile-input tests: run the CLI in-process and bound its time.

Each case asserts the exit status, a located message (``file:line:col`` or the request), that no
traceback escaped, and that the run took well under :data:`LIMIT` seconds of CPU and :data:`WALL`
seconds of wall-clock time (generous: the machine may be busy; the failures these tests guard
against ran for 40 s, 121 s or forever).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: CPU-time bound for one hostile run (the bad behaviours took 40 s, 121 s, or never ended).
LIMIT = 2.0
#: Wall-clock bound (catches hangs, which use no CPU); loose because the machine may be shared.
WALL = 10.0

APP = "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: %s}\nspec:\n"


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    cpu: float = 0.0

    @property
    def text(self) -> str:
        return self.out + self.err

    def check(self, code: int, *needles: str, limit: float = LIMIT) -> Run:
        """Assert exit ``code``, each needle in the output, no traceback, and the time bound."""
        assert self.code == code, self.text
        for needle in needles:
            assert needle in self.text, f"{needle!r} not in:\n{self.text}"
        assert "Traceback" not in self.text and "Internal error" not in self.text, self.text
        assert self.cpu < limit, f"took {self.cpu:.2f}s of CPU"
        assert self.seconds < max(WALL, limit), f"took {self.seconds:.2f}s"
        return self


@pytest.fixture(scope="session", autouse=True)
def _warm_imports() -> None:
    """Import what validate uses once, so a case's time bound measures its input, not imports."""
    from provisioner.cli import main  # noqa: F401
    from provisioner.manifest import load, schema, templating  # noqa: F401


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """``cli(*args) -> Run``: the real CLI entry point, in-process."""
    from provisioner.cli import main

    def run(*args: str) -> Run:
        capsys.readouterr()
        start, cpu = time.perf_counter(), time.process_time()
        code = main(list(args))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err, seconds, cpu)

    return run


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """An empty stack directory (``stack/``) inside the test's temporary directory."""
    root = tmp_path / "stack"
    root.mkdir()
    return root


def app_with_secret(root: Path, reference: str, name: str = "app-one") -> Path:
    """``root/app.yaml``: an Application whose clientSecret is ``reference``; line 5 col 17 holds it."""
    path = root / "app.yaml"
    path.write_text(APP % name + f"  clientSecret: {reference}\n", encoding="utf-8")
    return path
