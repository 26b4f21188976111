"""Environment policies: each rule on its own, errors in its environment, warnings in the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.cli import main
from provisioner.manifest import load

ROOT = Path(__file__).resolve().parents[2]
ASSISTANT = ROOT / "manifests" / "digital-assistant"

APP = """apiVersion: provisioner/v1
kind: Application
metadata: {name: api}
spec:
  scopes: [read, write, Admin]
  grantTypes: [client_credentials]
  accessTokenLifetime: 7200
"""
AGENT = """apiVersion: provisioner/v1
kind: AIAgent
metadata: {name: bot}
spec:
  scopes: [monitor]
  grantTypes: [token_exchange]
  applications:
    - application: api
      permissions: [read, write]
    - application: web
      permissions: [read]
      subjectGroups: [staff]
"""
WEB = """apiVersion: provisioner/v1
kind: Application
metadata: {name: web}
spec:
  scopes: [read]
  grantTypes: [password, authorization_code]
"""


def _stack(tmp_path: Path, policy: str, other: str = "") -> Path:
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "agent.yaml").write_text(AGENT)
    (tmp_path / "web.yaml").write_text(WEB)
    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "prod.yaml").write_text("tenant: local\npolicy:\n" + policy)
    (envs / "dev.yaml").write_text("tenant: local\n" + other)
    return tmp_path


def _found(path: Path, env: str) -> list[tuple[str, str, str]]:
    result = load([str(path)], env=env, environ={}, resolve_secrets=False)
    return [
        (f"{Path(d.location.file).name}:{d.location.line}:{d.location.col}", d.severity, d.message)
        for d in result.diagnostics
        if "policy" in d.message
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("forbidGrantTypes: [password]", [("web.yaml:6:16", "grant type 'password' is forbidden")]),
        (
            "forbidGrantTypes: [urn:ietf:params:oauth:grant-type:token-exchange]",
            [("agent.yaml:6:16", "grant type 'token_exchange' is forbidden")],
        ),
        (
            "maxAccessTokenLifetime: 3600",
            [("app.yaml:7:24", "access-token lifetime 7200s is longer than the maximum 3600s")],
        ),
        ("requireAgentOwners: true", [("agent.yaml:3:18", "agent 'bot' has no owner (spec.owners)")]),
        (
            "requireSubjectsOnBehalfOf: true",
            [
                (
                    "agent.yaml:8:20",
                    ("on-behalf-of agent 'bot' may act for every user on 'api': list subjects or subjectGroups"),
                )
            ],
        ),
        ("scopePattern: '[a-z]+'", [("app.yaml:5:25", "scope 'Admin' does not match the pattern '[a-z]+'")]),
        (
            "maxScopesPerPrivilege: 1",
            [("agent.yaml:9:20", "privilege on 'api' permits 2 scopes, more than the maximum 1")],
        ),
    ],
)
def test_each_rule_is_an_error_in_its_environment_and_a_warning_elsewhere(
    tmp_path: Path, rule: str, expected: list[tuple[str, str]]
) -> None:
    stack = _stack(tmp_path, "  " + rule + "\n")
    rule_name = rule.split(":")[0]
    prod = _found(stack, "prod")
    assert [(where, severity) for where, severity, _ in prod] == [(where, "error") for where, _ in expected]
    for (_, _, message), (_, wanted) in zip(prod, expected):
        assert (
            message == f"policy '{rule_name}' of environment 'prod' ({stack}/environments/prod.yaml:3:"
            f"{len(rule_name) + 5}): {wanted}"
        )
    dev = _found(stack, "dev")
    assert [(where, severity) for where, severity, _ in dev] == [(where, "warning") for where, _ in expected]
    assert all(message.endswith("(an error with --env prod)") for _, _, message in dev)
    assert load([str(stack)], env="dev", environ={}, resolve_secrets=False).ok


def test_a_privilege_without_permissions_counts_every_scope_of_its_application(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "  maxScopesPerPrivilege: 2\n")
    (stack / "agent.yaml").write_text(AGENT.replace("permissions: [read, write]", "permissions: []"))
    assert _found(stack, "prod") == [
        (
            "agent.yaml:8:7",
            "error",
            (
                f"policy 'maxScopesPerPrivilege' of environment 'prod' ({stack}/environments/prod.yaml:3:26): privilege "
                "on 'api' lists no permissions, so it permits every one of the application's 3 scopes, more than the "
                "maximum 2"
            ),
        )
    ]


def test_an_environment_named_by_its_path_is_not_also_another_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = _stack(tmp_path, "  maxAccessTokenLifetime: 3600\n")
    monkeypatch.chdir(stack)
    found = _found(Path("."), str(stack / "environments" / "prod.yaml"))  # relative stack, absolute environment
    assert [(where, severity) for where, severity, _ in found] == [("app.yaml:7:24", "error")]


def test_an_agent_with_client_credentials_and_no_subjects_is_not_on_behalf_of(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "  requireSubjectsOnBehalfOf: true\n")
    (stack / "agent.yaml").write_text(
        AGENT.replace("grantTypes: [token_exchange]", "grantTypes: [client_credentials, token_exchange]").replace(
            "      subjectGroups: [staff]\n", ""
        )
    )
    assert _found(stack, "prod") == []


def test_a_compliant_stack_has_no_policy_diagnostic(tmp_path: Path) -> None:
    stack = _stack(
        tmp_path,
        "  forbidGrantTypes: [implicit]\n  maxAccessTokenLifetime: 86400\n"
        "  scopePattern: '[A-Za-z]+'\n  maxScopesPerPrivilege: 3\n",
    )
    assert _found(stack, "prod") == [] and _found(stack, "dev") == []


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("  forbidGrantTypes: [pasword]\n", "policy.forbidGrantTypes[0]"),
        ("  maxAccessTokenLifetime: 0\n", "policy.maxAccessTokenLifetime"),
        (
            "  requireOwners: true\n",
            "policy.requireOwners: unknown field 'requireOwners' (did you mean 'requireAgentOwners'?)",
        ),
        ("  scopePattern: '[a-z'\n", "policy.scopePattern: not a valid regular expression"),
    ],
)
def test_a_bad_policy_is_reported_where_it_is_written(tmp_path: Path, policy: str, message: str) -> None:
    stack = _stack(tmp_path, policy)
    result = load([str(stack)], env="prod", environ={}, resolve_secrets=False)
    problems = [str(d) for d in result.errors if "prod.yaml:3:" in str(d)]
    assert problems and message in problems[0], [str(d) for d in result.diagnostics]
    # Another environment's broken policy is not this environment's problem.
    assert load([str(stack)], env="dev", environ={}, resolve_secrets=False).ok


def _cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    """The real CLI in-process, from the repository root (the paths users type)."""
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_digital_assistant_prod_refuses_the_password_grant_and_dev_validates(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _cli(
        capsys, monkeypatch, "validate", "manifests/digital-assistant", "--env", "prod", "--skip-secrets"
    )
    assert code == 1, out + err
    line = next(
        n
        for n, text in enumerate((ASSISTANT / "application.yaml").read_text().splitlines(), 1)
        if "grantTypes: [password" in text
    )
    assert (
        f"manifests/digital-assistant/application.yaml:{line}:16: spec.grantTypes[0]: policy "
        "'forbidGrantTypes' of environment 'prod'"
    ) in out
    assert "grant type 'password' is forbidden" in out
    code, out, err = _cli(
        capsys, monkeypatch, "validate", "manifests/digital-assistant", "--env", "dev", "--skip-secrets"
    )
    assert code == 0, out + err
    assert f"application.yaml:{line}:16: spec.grantTypes[0]: warning: policy 'forbidGrantTypes'" in out


def test_plan_enforces_the_policy_before_reading_the_tenant(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tenant URL is a closed loopback port: plan must stop at the policy error, before any request.
    code, out, err = _cli(
        capsys,
        monkeypatch,
        "plan",
        "manifests/digital-assistant",
        "--env",
        "prod",
        "--tenant",
        "http://127.0.0.1:9",
        "--env-file",
        "manifests/digital-assistant/demo.env",
    )
    assert code == 1, out + err
    assert "policy 'forbidGrantTypes' of environment 'prod'" in err
    assert "nothing was read or written" in err
