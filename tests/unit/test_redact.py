"""The redaction layer: encoded forms of registered secrets, and cost linear in the number of secrets."""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import redact

SPECIAL = 'Sp3c!al+/=&"\\<>é-unit-redact'


@pytest.fixture(autouse=True)
def _registered() -> None:
    redact.register(SPECIAL)


@pytest.mark.parametrize(
    "spelling",
    [
        json.dumps({"userpassword": SPECIAL}),
        json.dumps({"userpassword": SPECIAL}, ensure_ascii=False),
        json.dumps({"userpassword": SPECIAL}).replace("/", "\\/"),
        json.dumps({"message": json.dumps({"userpassword": SPECIAL})}),  # escaped twice
        urlencode({"grant_type": "client_credentials", "client_secret": SPECIAL}),
        "client_secret=" + quote(SPECIAL, safe=""),
        "client_secret=" + re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(SPECIAL, safe="")),
        "https://x.example/cb?s=" + quote_plus(SPECIAL),
        "Authorization: Basic " + base64.b64encode(("agent:" + SPECIAL).encode()).decode(),
        "Authorization: Basic " + base64.b64encode(("agent-1:" + SPECIAL).encode()).decode(),
        "Authorization: Basic " + base64.b64encode(("agent-12:" + SPECIAL).encode()).decode(),
        base64.urlsafe_b64encode(SPECIAL.encode()).decode(),
        "<p>" + SPECIAL.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>",
    ],
)
def test_every_encoded_form_is_masked(spelling: str) -> None:
    out = redact.text(spelling)
    assert redact.MASK in out
    for leak in ("Sp3c", "U3Az", "cDNj", "3AzYy", "!al", "-unit-redact", "LXVuaXQtcmVkYWN0"):
        assert leak not in out, out


def test_surrounding_text_is_kept_and_overlaps_merge() -> None:
    redact.register("overlap-AAAA-secret", "AAAA-secret-tail")
    assert redact.text("x overlap-AAAA-secret-tail y") == f"x {redact.MASK} y"
    assert redact.text(f"a{SPECIAL}b{SPECIAL}c") == f"a{redact.MASK}b{redact.MASK}c"
    assert redact.text("nothing to hide here") == "nothing to hide here"


def test_short_values_are_masked_raw_only() -> None:
    redact.register("k9!x")  # 4..6 characters: searched directly, no encoded forms
    assert redact.text("id=k9!x;") == f"id={redact.MASK};"
    assert redact.forms("k9!x") == frozenset({"k9!x"})


def test_a_value_registered_after_a_text_call_is_masked_too() -> None:
    assert redact.text("late-secret-value-1") == "late-secret-value-1"
    redact.register("late-secret-value-1")
    assert redact.text("late-secret-value-1") == redact.MASK


def test_cost_is_linear_in_distinct_secrets() -> None:
    """1,000 distinct secrets: registering and masking 200 KB takes well under a second of CPU (the
    old one-regex-per-register design took minutes), and 4x the secrets costs far less than 16x."""

    def cost(count: int, tag: str) -> float:
        values = [f'{tag}-{i:05d}-Zq8+/=&"{i * 7919:08d}' for i in range(count)]
        start = time.process_time()
        for value in values:
            redact.register(value)
        out = redact.text(("plan text " * 20_000) + json.dumps(values[-1]))
        assert out.endswith(redact.MASK + '"')
        return time.process_time() - start

    small, large = cost(250, "lin-a"), cost(1000, "lin-b")
    assert large < 1.0
    assert large < 8 * max(small, 0.02)


def _index_now() -> None:
    """Put every registered form in the window index (short texts are otherwise searched without it)."""
    redact._index_pending()
    redact._index_loose()
    assert not redact._loose


