"""Property tests: whatever the input, validate ends with exit 0 or 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import redact
from provisioner.cli import main

SETTINGS = settings(
    derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

FIELDS = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "name",
    "realm",
    "scopes",
    "grantTypes",
    "applications",
    "application",
    "permissions",
    "clientSecret",
    "fromEnv",
    "fromFile",
    "providerOverrides",
    "enabled",
    "existing",
    "template",
    "ensure",
    "exact",
    "subjects",
    "userName",
]
VALUES = [
    "provisioner/v1",
    "Application",
    "AIAgent",
    "OAuth2Provider",
    "alpha",
    "token_exchange",
    "password",
    "fr:idm:*",
    "app-1",
    "p\u0430ypal",
    "{{ x }}",
    "",
    "web",
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.sampled_from(VALUES), st.text(max_size=12))
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)


@pytest.fixture
def keep_redaction_registry():  # noqa: ANN201 - fixture
    """Random literals in clientSecret positions get registered; don't let them outlive the test
    (they would make the session's leak scan match random short words elsewhere)."""
    before = redact.registered()
    yield
    redact.clear()
    redact.register(*before)


def run(tmp_path: Path, data: bytes, capsys: pytest.CaptureFixture[str]) -> int:
    (tmp_path / "m.yaml").write_bytes(data)
    code = main(["validate", str(tmp_path / "m.yaml"), "--skip-secrets"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Internal error" not in captured.err
    return code


@SETTINGS
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_random_text_never_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_redaction_registry: None, text: str
) -> None:
    assert run(tmp_path, text.encode("utf-8"), capsys) in (0, 1)


@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_redaction_registry: None, data: bytes
) -> None:
    assert run(tmp_path, data, capsys) in (0, 1)


@SETTINGS
@given(documents=st.lists(structures, min_size=1, max_size=3))
def test_random_manifest_like_structures_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_redaction_registry: None, documents: list
) -> None:
    text = yaml.safe_dump_all(documents, allow_unicode=True)
    assert run(tmp_path, text.encode("utf-8"), capsys) in (0, 1)


@SETTINGS
@given(kind=st.sampled_from(["Application", "AIAgent", "OAuth2Provider"]), spec=structures)
def test_random_specs_of_real_kinds_never_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_redaction_registry: None, kind: str, spec: object
) -> None:
    document = {"apiVersion": "provisioner/v1", "kind": kind, "metadata": {"name": "app-1"}, "spec": spec}
    assert run(tmp_path, yaml.safe_dump(document, allow_unicode=True).encode("utf-8"), capsys) in (0, 1)
