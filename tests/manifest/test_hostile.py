"""Hostile input is refused as located diagnostics, quickly, never with a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from provisioner.cli import main
from provisioner.manifest import Limits, load

APP = "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: %s}\nspec: {}\n"


def test_file_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(APP % "a" + "# " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    result = load([str(big)])
    assert [str(d) for d in result.diagnostics] == [
        f"{big}:1:1: manifest file is too large ({big.stat().st_size} bytes; the limit is 1048576)"
    ]


def test_total_document_cap_across_files(tmp_path: Path) -> None:
    for index in range(3):
        (tmp_path / f"{index}.yaml").write_text("---\n".join(APP % f"a{index}{n}" for n in range(2)), encoding="utf-8")
    result = load([str(tmp_path)], limits=Limits(max_documents=5))
    assert [d.message for d in result.diagnostics] == ["too many YAML documents (more than 5)"]
    assert str(result.diagnostics[0].location) == f"{tmp_path / '2.yaml'}:6:1"


def test_file_count_cap(tmp_path: Path) -> None:
    for index in range(4):
        (tmp_path / f"{index}.yaml").write_text(APP % f"a{index}", encoding="utf-8")
    result = load([str(tmp_path)], limits=Limits(max_files=3))
    assert [d.message for d in result.diagnostics] == ["too many manifest files (more than 3)"]


def test_billion_laughs_through_the_cli_is_rejected_in_well_under_a_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    levels = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
    (tmp_path / "bomb.yaml").write_text(
        "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: b}\nspec:\n"
        "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + levels,
        encoding="utf-8",
    )
    assert main(["validate", "--help"]) == 0  # the command is imported on first use: not what is timed here
    capsys.readouterr()
    start = time.process_time()  # CPU time: wall time on a loaded machine says nothing about the bound
    assert main(["validate", str(tmp_path / "bomb.yaml")]) == 1
    assert time.process_time() - start < 0.5
    assert "expands to more than 20000 nodes" in capsys.readouterr().out


def test_symlink_loops_and_odd_files_do_not_hang(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a.yaml").write_text(APP % "ok-app", encoding="utf-8")
    result = load([str(tmp_path)])
    assert result.ok and len(result.stack.resources) == 1


def test_a_directory_named_like_a_manifest_is_walked_not_read(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    result = load([str(tmp_path / "dir.yaml")])
    assert [d.message for d in result.diagnostics] == ["no manifest files (*.yaml, *.yml) in this directory"]


def test_env_file_problems_are_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(APP % "ok-app", encoding="utf-8")
    (tmp_path / "bin.env").write_bytes(b"A=\x00\n")
    result = load([str(tmp_path)], env_file=str(tmp_path / "bin.env"))
    assert [d.message for d in result.diagnostics] == ["env file is binary (contains NUL bytes)"]
    result = load([str(tmp_path)], env_file=str(tmp_path / "missing.env"))
    assert [d.message for d in result.diagnostics] == ["env file does not exist"]


def test_environment_names_cannot_escape(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(APP % "ok-app", encoding="utf-8")
    result = load([str(tmp_path)], env="../../etc/passwd")
    assert "invalid environment name" in result.diagnostics[0].message
