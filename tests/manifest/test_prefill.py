"""Cold loads of many files: a forked child fills the manifest cache for the later files while the
load reads the earlier ones (provisioner.manifest.prefill). Whatever the child does, the load gives
exactly what a one-process load gives."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from provisioner import runmode
from provisioner.manifest import cache, load, loader, prefill

FILES = 8
APPS_PER_FILE = 5


def _stack(root: Path, broken: int | None = None) -> Path:
    stack = root / "stack"
    stack.mkdir()
    (stack / "provisioner.yaml").write_text("stack: prefill-test\n", encoding="utf-8")
    for number in range(FILES):
        docs = []
        for app in range(APPS_PER_FILE):
            name = f"app-{number:02d}-{app}"
            docs.append(
                "apiVersion: provisioner/v1\nkind: Application\n"
                f"metadata:\n  name: {name}\n  realm: alpha\n"
                f"spec:\n  displayName: App {name}\n  template: service\n  scopes: [{name}-read]\n"
                "  clientSecret: {fromEnv: PREFILL_SECRET}\n"
            )
        if number == broken:
            docs.append("apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: bad}\nspec: {scopes: 7}\n")
        (stack / f"apps-{number:02d}.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return stack


@pytest.fixture
def environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(cache, "_disabled", False)
    monkeypatch.setattr(prefill, "_single_threaded", lambda: True)  # a test runner may have threads of its own
    monkeypatch.setattr(runmode, "CLI", True)  # as `provisioner` sets it; library callers are never forked
    return {"PREFILL_SECRET": "prefill-secret-x7Qp2", "XDG_CACHE_HOME": str(tmp_path / "uc"), "HOME": str(tmp_path)}


def _parsed_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files this process parses (a forked child's parses stay in the child)."""
    seen: list[str] = []
    parse = loader._Loader.parse_manifest
    me = os.getpid()

    def counted(self: Any, file: str, text: str, rendered: str) -> Any:
        if os.getpid() == me:
            seen.append(os.path.basename(file))
        return parse(self, file, text, rendered)

    monkeypatch.setattr(loader._Loader, "parse_manifest", counted)
    return seen


def _outcome(result: Any) -> tuple[Any, list[str]]:
    assert result.stack is not None
    return result.stack.resources, [str(d) for d in result.diagnostics]


def _one_process(stack: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    with monkeypatch.context() as m:
        m.setattr(cache, "_disabled", True)
        return _outcome(load([str(stack)], environ=environ))


def test_a_cold_load_parses_only_its_half_and_gives_the_same_stack(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = _stack(tmp_path)
    expected = _one_process(stack, environ, monkeypatch)
    parsed = _parsed_here(monkeypatch)
    assert _outcome(load([str(stack)], environ=environ)) == expected
    assert parsed and len(parsed) < FILES  # the later files came from the child, through the cache
    assert parsed == [f"apps-{n:02d}.yaml" for n in range(len(parsed))]
    parsed.clear()
    assert _outcome(load([str(stack)], environ=environ)) == expected  # warm: no parse, no fork
    assert parsed == []


def test_a_file_with_errors_is_reported_as_a_one_process_load_reports_it(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = _stack(tmp_path, broken=FILES - 1)  # in the child's half: not cached there, loaded here
    resources, diagnostics = _one_process(stack, environ, monkeypatch)
    assert any("apps-07.yaml" in d for d in diagnostics)
    parsed = _parsed_here(monkeypatch)
    assert _outcome(load([str(stack)], environ=environ)) == (resources, diagnostics)
    assert "apps-07.yaml" in parsed and len(parsed) < FILES


def test_a_child_that_fails_costs_only_time(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = _stack(tmp_path)
    expected = _one_process(stack, environ, monkeypatch)
    load_file = loader._Loader.load_file
    me = os.getpid()

    def failing_in_the_child(self: Any, *args: Any) -> Any:
        if os.getpid() != me:
            raise RuntimeError("the child fails")
        return load_file(self, *args)

    monkeypatch.setattr(loader._Loader, "load_file", failing_in_the_child)
    parsed = _parsed_here(monkeypatch)
    assert _outcome(load([str(stack)], environ=environ)) == expected
    assert len(parsed) == FILES  # every file parsed here


def test_no_child_without_the_cache_or_with_few_files(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    forks: list[int] = []
    monkeypatch.setattr(prefill.os, "fork", lambda: forks.append(1) or pytest.fail("forked"))
    stack = _stack(tmp_path)
    monkeypatch.setattr(cache, "_disabled", True)
    load([str(stack)], environ=environ)
    monkeypatch.setattr(cache, "_disabled", False)
    for extra in sorted(stack.glob("apps-*.yaml"))[prefill.MIN_FILES - 1 :]:
        extra.unlink()
    load([str(stack)], environ=environ)
    assert forks == []


def test_a_library_caller_is_never_forked(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runmode, "CLI", False)
    monkeypatch.setattr(prefill.os, "fork", lambda: pytest.fail("forked"))
    parsed = _parsed_here(monkeypatch)
    load([str(_stack(tmp_path))], environ=environ)
    assert len(parsed) == FILES
