"""Secret references: dotenv parsing, precedence, and that values never reach any output."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner import redact
from provisioner.cli import main
from provisioner.manifest import SecretRef, load
from provisioner.manifest.secrets import parse_dotenv
from tests import leakcheck

ENV_SECRET = "env-secret-Qx7-value-never-printed"
DOTENV_SECRET = "dotenv-secret-Zr4-value-never-printed"
FILE_SECRET = "file-secret-Hm2-value-never-printed"
SHADOWED = "dotenv-shadowed-Kp9-value-never-printed"

MANIFEST = """\
apiVersion: provisioner/v1
kind: Application
metadata: {name: %(name)s}
spec:
  clientSecret: %(ref)s
  scopes: [a]
"""


def stack(tmp_path: Path) -> Path:
    docs = [
        MANIFEST % {"name": "from-env", "ref": "{fromEnv: APP_ENV_SECRET}"},
        MANIFEST % {"name": "from-dotenv", "ref": "{fromEnv: APP_DOTENV_SECRET}"},
        MANIFEST % {"name": "from-file", "ref": "{fromFile: secrets/app-secret.txt}"},
    ]
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "apps.yaml").write_text("---\n".join(docs), encoding="utf-8")
    (tmp_path / "stack" / "secrets").mkdir()
    (tmp_path / "stack" / "secrets" / "app-secret.txt").write_text(FILE_SECRET + "\n", encoding="utf-8")
    (tmp_path / "demo.env").write_text(
        f"# comment\nexport APP_DOTENV_SECRET='{DOTENV_SECRET}'\nAPP_ENV_SECRET=\"{SHADOWED}\"\n", encoding="utf-8"
    )
    return tmp_path


def test_dotenv_syntax() -> None:
    values, problems = parse_dotenv(
        "# c\n\nA=1\nexport B = two words  # note\nC='x # y'\nD=\"q\\\"\\n\"\nE=\nbad line\nF='open\n", "e.env"
    )
    assert values == {"A": "1", "B": "two words", "C": "x # y", "D": 'q"\n', "E": ""}
    assert [str(p) for p in problems] == [
        "e.env:8:1: invalid line in env file: expected KEY=VALUE",
        "e.env:9:1: invalid line in env file: unclosed quote",
    ]


def test_environment_wins_over_dotenv_and_files_are_relative_to_the_manifest(tmp_path: Path) -> None:
    leakcheck.add_secret(ENV_SECRET, DOTENV_SECRET, FILE_SECRET, SHADOWED)
    base = stack(tmp_path)
    result = load([str(base / "stack")], env_file=str(base / "demo.env"), environ={"APP_ENV_SECRET": ENV_SECRET})
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.secrets.resolve(SecretRef("env", "APP_ENV_SECRET")) == ENV_SECRET
    assert result.secrets.resolve(SecretRef("env", "APP_DOTENV_SECRET")) == DOTENV_SECRET
    assert result.secrets.resolve(SecretRef("file", "secrets/app-secret.txt", str(base / "stack"))) == FILE_SECRET
    assert {ENV_SECRET, DOTENV_SECRET, FILE_SECRET} <= redact.registered()
    assert SHADOWED not in redact.registered()  # a dotenv value only becomes a secret when used as one
    assert ENV_SECRET not in repr(result) and FILE_SECRET not in repr(result.secrets)


def test_missing_secrets_are_reported_together(tmp_path: Path) -> None:
    base = stack(tmp_path)
    (base / "stack" / "secrets" / "app-secret.txt").unlink()
    result = load([str(base / "stack")], environ={})
    file = str(base / "stack" / "apps.yaml")
    assert [str(d) for d in result.diagnostics] == [
        f"{file}:5:17: spec.clientSecret: secret {{fromEnv: APP_ENV_SECRET}} is not set: define APP_ENV_SECRET "
        "in the environment (or pass --env-file FILE)",
        f"{file}:12:17: spec.clientSecret: secret {{fromEnv: APP_DOTENV_SECRET}} is not set: define "
        "APP_DOTENV_SECRET in the environment (or pass --env-file FILE)",
        f"{file}:19:17: spec.clientSecret: secret {{fromFile: secrets/app-secret.txt}}: file "
        f"{base / 'stack' / 'secrets' / 'app-secret.txt'} does not exist",
    ]


def test_skip_secrets_checks_references_without_reading_them(tmp_path: Path) -> None:
    result = load([str(stack(tmp_path) / "stack")], environ={}, resolve_secrets=False)
    assert result.ok and len(result.secrets) == 0
    with pytest.raises(Exception, match=r"--skip-secrets"):
        result.secrets.resolve(SecretRef("env", "APP_ENV_SECRET"))


def test_short_and_empty_secrets_are_refused_without_showing_them(tmp_path: Path) -> None:
    base = stack(tmp_path)
    result = load(
        [str(base / "stack")],
        env_file=str(base / "demo.env"),
        environ={"APP_ENV_SECRET": "", "APP_DOTENV_SECRET": "short7x"},
    )
    messages = [d.message for d in result.diagnostics]
    assert messages == [
        "secret {fromEnv: APP_ENV_SECRET} is empty",
        "secret {fromEnv: APP_DOTENV_SECRET} is too short (at least 8 characters)",
    ]


def test_no_secret_appears_in_any_output_even_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = (ENV_SECRET, DOTENV_SECRET, FILE_SECRET, SHADOWED)
    leakcheck.add_secret(*secrets)
    base = stack(tmp_path)
    # An error next to every secret: a bad field, a literal that equals a secret, a template error.
    # (the file name says "secret" so that the session's leak scan knows the test wrote it on purpose)
    with (base / "stack" / "with-secret-literals.yaml").open("w", encoding="utf-8") as handle:
        handle.write(MANIFEST % {"name": "literal", "ref": FILE_SECRET} + "  scope: [x]\n")
        handle.write(
            "---\napiVersion: provisioner/v1\nkind: Application\nmetadata: {name: " + ENV_SECRET + "x.}\nspec: {}\n"
        )
    monkeypatch.setenv("APP_ENV_SECRET", ENV_SECRET)
    outputs = []
    for fmt in ("text", "json"):
        code = main(["validate", str(base / "stack"), "--env-file", str(base / "demo.env"), "--format", fmt])
        captured = capsys.readouterr()
        outputs += [captured.out, captured.err]
        assert code == 1
    combined = "\n".join(outputs)
    assert "a literal secret is not allowed" in combined
    for secret in secrets:
        assert secret not in combined
    # The error boundary redacts exception text too.
    from provisioner.errors import ConfigurationError

    try:
        raise ConfigurationError(f"failed with {ENV_SECRET}")
    except ConfigurationError as exc:
        assert ENV_SECRET not in redact.text(exc)
