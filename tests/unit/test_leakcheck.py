"""The leak checker and the redaction layer catch what they must."""

from __future__ import annotations

from pathlib import Path

from provisioner import redact
from tests import leakcheck


def test_scan_finds_a_secret_in_output() -> None:
    hits = leakcheck.scan([("stdout", "client_secret is hunter2-very-secret")], {"hunter2-very-secret"})
    assert hits == [("stdout", "hun…")]


def test_scan_ignores_short_values_and_clean_output() -> None:
    assert leakcheck.scan([("stdout", "abc abc")], {"abc"}) == []
    assert leakcheck.scan([("stdout", "nothing here")], {"hunter2-very-secret"}) == []


def test_tool_files_skip_tenant_state_and_secret_inputs(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("{}")
    (tmp_path / "demo.env").write_text("X=1")
    (tmp_path / "emulator").mkdir()
    (tmp_path / "emulator" / "state.json").write_text("{}")
    names = sorted(Path(p).name for p, _ in leakcheck.tool_files(tmp_path))
    assert names == ["plan.json"]


def test_redact_masks_registered_values_tokens_and_keys() -> None:
    redact.register("s3cret-value-for-redact-test")
    assert redact.text("the secret is s3cret-value-for-redact-test!") == "the secret is (sensitive)!"
    assert redact.text("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer (sensitive)"
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert "eyJ" not in redact.text(f"token {jwt}")
    assert redact.data({"client_secret": "x", "nested": [{"Authorization": "y"}], "ok": 1}) == {
        "client_secret": "(sensitive)",
        "nested": [{"Authorization": "(sensitive)"}],
        "ok": 1,
    }
    assert redact.fingerprint("abc").startswith("sha256:") and len(redact.fingerprint("abc")) == 15
