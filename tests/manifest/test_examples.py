"""The example stacks are valid for every environment, with their demo secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.manifest import load
from provisioner.manifest.secrets import read_dotenv

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["bot-traffic-analyzer", "digital-assistant"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("stack", STACKS)
def test_example_stack_is_valid(stack: str, env: str) -> None:
    folder = ROOT / "manifests" / stack
    result = load([str(folder)], env=env, env_file=str(folder / "demo.env"), environ={}, strict=False)
    if (stack, env) == ("digital-assistant", "prod"):
        # Its prod policy forbids the password grant the web application uses (tests/manifest/test_policy.py).
        assert {d.message.split(":")[0] for d in result.errors} == {
            f"policy 'forbidGrantTypes' of environment 'prod' ({folder / 'environments' / 'prod.yaml'}"
        }
        return
    assert result.ok, [str(d) for d in result.diagnostics]
    assert {r.kind for r in result.stack.resources} == {"OAuth2Provider", "Application", "AIAgent"}
    assert result.stack.environment.name == env


def test_bot_traffic_analyzer_needs_no_environment_and_passes_strict() -> None:
    folder = ROOT / "manifests" / "bot-traffic-analyzer"
    result = load([str(folder)], env_file=str(folder / "demo.env"), environ={}, strict=True)
    assert result.ok and result.diagnostics == ()


def test_digital_assistant_declares_its_test_user_and_needs_its_environment() -> None:
    folder = ROOT / "manifests" / "digital-assistant"
    result = load([str(folder)], env="dev", resolve_secrets=False)
    assert [u["userName"] for u in result.stack.environment.verify["testUsers"]] == ["demo-user"]
    assert not load([str(folder)], resolve_secrets=False).ok  # webAppOrigin comes from the environment


@pytest.mark.parametrize("stack", STACKS)
def test_demo_env_files_parse_and_carry_the_local_only_warning(stack: str) -> None:
    path = ROOT / "manifests" / stack / "demo.env"
    values, problems = read_dotenv(str(path))
    assert problems == [] and values
    assert "LOCAL EMULATOR tenant only" in path.read_text(encoding="utf-8")


def test_manifests_point_editors_at_the_schema() -> None:
    for path in (ROOT / "manifests").glob("*/*.yaml"):
        if path.name == "emulator-seed.yaml":  # users and groups for the local emulator, not a manifest
            continue
        schema = "stack" if path.name == "provisioner.yaml" else "manifest"  # the stack declaration
        assert path.read_text(encoding="utf-8").startswith(
            f"# yaml-language-server: $schema=../../schemas/{schema}.schema.json\n"
        ), path
