"""Item 2: `fromFile` is confined, and every file the CLI reads is a size-capped regular file.

`fromFile` reads regular files inside the manifest directories (or a `--secrets-dir`), symlinks
resolved and re-checked, at most 64 KiB, never the service-account key file. The same file-type and
size rules hold for `--env-file`, manifest and environment files and `apply --plan`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.conftest import app_with_secret

WHERE = "app.yaml:5:17: spec.clientSecret: secret {fromFile: "


def test_a_secret_file_inside_the_stack_is_read(cli, stack: Path) -> None:
    app_with_secret(stack, "{fromFile: secrets/app.secret}")
    (stack / "secrets").mkdir()
    (stack / "secrets" / "app.secret").write_text("inside-the-stack-1\n", encoding="utf-8")
    cli("validate", str(stack)).check(0, "1 resource in 1 file: valid")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/etc/passwd", "/proc/self/environ"])
def test_absolute_paths_outside_the_stack_are_refused(cli, stack: Path, target: str) -> None:
    app_with_secret(stack, f"{{fromFile: {target}}}")
    cli("validate", str(stack)).check(1, f"{stack}/{WHERE}{target}}}: {target} is outside the allowed directories")


def test_parent_directory_escapes_are_refused(cli, stack: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("outside-the-stack\n", encoding="utf-8")
    app_with_secret(stack, "{fromFile: ../outside.txt}")
    cli("validate", str(stack)).check(1, f"{WHERE}../outside.txt}}: ", "is outside the allowed directories")


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "/proc/self/environ"])
def test_a_symlink_inside_the_stack_is_resolved_and_rechecked(cli, stack: Path, target: str) -> None:
    (stack / "link.txt").symlink_to(target)
    app_with_secret(stack, "{fromFile: link.txt}")
    cli("validate", str(stack)).check(
        1, f"{WHERE}link.txt}}: ", "is outside the allowed directories", "(it resolves to /"
    )


def test_a_fifo_inside_the_stack_is_refused_without_waiting(cli, stack: Path) -> None:
    os.mkfifo(stack / "pipe.txt")
    app_with_secret(stack, "{fromFile: pipe.txt}")
    cli("validate", str(stack)).check(
        1, f"{WHERE}pipe.txt}}: file {stack}/pipe.txt is a FIFO (named pipe), not a regular file"
    )


def test_a_directory_is_refused(cli, stack: Path) -> None:
    (stack / "dir.txt").mkdir()
    app_with_secret(stack, "{fromFile: dir.txt}")
    cli("validate", str(stack)).check(1, f"{WHERE}dir.txt}}: file {stack}/dir.txt is a directory")


def test_an_oversized_secret_file_is_refused(cli, stack: Path) -> None:
    (stack / "big.txt").write_text("x" * (64 * 1024 + 1), encoding="utf-8")
    app_with_secret(stack, "{fromFile: big.txt}")
    cli("validate", str(stack)).check(
        1, f"{WHERE}big.txt}}: file {stack}/big.txt is too large (65537 bytes; the limit is 65536)"
    )


def test_the_service_account_key_file_is_refused_even_inside_the_stack(
    cli, stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = stack / "sa.jwk.json"
    key.write_text('{"kty": "RSA", "d": "private-part-of-the-key"}', encoding="utf-8")
    monkeypatch.setenv("AIC_SERVICE_ACCOUNT_JWK_FILE", str(key))
    app_with_secret(stack, "{fromFile: sa.jwk.json}")
    cli("validate", str(stack)).check(1, f"{WHERE}sa.jwk.json}}: ", "is the service-account key file")


def test_the_key_file_named_in_the_env_file_is_refused_too(cli, stack: Path, tmp_path: Path) -> None:
    key = stack / "key.json"
    key.write_text('{"kty": "RSA", "d": "private-part-of-the-key"}', encoding="utf-8")
    env_file = tmp_path / "ci.env"
    env_file.write_text(f"AIC_SERVICE_ACCOUNT_JWK_FILE={key}\n", encoding="utf-8")
    app_with_secret(stack, "{fromFile: ./key.json}")
    cli("validate", str(stack), "--env-file", str(env_file)).check(
        1, f"{WHERE}./key.json}}: ", "is the service-account key file"
    )


def test_secrets_dir_allows_a_directory_outside_the_stack(cli, stack: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "app.secret").write_text("from-the-vault-dir\n", encoding="utf-8")
    app_with_secret(stack, f"{{fromFile: {vault}/app.secret}}")
    cli("validate", str(stack)).check(1, "is outside the allowed directories")
    cli("validate", str(stack), "--secrets-dir", str(vault)).check(0, "valid")


@pytest.mark.parametrize("target, kind", [("/dev/zero", "a character device"), ("/proc/self/environ", "under /proc")])
def test_env_file_must_be_a_regular_file(cli, stack: Path, target: str, kind: str) -> None:
    app_with_secret(stack, "{fromEnv: APP_SECRET}")
    cli("validate", str(stack), "--env-file", target).check(1, f"{target}:1:1: env file is {kind}")


def test_env_file_fifo_does_not_hang(cli, stack: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.env")
    app_with_secret(stack, "{fromEnv: APP_SECRET}")
    cli("validate", str(stack), "--env-file", str(tmp_path / "pipe.env")).check(
        1, f"{tmp_path}/pipe.env:1:1: env file is a FIFO (named pipe), not a regular file"
    )


def test_a_manifest_that_is_a_fifo_does_not_hang(cli, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    cli("validate", str(tmp_path / "pipe.yaml")).check(
        1, f"{tmp_path}/pipe.yaml:1:1: manifest file is a FIFO (named pipe), not a regular file"
    )


def test_apply_refuses_a_plan_file_that_is_a_device(cli) -> None:
    cli("apply", "--plan", "/dev/zero", "--tenant", "local", "--auto-approve").check(
        1, "Error: plan file /dev/zero is a character device, not a regular file"
    )


def test_emulator_seed_file_that_is_a_fifo_is_refused(cli, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "seed.yaml")
    cli("emulator", "serve", "--seed", str(tmp_path / "seed.yaml")).check(
        1, f"Error: seed file {tmp_path}/seed.yaml is a FIFO (named pipe), not a regular file"
    )


def test_a_seed_files_fromfile_is_confined_to_its_folder(cli, tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("realm: alpha\nusers:\n  - userName: u1\n    password: {fromFile: /etc/passwd}\n", encoding="utf-8")
    cli("emulator", "serve", "--seed", str(seed)).check(
        1, "{fromFile: /etc/passwd}: /etc/passwd is outside the allowed directories"
    )


def test_undo_refuses_a_journal_that_is_a_device(cli) -> None:
    cli("undo", "/dev/zero").check(1, "Error: journal /dev/zero is a character device, not a regular file")


def test_import_frodo_refuses_a_device(cli, tmp_path: Path) -> None:
    cli("import-frodo", "/dev/urandom", "--out", str(tmp_path / "out")).check(
        1, "Error: export file /dev/urandom is a character device, not a regular file"
    )


def test_a_fifo_planted_as_the_token_cache_is_ignored(tmp_path: Path) -> None:
    import time

    from provisioner.client.tokencache import TokenCache

    os.mkfifo(tmp_path / "token-cache.json", 0o600)
    started = time.perf_counter()
    assert TokenCache(str(tmp_path / "token-cache.json")).get("key", now=0.0, margin=0.0) is None
    assert time.perf_counter() - started < 2.0
