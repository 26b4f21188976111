"""The ``_queryFilter`` parser and paging helpers (pure functions)."""

from __future__ import annotations

import pytest

from provisioner.emulator.backend.query import decode_cookie, encode_cookie, page, parse_filter
from provisioner.emulator.errors import BadRequest

OBJ = {
    "_id": "a1",
    "name": "Orders API",
    "count": 3,
    "active": True,
    "tags": ["x", "y"],
    "ssoEntities": {"oidcId": "orders"},
    "resourceData": {"ssoEntities": {"oidcId": "app-1"}},
    "subjectIDs": ["u1", "u2"],
}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("true", True),
        ("false", False),
        ('name eq "Orders API"', True),
        ("name eq 'Orders API'", True),
        ("name eq 'orders api'", False),
        ("_id eq 'a1'", True),
        ('name sw "Ord"', True),
        ('name co "ers A"', True),
        ('name co "zzz"', False),
        ("count eq 3", True),
        ("count gt 2", True),
        ("count le 2", False),
        ("active eq true", True),
        ("ssoEntities/oidcId eq 'orders'", True),
        ("/ssoEntities/oidcId eq 'orders'", True),
        ('resourceData/ssoEntities/oidcId eq "app-1"', True),
        ('subjectIDs eq "u2"', True),
        ("tags eq 'y'", True),
        ("missing pr", False),
        ("name pr", True),
        ('name eq "X" or _id eq "a1"', True),
        ('name eq "Orders API" and count eq 4', False),
        ('!(name eq "X")', True),
        ('!(name eq "Orders API")', False),
        ('(name eq "X" or count eq 3) and active eq true', True),
        ('name eq "Orders API" AND (tags eq "z" OR tags eq "x")', True),
        (r'name eq "say \"hi\""', False),
    ],
)
def test_filters(text: str, expected: bool) -> None:
    assert parse_filter(text)(OBJ) is expected


@pytest.mark.parametrize("text", ["", "name eq", "name xx 'a'", "(name eq 'a'", "name eq 'a' extra", "!name"])
def test_bad_filters_are_400(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_filter(text)(OBJ)


def test_paging_walks_with_opaque_cookies() -> None:
    items = list(range(7))
    seen, cookie = [], None
    while True:
        params = {"_pageSize": "3"}
        if cookie:
            params["_pagedResultsCookie"] = cookie
        result = page(items, params)
        assert result["totalPagedResultsPolicy"] == "NONE" and result["totalPagedResults"] == -1
        seen.extend(result["result"])
        cookie = result["pagedResultsCookie"]
        if cookie is None:
            break
    assert seen == items
    assert decode_cookie(encode_cookie(5)) == 5
    with pytest.raises(BadRequest):
        decode_cookie("garbage")
