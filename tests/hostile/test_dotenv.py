"""Item 7: dotenv lines end at \\n or \\r\\n only; text after a closing quote is an error with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.conftest import app_with_secret


def _write_env(tmp_path: Path, text: str) -> Path:
    env_file = tmp_path / "ci.env"
    env_file.write_bytes(text.encode("utf-8"))
    return env_file


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"])
def test_a_value_is_not_split_at_other_line_breaks(cli, stack: Path, tmp_path: Path, separator: str) -> None:
    """The whole value is the secret: 8 characters before the separator would pass the length check if
    the line were cut there, so a *short* head proves the value was not truncated."""
    env_file = _write_env(tmp_path, f"APP_SECRET=abc{separator}defghijk\nOTHER=1\n")
    app_with_secret(stack, "{fromEnv: APP_SECRET}")
    run = cli("validate", str(stack), "--env-file", str(env_file), "--format", "json").check(0)
    assert json.loads(run.out)["valid"] is True
    from provisioner.manifest import read_dotenv

    values, problems = read_dotenv(str(env_file))
    assert values == {"APP_SECRET": f"abc{separator}defghijk", "OTHER": "1"} and problems == []


@pytest.mark.parametrize(
    "line",
    [
        'APP_SECRET="long-enough-value" junk',
        "APP_SECRET='long-enough-value'junk",
        'APP_SECRET="long-enough-value""second"',
    ],
)
def test_text_after_a_quoted_value_is_refused_with_the_line(cli, stack: Path, tmp_path: Path, line: str) -> None:
    env_file = _write_env(tmp_path, f"# ci settings\n{line}\n")
    app_with_secret(stack, "{fromEnv: APP_SECRET}")
    run = cli("validate", str(stack), "--env-file", str(env_file)).check(
        1, f"{env_file}:2:1: invalid line in env file: unexpected text after the closing quote"
    )
    assert "long-enough" not in run.text  # the line's content may be a secret: never shown


def test_comments_after_quotes_and_crlf_line_ends_are_fine(cli, stack: Path, tmp_path: Path) -> None:
    env_file = _write_env(tmp_path, "APP_SECRET=\"long-enough-value\"   # the app's secret\r\nX='y'\r\n")
    app_with_secret(stack, "{fromEnv: APP_SECRET}")
    cli("validate", str(stack), "--env-file", str(env_file)).check(0, "valid")


def test_an_unclosed_quote_keeps_its_own_message(cli, stack: Path, tmp_path: Path) -> None:
    env_file = _write_env(tmp_path, 'A=1\nAPP_SECRET="long-enough-value\n')
    app_with_secret(stack, "{fromEnv: APP_SECRET}")
    cli("validate", str(stack), "--env-file", str(env_file)).check(
        1, f"{env_file}:2:1: invalid line in env file: unclosed quote"
    )
