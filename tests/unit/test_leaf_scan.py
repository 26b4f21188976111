"""The JSON plan stream is redacted leaf by leaf (``redact.LeafScan``): the same text as masking every
piece whole, with each distinct string scanned once while no secret has white space or ``,:[]{}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import redact
from provisioner.client.credentials import parse_jwk
from provisioner.errors import ConfigurationError
from provisioner.render import render_json, stream_json

TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-"
# any character but a line break (a form never holds one, so masking line by line is masking whole)
OTHER = st.characters(codec="utf-8", exclude_characters="\n")


def _masked_by_lines(text: str) -> str:
    return "\n".join(redact.text(line) for line in text.split("\n"))


def _streamed(document: Any, chunk: int) -> str:
    pieces: list[str] = []
    stream_json(document, pieces.append, chunk_size=chunk)
    assert all(type(piece) is redact.Redacted for piece in pieces)
    return "".join(pieces)


# no white space and none of ,:[]{} (the leaf path), quotes, backslashes, base64 and non-ASCII included
NO_SEPARATOR = st.characters(codec="utf-8", exclude_characters=",:[]{}", exclude_categories=("Zs", "Zl", "Zp", "Cc"))
secret_values = st.one_of(
    st.text(alphabet=TOKEN, min_size=4, max_size=16),
    st.text(NO_SEPARATOR, min_size=4, max_size=12),
    st.text(OTHER, min_size=4, max_size=12),
)


def _documents(secrets: list[str]) -> st.SearchStrategy[Any]:
    """JSON documents whose strings, keys and numbers hold the secrets, alone, inside other text, after
    an escaped character (``\\n`` then a secret starting with ``n``), or as the digits of a number."""
    around = st.sampled_from(["", "x", "\n", "\\", '"', "é", " ", "Basic ", ": ", "\\u"])
    placed = st.builds(lambda a, s, b: a + s + b, around, st.sampled_from(secrets), around)
    numbers = [int(s) for s in secrets if s.isdigit() and s.isascii()]
    strings = st.one_of(placed, st.text(alphabet=TOKEN, max_size=6))
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), strings, *([st.sampled_from(numbers)] if numbers else [])
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
        max_leaves=25,
    ).map(lambda value: {"changes": [value, {"v": value}, value], "x": value})


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(), secrets=st.lists(secret_values, min_size=1, max_size=3), chunk=st.sampled_from([1, 16, 64, 1 << 16])
)
def test_the_stream_is_masked_exactly_as_its_lines_are(
    private_registry: None, data: st.DataObject, secrets: list[str], chunk: int
) -> None:
    redact.register(*secrets)
    document = data.draw(_documents(secrets))
    assert _streamed(document, chunk) == _masked_by_lines(render_json(document))


@pytest.mark.parametrize(
    "secret, leaf",
    [("nTok3n-secret", "x\nTok3n-secret"), ("u001fTok3n", "\x1fTok3n"), ("20261130987654", 20261130987654)],
)
def test_a_secret_made_by_an_escape_or_in_a_number_is_masked(private_registry: None, secret: str, leaf: Any) -> None:
    """The JSON text has the secret although the value does not (``\\n`` then ``Tok3n``...): leaves are
    scanned as they are spelled in the text."""
    redact.register(secret)
    document = {"changes": [{"a": leaf, "k": {"q": 1}}]}
    out = _streamed(document, 1 << 16)
    assert secret not in out and redact.MASK in out
    assert out == _masked_by_lines(render_json(document))


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text ``redact.text`` scans from here on."""
    lengths: list[int] = []
    real = redact.text

    def counting(message: object) -> str:
        lengths.append(len(str(message)))
        return real(message)

    monkeypatch.setattr(redact, "text", counting)
    return lengths


def test_each_distinct_leaf_is_scanned_once(private_registry: None, scanned: list[int]) -> None:
    """2,000 changes with the same strings: a few hundred bytes are scanned, not the 300 KB written."""
    redact.register("generated-Secret_0123456789")
    change = {"action": "no-op", "desired": {"scopes": ["a", "b"], "template": "service"}, "secret": {"name": "S"}}
    out = _streamed({"changes": [change] * 2000}, 4096)
    assert len(out) > 300_000 and sum(scanned) < 500


