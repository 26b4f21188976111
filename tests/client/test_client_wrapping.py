"""The AM wrap/unwrap and write-body hygiene (reference §4.3, §4.4, §6.6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.client.wrapping import is_wrapped, unwrap, wrap, write_body

WRAPPED = {
    "_id": "mcp-server",
    "_rev": "108502536",
    "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
    "coreOAuth2ClientConfig": {
        "scopes": {"inherited": False, "value": ["openid", "profile"]},
        "clientName": {"inherited": False, "value": ["MCP"]},
        "accessTokenLifetime": {"inherited": False, "value": 0},
        "redirectionUris": {"inherited": False},
        "status": {"inherited": False, "value": "Active"},
    },
    "advancedOAuth2ClientConfig": {"grantTypes": {"inherited": False, "value": ["client_credentials"]}},
    "overrideOAuth2ClientConfig": {"providerOverridesEnabled": True, "clientsideTokensEnabled": None},
    "aiAgentIdentityUid": {"inherited": False, "value": "63d324ec-78c6-4c84-a629-aaaaaaaaaaaa"},
    "aiAgentIdentityAttributes": {
        "inherited": False,
        "value": {"_id": "63d3", "name": "MCP", "customAttributes": None},
    },
}
PLAIN = {
    "_id": "mcp-server",
    "_rev": "108502536",
    "_type": {"_id": "AIAgent", "name": "AI Agents", "collection": True},
    "coreOAuth2ClientConfig": {
        "scopes": ["openid", "profile"],
        "clientName": ["MCP"],
        "accessTokenLifetime": 0,
        "redirectionUris": None,
        "status": "Active",
    },
    "advancedOAuth2ClientConfig": {"grantTypes": ["client_credentials"]},
    "overrideOAuth2ClientConfig": {"providerOverridesEnabled": True, "clientsideTokensEnabled": None},
    "aiAgentIdentityUid": "63d324ec-78c6-4c84-a629-aaaaaaaaaaaa",
    "aiAgentIdentityAttributes": {"_id": "63d3", "name": "MCP", "customAttributes": None},
}


def test_unwrap_single_get_form() -> None:
    assert unwrap(WRAPPED) == PLAIN


def test_unwrap_is_identity_on_plain_form() -> None:
    assert unwrap(PLAIN) == PLAIN


def test_wrap_is_the_inverse_on_read_shapes() -> None:
    assert wrap(PLAIN) == WRAPPED
    assert wrap(WRAPPED) == WRAPPED


def test_override_group_is_never_touched() -> None:
    doc = {"overrideOAuth2ClientConfig": {"x": {"inherited": False, "value": 1}}}
    assert unwrap(doc) == doc
    assert wrap({"overrideOAuth2ClientConfig": {"x": 1}}) == {"overrideOAuth2ClientConfig": {"x": 1}}


def test_userpassword_stays_plain_on_wrap() -> None:
    assert wrap({"coreOAuth2ClientConfig": {"userpassword": "s3cr3t-value", "scopes": ["a"]}}) == {
        "coreOAuth2ClientConfig": {"userpassword": "s3cr3t-value", "scopes": {"inherited": False, "value": ["a"]}}
    }


@pytest.mark.parametrize(
    "value,wrapped,plain",
    [
        ({"inherited": False, "value": 3}, True, 3),
        ({"inherited": True, "value": [1]}, True, [1]),
        ({"inherited": False}, True, None),
        ({"inherited": False, "value": 1, "other": 2}, False, {"inherited": False, "value": 1, "other": 2}),
        ({"value": 1}, False, {"value": 1}),
        ("x", False, "x"),
    ],
)
def test_unwrap_one_value(value: object, wrapped: bool, plain: object) -> None:
    assert is_wrapped(value) is wrapped
    assert unwrap(value) == plain


def test_write_body_hygiene() -> None:
    body = {
        "_id": "x",
        "_rev": "1",
        "_provider": {},
        "_type": {"_id": "AIAgent"},
        "coreOAuth2ClientConfig": {"userpassword-encrypted": "zzz", "scopes": ["a"]},
        "secret-encrypted": "y",
    }
    assert write_body(body) == {"_type": {"_id": "AIAgent"}, "coreOAuth2ClientConfig": {"scopes": ["a"]}}
    assert "_id" in body  # the input is not changed


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)
_fields = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=6), _json, max_size=4)
_plain_docs = st.dictionaries(
    st.sampled_from(["coreOAuth2ClientConfig", "advancedOAuth2ClientConfig", "signEncOAuth2ClientConfig"]),
    _fields,
    max_size=3,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plain_docs)
def test_unwrap_wrap_roundtrip(doc: dict) -> None:
    assert unwrap(wrap(doc)) == doc


FIXTURES = Path("/work/shared/reference/fixtures")


@pytest.mark.skipif(not (FIXTURES / "oauth2client-list-plain-sample.json").exists(), reason="reference fixtures absent")
def test_recorded_wrapped_form_unwraps_to_the_recorded_list_form() -> None:
    wrapped = json.loads((FIXTURES / "oauth2client-get-wrapped-sample.json").read_text())
    listed = json.loads((FIXTURES / "oauth2client-list-plain-sample.json").read_text())
    item = next(i for i in listed["result"] if i["_id"] == wrapped["_id"])
    plain = unwrap(wrapped)
    for group, fields in plain.items():
        if group.startswith("_"):
            continue
        for name, value in fields.items():
            assert item[group].get(name) == value, f"{group}.{name}"
        # the list carries extra null keys the single GET lacks (§12 W9)
        assert all(item[group][k] is None for k in set(item[group]) - set(fields)), group
