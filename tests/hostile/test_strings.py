"""Item 4: lone surrogates and control characters are refused in every string, with the location.

``displayName: "\\ud800"`` used to validate and then crash plan (UnicodeEncodeError, exit 3); ``"\\0"``,
``"\\e"`` and ``"\\u202e"`` validated and would have been written to the tenant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HEAD = "apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: app-one}\nspec:\n"


@pytest.mark.parametrize(
    "escape, code, kind",
    [
        ("\\ud800", "U+D800", "a lone surrogate (not valid Unicode text)"),
        ("\\udfff", "U+DFFF", "a lone surrogate (not valid Unicode text)"),
        ("\\0", "U+0000", "a control character"),
        ("\\e", "U+001B", "a control character"),
        ("\\x7f", "U+007F", "a control character"),
        ("\\x85", "U+0085", "a control character"),
        ("\\u202e", "U+202E", "a bidirectional text control"),
        ("\\u2066", "U+2066", "a bidirectional text control"),
    ],
)
def test_escaped_bad_characters_are_refused_where_written(
    cli, tmp_path: Path, escape: str, code: str, kind: str
) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(HEAD + f'  displayName: "App {escape} One"\n', encoding="utf-8")
    cli("validate", str(manifest)).check(
        1,
        f"{manifest}:5:16: spec.displayName: invalid character {code} at position 5 of the string: "
        f"{kind} is not allowed",
    )


def test_every_string_is_checked_keys_lists_and_metadata(cli, tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        'apiVersion: provisioner/v1\nkind: Application\nmetadata: {name: app-one, realm: "al\\tpha\\b"}\n'
        'spec:\n  scopes: [ok, "b\\u202ec"]\n  "desc\\x01": x\n',
        encoding="utf-8",
    )
    run = cli("validate", str(manifest)).check(1)
    assert f"{manifest}:3:34: metadata.realm: invalid character U+0008 at position 7" in run.out
    assert "U+0009" not in run.out  # a tab is fine (the realm rule refuses it on its own)
    assert f"{manifest}:5:16: spec.scopes[1]: invalid character U+202E" in run.out
    assert f"{manifest}:6:3: spec: key: invalid character U+0001" in run.out


def test_a_raw_bidi_override_is_refused_too(cli, tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(HEAD + "  description: admin\u202e nimda\n", encoding="utf-8")
    cli("validate", str(manifest)).check(1, f"{manifest}:5:16: spec.description: invalid character U+202E")


def test_environment_variables_are_checked_before_they_reach_a_template(cli, tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    env = tmp_path / "environments" / "dev.yaml"
    env.write_text('vars: {title: "x\\ud800"}\n', encoding="utf-8")
    (tmp_path / "app.yaml").write_text(HEAD + '  displayName: "{{ title }}"\n', encoding="utf-8")
    cli("validate", str(tmp_path), "--env", "dev").check(1, f"{env}:1:15: vars.title: invalid character U+D800")


def test_tabs_newlines_and_ordinary_unicode_are_fine(cli, tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        HEAD + '  displayName: "Café – 日本 ✓"\n  description: "line one\\n\\tline two"\n', encoding="utf-8"
    )
    cli("validate", str(manifest)).check(0, "1 resource in 1 file: valid")
