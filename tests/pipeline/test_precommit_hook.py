"""The ``provisioner-validate`` pre-commit hook, run the way pre-commit runs it.

The command is built from the hook definition (``entry`` + ``args`` + the staged file names when
``pass_filenames``), with ``provisioner`` run as ``python -m provisioner`` so exit codes are real, in a
temporary copy of the repository's manifests, as pre-commit does from the repository root.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.pipeline.workflow import ROOT, base_environment

HOOKS = ROOT / ".pre-commit-hooks.yaml"


@pytest.fixture(scope="module")
def hook() -> dict:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    [hook] = [h for h in hooks if h["id"] == "provisioner-validate"]
    return hook


def staged_manifests(repo: Path, hook: dict) -> list[str]:
    """The repository-relative files pre-commit would select with the hook's ``files`` regex."""
    import re

    pattern = re.compile(hook["files"])
    names = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
    return [name for name in names if pattern.search(name)]


def run_hook(hook: dict, repo: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(hook["entry"]) + list(hook.get("args", []))
    if hook.get("pass_filenames", True):
        words += staged_manifests(repo, hook)
    assert words[0] == "provisioner"
    return subprocess.run(
        [sys.executable, "-m", "provisioner", *words[1:]],
        cwd=repo,
        env=base_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    return tmp_path


def test_hook_definition(hook: dict) -> None:
    assert hook["entry"] == "provisioner validate --skip-secrets --each-stack"
    assert hook["language"] == "python"
    # Whole stacks, not single files: cross-file references (see test_single_file_would_dangle).
    assert hook["pass_filenames"] is False and hook["args"] == ["manifests"]
    import re

    pattern = re.compile(hook["files"])
    assert pattern.search("manifests/bot-traffic-analyzer/agent.yaml")
    assert pattern.search("manifests/bot-traffic-analyzer/environments/dev.yml")
    assert not pattern.search("docs/pipelines.md") and not pattern.search(".github/workflows/ci.yaml")


def documented_config() -> list[dict]:
    """The ``.pre-commit-config.yaml`` example in docs/pipelines.md (the block after its marker)."""
    text = (ROOT / "docs" / "pipelines.md").read_text(encoding="utf-8")
    after = text.split("<!-- pre-commit-config:", 1)[1]
    block = after.split("```yaml\n", 1)[1].split("```", 1)[0]
    [repo] = yaml.safe_load(block)["repos"]
    return repo["hooks"]


def test_documented_config_passes_on_the_example_stacks(hook: dict, repo: Path) -> None:
    """The documented configuration is the hook's defaults, on this repository's own layout."""
    entries = documented_config()
    assert entries == [{"id": hook["id"]}]
    proc = run_hook({**hook, **entries[0]}, repo)
    # No false alarm from mixing stacks or missing variables...
    assert "duplicate OAuth2Provider" not in proc.stdout and "undefined template variable" not in proc.stdout
    stacks = sorted(p.name for p in (repo / "manifests").iterdir() if p.is_dir())
    for stack in stacks:  # ...every stack, with every environment it has...
        for env in sorted(p.stem for p in (repo / "manifests" / stack / "environments").glob("*.yaml")):
            verdict = f"manifests{os.sep}{stack} (--env {env}): 3 resources in 3 files: "
            assert verdict in proc.stdout, proc.stdout
            # ...and the one real finding: digital-assistant's prod policy forbids the password grant its web
            # application uses (the example demonstrates policies, tests/manifest/test_policy.py).
            invalid = (stack, env) == ("digital-assistant", "prod")
            assert (verdict + "invalid") in proc.stdout if invalid else (verdict + "valid") in proc.stdout
    assert proc.returncode == 1
    errors = [
        ln
        for ln in proc.stdout.splitlines()
        if ln.startswith("manifests") and ": warning: " not in ln and " (--env " not in ln
    ]
    assert errors and all("policy 'forbidGrantTypes' of environment 'prod'" in ln for ln in errors), errors


def test_default_args_pass_on_a_single_stack_repository(hook: dict, tmp_path: Path) -> None:
    """The hook's own default (``args: [manifests]``): one stack directly in manifests/."""
    shutil.copytree(ROOT / "manifests" / "bot-traffic-analyzer", tmp_path / "manifests")
    assert staged_manifests(tmp_path, hook)
    proc = run_hook(hook, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_without_each_stack_the_stacks_would_mix(hook: dict, repo: Path) -> None:
    """Why the hook splits stacks: manifests/ as a whole is not one stack."""
    proc = run_hook({**hook, "entry": hook["entry"].replace(" --each-stack", "")}, repo)
    assert proc.returncode == 1 and "duplicate OAuth2Provider for realm 'alpha'" in proc.stdout, proc.stdout


def test_default_args_catch_a_problem_in_one_environment_of_one_stack(hook: dict, repo: Path) -> None:
    prod = repo / "manifests" / "digital-assistant" / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("webAppOrigin:", "webAppOrign:"))
    proc = run_hook(hook, repo)
    assert proc.returncode == 1
    assert "undefined template variable 'webAppOrigin'" in proc.stdout
    assert f"manifests{os.sep}digital-assistant (--env prod): 3 resources" not in proc.stdout  # it is invalid
    assert f"manifests{os.sep}digital-assistant (--env dev): 3 resources in 3 files: valid" in proc.stdout


def test_hook_fails_on_a_broken_manifest_with_its_location(hook: dict, tmp_path: Path) -> None:
    repo = tmp_path
    shutil.copytree(ROOT / "manifests" / "bot-traffic-analyzer", repo / "manifests")
    broken = repo / "manifests" / "zz-broken.yaml"
    broken.write_text(
        "apiVersion: provisioner/v1\n"
        "kind: Application\n"
        "metadata: {name: broken-app, realm: alpha}\n"
        "spec:\n"
        "  displayName: Broken\n"
        "  tokenEndpointAuthMethod: magic\n",
        encoding="utf-8",
    )
    proc = run_hook(hook, repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    location = f"manifests{os.sep}zz-broken.yaml:6:28: spec.tokenEndpointAuthMethod: 'magic' is not allowed"
    assert location in proc.stdout, proc.stdout + proc.stderr


def test_single_file_would_dangle(repo: Path) -> None:
    """Why ``pass_filenames: false``: an agent's file alone does not declare the application it uses."""
    agent_files = [
        p
        for p in sorted((repo / "manifests").rglob("*.y*ml"))
        if "environments" not in p.parts
        and "kind: AIAgent" in p.read_text(encoding="utf-8")
        and "kind: Application" not in p.read_text(encoding="utf-8")
    ]
    if not agent_files:
        pytest.skip("no example stack keeps its agent and application in separate files")
    proc = subprocess.run(
        [sys.executable, "-m", "provisioner", "validate", "--skip-secrets", str(agent_files[0].relative_to(repo))],
        cwd=repo,
        env=base_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1 and "is not declared in these manifests" in proc.stdout, proc.stdout


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """The real thing: ``pre-commit try-repo`` installs this repository and runs the hook (slow: it
    builds a virtualenv and pip-installs provisioner)."""
    pre_commit = shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    source = tmp_path / "provisioner-src"
    # try-repo needs a git repository; a copy of the working tree keeps the real checkout untouched.
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", ".provisioner", "__pycache__", "*.egg-info", ".pytest_cache", "build"),
    )
    project = tmp_path / "infra"  # a single-stack repository: the hook's default args fit
    shutil.copytree(ROOT / "manifests" / "bot-traffic-analyzer", project / "manifests")
    env = {
        **base_environment(),
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    env.pop("PYTHONPATH", None)
    for folder in (source, project):
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
            subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [pre_commit, "try-repo", str(source), "provisioner-validate", "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "provisioner validate" in proc.stdout and "Passed" in proc.stdout