def _reference_mask(text: str, values: list[str]) -> str:
    """The specification, computed the slow way: every encoded form of every value (derived by applying
    each encoding), every occurrence in the text, overlapping occurrences masked as one."""
    spans = []
    for value in values:
        if len(value) < 4:
            continue
        for form in redact._all_forms(value) if len(value) >= 8 else {value}:
            start = text.find(form)
            while start >= 0:
                spans.append((start, start + len(form)))
                start = text.find(form, start + 1)
    merged: list[list[int]] = []
    for start, stop in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    out, cursor = [], 0
    for start, stop in merged:
        out += [text[cursor:start], redact.MASK]
        cursor = stop
    return "".join([*out, text[cursor:]])


_ALPHABET = 'ab7Z+/=_-~."\\&<é€\U0001f600 \n'


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.text(alphabet=_ALPHABET, min_size=1, max_size=14), min_size=1, max_size=4),
    pieces=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.text(alphabet=_ALPHABET, max_size=6))),
    indexed=st.booleans(),
)
def test_masking_matches_the_specification(
    private_registry: None, values: list[str], pieces: list[Any], indexed: bool
) -> None:
    """The byte-window scan, and the direct search of forms not indexed yet, mask exactly what searching
    every form of every secret masks: texts made of fragments of the secrets' forms (so forms overlap,
    touch and straddle window boundaries)."""
    redact.clear()  # the private registry: hypothesis runs every example in the same test call
    redact.register(*values)
    if indexed:
        _index_now()
    every = sorted({f for v in values if len(v) >= 4 for f in redact.forms(v)})
    text = "".join(
        (every[i % len(every)][:cut] if every else "") + junk
        if i % 2
        else junk + (every[i % len(every)] if every else "")
        for i, cut, junk in pieces
    )
    assert redact._mask(text) == _reference_mask(text, values)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-", min_size=8, max_size=60))
def test_generated_secret_forms_take_the_short_cut_with_the_same_result(secret: str) -> None:
    """Values that no escaping changes skip the JSON, URL and HTML encoders: the same set of forms."""
    assert redact.forms(secret) == redact._all_forms(secret)


def test_bearer_prefilter_is_exact() -> None:
    """text() runs the case-insensitive bearer pattern only when the lower-cased text holds 'bearer': no
    other character matches B, E, A or R under re.IGNORECASE."""
    letters = re.compile("(?i)[bear]")
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if letters.fullmatch(c) and c.lower() not in "bear"] == []
    assert redact.text("Authorization: BeArEr abcdefghijk") == f"Authorization: BeArEr {redact.MASK}"


def test_masks_in_large_text_are_found_anywhere(private_registry: None) -> None:
    """A 2 MB text with secrets at every byte alignment, after multi-byte characters, at the very end."""
    secret = "Qx7_kd-ZpL0v2mNq8sRtU4wYb6cEf1gH3jK5nP9r"
    redact.register(secret, "abcdef-short")
    filler = "plan é€ text " * 100_000
    text = "".join(f"{filler[: 1000 + shift]}{secret}" for shift in range(8)) + filler + "abcdef-short"
    out = redact.text(text)
    assert secret not in out and "abcdef-short" not in out
    assert out.count(redact.MASK) == 9


_RECORD_TEXT = st.text(alphabet=_ALPHABET, max_size=12)


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "cause", "password", "x"]), inner)
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    secret=st.text(alphabet=_ALPHABET, min_size=8, max_size=14),
    record=st.recursive(st.one_of(_RECORD_TEXT, st.integers(), st.none()), _nested, max_leaves=8),
    where=st.integers(0, 2),
)
def test_dumps_is_valid_json_and_masks_what_data_masks(
    private_registry: None, secret: str, record: Any, where: int
) -> None:
    """The journal's one-scan serializer: valid JSON, sensitive keys masked, the secret in no form, and
    the same document as serializing ``data()`` whenever the secret is not in the record."""
    redact.register(secret)
    placed = {"record": record, "note": ["before ", f"x{secret}y", secret][where]}
    out = redact.dumps(placed, sort_keys=True)
    parsed = json.loads(out)
    assert secret not in out and json.dumps(secret)[1:-1] not in out
    assert secret not in json.dumps(parsed, ensure_ascii=False)
    reference = json.loads(json.dumps(redact.data(placed), sort_keys=True))
    if where == 0 and secret not in json.dumps(record, ensure_ascii=False):
        assert parsed == reference
    else:
        assert redact.MASK in out