@pytest.mark.parametrize(
    "secret", ["q+Zx/8Jm3=Rb7+Kw/Pd9Lw==", 'pa"ss\\w0rd/é&<x>%41', "Tr0ub4dor&3!#"], ids=["base64", "quotes", "punct"]
)
def test_secrets_without_json_separators_take_the_leaf_path(
    private_registry: None, scanned: list[int], secret: str
) -> None:
    """Base64 (``openssl rand -base64 32``), quotes, backslashes, ``&%#!``: none of their forms can reach
    across a JSON separator, so leaves are scanned (once each) and every spelling is still masked."""
    redact.register(secret)
    document = {"changes": [{"a": "plain", "b": "text"}] * 300 + [{"b": f"x{secret}y", "k": {secret: 1}}]}
    out = _streamed(document, 1024)
    assert sum(scanned) < len(out) // 5  # the distinct leaves, then the piece holding the secret whole
    assert out == _masked_by_lines(render_json(document))
    assert secret not in out and json.dumps(secret)[1:-1] not in out and out.count(redact.MASK) == 2


def test_a_secret_with_other_characters_scans_every_piece_whole(private_registry: None, scanned: list[int]) -> None:
    redact.register("pass word!")
    document = {"changes": [{"a": "my pass word!"}] * 100}
    out = _streamed(document, 1024)
    assert sum(scanned) == len(render_json(document)) and "pass word!" not in out


def test_a_secret_registered_between_pieces_is_masked_in_leaves_seen_before(private_registry: None) -> None:
    late = "late-registered-secret-42"
    pieces: list[str] = []

    def write(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 1:
            redact.register(late)

    stream_json({"changes": [{"value": late}] * 50}, write, chunk_size=64)
    assert late in pieces[0]  # written before it was registered
    assert len(pieces) > 2 and not any(late in piece for piece in pieces[1:])


def test_once_a_leaf_held_a_secret_every_later_piece_is_scanned_whole(private_registry: None) -> None:
    """The leaves of a piece include those of the line held back for the next piece: a hit among
    them must not let that line through unscanned."""
    secret = "held-back-secret-77"
    redact.register(secret)
    out = _streamed({"changes": [{"a": "x", "b": secret}] * 30}, 16)
    assert secret not in out and out.count(redact.MASK) == 30


def test_a_service_account_key_is_registered_by_its_private_parts(private_registry: None) -> None:
    jwk = {"kty": "RSA", "n": "public-modulus", "e": "AQAB", "d": "private-exponent-d", "p": "prime-p-value"}
    text = json.dumps(jwk)
    assert parse_jwk(text, "the key") == jwk
    assert redact.registered() == {"private-exponent-d", "prime-p-value"}
    assert "private-exponent-d" not in redact.text(text)
    for bad in ('{"kty": "RSA", "d": ', json.dumps({"kty": "EC", "d": "ec-private-part"}), "[1, 2]"):
        with pytest.raises(ConfigurationError) as caught:
            parse_jwk(bad, "the key")
        assert bad.strip() in redact.registered() and bad not in str(caught.value)


@pytest.mark.parametrize("secret", ['y": "val', '"key": "v', '"x": 1'])
def test_a_secret_reaching_across_json_separators_is_masked_as_whole_text_masks_it(
    private_registry: None, secret: str
) -> None:
    """Such a secret appears in no single leaf (``"key": "value"`` holds ``y": "val``): only scanning
    pieces whole finds it."""
    redact.register(secret)
    document = {"changes": [{"key": "value", "x": 1}]}
    out = _streamed(document, 1 << 16)
    assert out == _masked_by_lines(render_json(document)) and secret not in out


def test_a_plan_whose_values_were_masked_is_not_saved(private_registry: None, tmp_path: Path) -> None:
    """Applying such a file would write the mask to the tenant: neither a plan nor a plan text is kept."""
    from provisioner.commands._common import write_plan_file
    from provisioner.errors import UsageError

    redact.register("generated-Secret_0123456789")
    target = tmp_path / "saved.json"
    for plan in (
        {"changes": [{"description": "uses generated-Secret_0123456789"}]},
        '{"d": "generated-Secret_0123456789"}',
    ):
        with pytest.raises(UsageError, match="a value in it holds a secret"):
            write_plan_file(str(target), plan)
        assert not target.exists()
    write_plan_file(str(target), {"changes": [{"description": "clean"}]})
    assert json.loads(target.read_text()) == {"changes": [{"description": "clean"}]}
