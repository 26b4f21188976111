"""Read the example GitHub Actions workflow and run its provisioner steps the way a runner would.

The workflow's contract (stated at its top): every step that runs provisioner has an ``id`` and
exactly one line of its ``run:`` starts with ``provisioner ``. Here that line is expanded with the
job's environment (``$VAR`` / ``${VAR}``), a trailing ``> file`` becomes stdout redirection, and the
command runs as ``python -m provisioner ...`` in a subprocess so the exit code is the real one.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "provisioner.yml"

_SECRET = re.compile(r"^\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}$")
_MATRIX = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_]+)\s*\}\}$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def load(path: Path = WORKFLOW) -> dict[str, Any]:
    """The workflow as data; YAML 1.1 reads the key ``on`` as ``True``, so it is put back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


@dataclass(frozen=True)
class Step:
    """One provisioner step: its ``id``, the provisioner command line and the step's ``if:``."""

    job: str
    id: str
    line: str
    condition: str | None


def provisioner_steps(workflow: Mapping[str, Any], job: str) -> list[Step]:
    """The steps of ``job`` that run provisioner, in order."""
    steps = []
    for step in workflow["jobs"][job]["steps"]:
        lines = [ln.strip() for ln in str(step.get("run", "")).splitlines()]
        commands = [ln for ln in lines if ln.startswith("provisioner ")]
        if not commands:
            continue
        if len(commands) != 1 or "id" not in step:
            raise AssertionError(f"job {job}: a provisioner step needs an id and exactly one provisioner line: {step}")
        steps.append(Step(job, step["id"], commands[0], step.get("if")))
    return steps


def job_environment(
    workflow: Mapping[str, Any], job: str, *, matrix: Mapping[str, str], secrets: Mapping[str, str]
) -> dict[str, str]:
    """Workflow-level plus job-level ``env:``, with ``${{ secrets.X }}`` / ``${{ matrix.x }}`` filled.

    A secret the workflow names but ``secrets`` lacks is an error: the test must know every one.
    """
    out: dict[str, str] = {}
    for block in (workflow.get("env") or {}, workflow["jobs"][job].get("env") or {}):
        for name, value in block.items():
            text = str(value)
            if m := _SECRET.match(text):
                if m.group(1) not in secrets:
                    raise AssertionError(f"job {job} reads secret {m.group(1)} the test does not provide")
                text = secrets[m.group(1)]
            elif m := _MATRIX.match(text):
                text = matrix[m.group(1)]
            elif "${{" in text:
                raise AssertionError(f"job {job}: env {name} uses an expression the test cannot expand")
            out[str(name)] = text
    return out


def expand(line: str, env: Mapping[str, str]) -> str:
    """Shell-style ``$VAR`` / ``${VAR}`` expansion; an unset variable is an error (not an empty string)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise AssertionError(f"{line!r}: ${name} is not set in the job environment")
        return env[name]

    return _VAR.sub(value, line)


@dataclass(frozen=True)
class Result:
    step: Step
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"step {self.step.job}/{self.step.id}: {' '.join(self.argv)}\n"
            f"exit {self.returncode}\n--- stdout ---\n{self.stdout[-4000:]}\n"
            f"--- stderr ---\n{self.stderr[-4000:]}"
        )


def run(step: Step, env: Mapping[str, str], cwd: Path, timeout: float = 300) -> Result:
    """Run the step's provisioner line as ``python -m provisioner`` with exactly ``env``."""
    words = shlex.split(expand(step.line, env))
    assert words[0] == "provisioner", words
    stdout_file = None
    if ">" in words:
        at = words.index(">")
        if at != len(words) - 2:
            raise AssertionError(f"{step.line!r}: only a trailing '> file' is supported")
        stdout_file = cwd / words[at + 1]
        words = words[:at]
    argv = [sys.executable, "-m", "provisioner", *words[1:]]
    proc = subprocess.run(
        argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if stdout_file is not None:
        stdout_file.write_text(proc.stdout, encoding="utf-8")
    return Result(step, words, proc.returncode, proc.stdout, proc.stderr)


def base_environment() -> dict[str, str]:
    """What a fresh runner has before the job's ``env:``: a PATH, a HOME, ``CI=true``, and this checkout
    importable (the workflow's ``pip install .``)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**keep, "CI": "true", "GITHUB_ACTIONS": "true", "PYTHONPATH": pythonpath}


def artifact_paths(workflow: Mapping[str, Any], job: str) -> list[str]:
    """Every path an ``actions/upload-artifact`` step of ``job`` uploads (as written, relative)."""
    out = []
    for step in workflow["jobs"][job]["steps"]:
        if str(step.get("uses", "")).startswith("actions/upload-artifact"):
            text = str((step.get("with") or {}).get("path", ""))
            out += [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("!")]
    return out


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


def artifact_leaks(workflow: Mapping[str, Any], job: str, workdir: Path, secrets: list[str]) -> list[str]:
    """Files ``job`` would upload from ``workdir`` that contain a JWT or one of ``secrets``."""
    leaks = []
    for pattern in artifact_paths(workflow, job):
        for path in sorted(workdir.glob(pattern.rstrip("/") or ".")):
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for file in files:
                text = file.read_text(encoding="utf-8", errors="replace")
                if _JWT.search(text):
                    leaks.append(f"{file}: a token")
                leaks += [f"{file}: secret {value[:4]}…" for value in secrets if len(value) >= 8 and value in text]
    return leaks