def test_dumps_masks_a_short_secret_that_json_escapes(private_registry: None) -> None:
    """Secrets under 8 characters are indexed only as they are; one with a character JSON escapes would
    be missed by a scan of the serialized text, so dumps masks every string on its own then."""
    redact.register('p"w\\é')
    out = redact.dumps({"cause": 'denied: p"w\\é was wrong'})
    assert json.loads(out) == {"cause": "denied: (sensitive) was wrong"}


def test_many_index_hits_in_one_text_are_all_found(private_registry: None) -> None:
    """Dozens of secrets in one text (the one-pass path over the windows, not one find per key)."""
    values = [f"many-{i:03d}-Kq{i * 7919:07d}-zZ" for i in range(60)]
    redact.register(*values)
    _index_now()
    text = " | ".join(f"{'x' * (i % 5)}{v}{'é' * (i % 3)}" for i, v in enumerate(values))
    assert redact._mask(text) == _reference_mask(text, values)
    assert not any(v in redact.text(text) for v in values)


def _base64_forms_ref(raw: bytes) -> set[str]:
    """The base64 spellings, computed alignment by alignment (the specification of ``_base64_forms``)."""
    found: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = 4 if shift else 0
        end = (shift + len(raw)) // 3 * 4
        parts = {encoded[start:end]}
        if not shift:
            parts |= {encoded, encoded.rstrip("=")}
        for part in parts:
            found |= {part, part.replace("+", "-").replace("/", "_")}
    return found


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=40))
def test_base64_forms_match_the_specification(raw: bytes) -> None:
    assert redact._base64_forms(raw) == _base64_forms_ref(raw)


def test_forms_sharing_a_beginning_or_a_window_are_all_masked(private_registry: None) -> None:
    """Forms that begin alike are indexed as one group; a window that several groups have (here the same
    bytes at another offset, and a group added by a later registration) holds them all."""
    first = ["samehead-one-Kq81", "samehead-two-Zx42", "xsamehead-three-Pw7", "ead-one-K-window-clash"]
    redact.register(*first)
    _index_now()
    later = ["samehead-four-Mn3", "amehead-five-Rt9"]
    redact.register(*later)
    _index_now()
    text = " | ".join(f"{v} {json.dumps(v)} {base64.b64encode(v.encode()).decode()}" for v in first + later)
    assert redact._mask(text) == _reference_mask(text, first + later)
    assert not any(v in redact.text(text) for v in first + later)


def test_short_texts_are_searched_without_the_index_until_that_costs_more(private_registry: None) -> None:
    """Forms wait outside the window index while only short texts are masked (a no-op plan's lines);
    the index is built once searching them directly has cost about as much, or for a long text."""
    values = [f"loose-{i:03d}-Kq{i * 7919:07d}-zZ" for i in range(50)]
    redact.register(*values)
    line = f"client {values[7]} as {json.dumps(values[8])} and {base64.b64encode(values[9].encode()).decode()}"
    assert redact.text(line) == _reference_mask(line, values)
    assert redact._loose and not redact._windows  # searched directly
    assert redact.text("Target: local") == "Target: local"  # shorter than every form: costs nothing
    spent = redact._loose_spent
    while redact._loose:
        assert redact.text(line).count(redact.MASK) == 3
    assert redact._windows and redact._loose_spent == 0 and spent > 0
    assert redact.text(line) == _reference_mask(line, values)
    long_values = [f"later-{i:03d}-Zz{i * 31:07d}-qQ" for i in range(50)]
    redact.register(*long_values)
    text = ("plan text " * 20_000) + long_values[3] + values[4]
    assert redact.text(text).endswith(2 * redact.MASK)
    assert not redact._loose  # one long text: indexed at once
