"""The redaction layer: encoded forms of registered secrets, and cost linear in the number of secrets."""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import quote, quote_plus, urlencode

import pytest

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
