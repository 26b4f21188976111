"""CREST ``_queryFilter`` parsing and evaluation, and IDM paging with opaque cookies.

Grammar (case-insensitive keywords)::

    expr   := or
    or     := and ("or" and)*
    and    := unary ("and" unary)*
    unary  := "!" unary | "(" expr ")" | "true" | "false" | path "pr" | path OP literal
    OP     := eq | co | sw | gt | ge | lt | le
    literal:= "..." | '...' | number | true | false | null
    path   := field names separated by "/", e.g. resourceData/ssoEntities/oidcId

A path that reaches a list matches when any element matches (IDM semantics for multi-valued fields).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from ..errors import BadRequest

Predicate = Callable[[Any], bool]

_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<punct>[()!])|(?P<word>[^\s()!"']+))""")
_OPS = ("eq", "co", "sw", "gt", "ge", "lt", "le")
_MISSING = object()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _invalid(text)
        kind = match.lastgroup or "word"
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _invalid(text: str) -> BadRequest:
    return BadRequest(f"Invalid query filter '{text}'")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _invalid(self.text)
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.or_()
        if self.peek() is not None:
            raise _invalid(self.text)
        return predicate

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.keyword("or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda obj: any(p(obj) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda obj: all(p(obj) for p in parts))

    def unary(self) -> Predicate:
        kind, value = self.take()
        if kind == "punct" and value == "!":
            inner = self.unary()
            return lambda obj: not inner(obj)
        if kind == "punct" and value == "(":
            inner = self.or_()
            if self.take() != ("punct", ")"):
                raise _invalid(self.text)
            return inner
        if kind != "word":
            raise _invalid(self.text)
        if value.lower() == "true":
            return lambda obj: True
        if value.lower() == "false":
            return lambda obj: False
        path = [p for p in value.split("/") if p]
        op_kind, op = self.take()
        op = op.lower()
        if op_kind == "word" and op == "pr":
            return lambda obj: _present(_resolve(obj, path))
        if op_kind != "word" or op not in _OPS:
            raise _invalid(self.text)
        literal = _literal(self.take(), self.text)
        return lambda obj: _compare(_resolve(obj, path), op, literal)


def _literal(token: tuple[str, str], text: str) -> Any:
    kind, value = token
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if kind != "word":
        raise _invalid(text)
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise _invalid(text) from None


def _resolve(obj: Any, path: list[str]) -> Any:
    values = [obj]
    for name in path:
        next_values = []
        for value in values:
            if isinstance(value, list):
                value_items = value
            else:
                value_items = [value]
            for item in value_items:
                if isinstance(item, dict) and name in item:
                    next_values.append(item[name])
        if not next_values:
            return _MISSING
        values = next_values
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _present(values: Any) -> bool:
    return values is not _MISSING and any(v is not None for v in values)


def _compare(values: Any, op: str, literal: Any) -> bool:
    if values is _MISSING:
        return False
    return any(_compare_one(v, op, literal) for v in values)


def _compare_one(value: Any, op: str, literal: Any) -> bool:
    if op == "eq":
        return value == literal
    if value is None or literal is None:
        return False
    if op in ("co", "sw"):
        if not isinstance(value, str) or not isinstance(literal, str):
            return False
        return literal in value if op == "co" else value.startswith(literal)
    try:
        if op == "gt":
            return value > literal
        if op == "ge":
            return value >= literal
        if op == "lt":
            return value < literal
        return value <= literal
    except TypeError:
        return False


def parse_filter(text: str) -> Predicate:
    """Compile a ``_queryFilter``; ``BadRequest`` when it does not parse."""
    if text is None or not text.strip():
        raise BadRequest("Query filter is empty")
    return _Parser(text).parse()


# -- paging ----------------------------------------------------------------------------------------


def encode_cookie(offset: int) -> str:
    return base64.urlsafe_b64encode(f"emulator-offset:{offset}".encode()).decode()


def decode_cookie(cookie: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cookie.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "emulator-offset":
            raise ValueError
        return int(number)
    except ValueError:
        raise BadRequest("Invalid paged results cookie") from None


def page(items: list[Any], query: dict[str, str]) -> dict[str, Any]:
    """The IDM query envelope for ``items`` under ``_pageSize``/``_pagedResultsCookie``/offset."""
    try:
        size = int(query.get("_pageSize") or 0)
        offset = int(query.get("_pagedResultsOffset") or 0)
    except ValueError:
        raise BadRequest("Invalid paging parameter") from None
    if query.get("_pagedResultsCookie"):
        offset = decode_cookie(query["_pagedResultsCookie"])
    cookie = None
    if size > 0:
        chunk = items[offset : offset + size]
        if offset + size < len(items):
            cookie = encode_cookie(offset + size)
    else:
        chunk = items[offset:]
    return {
        "result": chunk,
        "resultCount": len(chunk),
        "pagedResultsCookie": cookie,
        "totalPagedResultsPolicy": "NONE",
        "totalPagedResults": -1,
        "remainingPagedResults": -1,
    }


def sort_items(items: list[dict[str, Any]], sort_keys: str | None) -> list[dict[str, Any]]:
    """``_sortKeys=a,-b``: stable multi-key sort; missing values sort first."""
    if not sort_keys:
        return items
    for key in reversed([k for k in sort_keys.split(",") if k]):
        desc = key.startswith("-")
        name = key.lstrip("+-")
        path = [p for p in name.split("/") if p]

        def sort_value(obj: dict[str, Any], path: list[str] = path) -> tuple[int, str]:
            found = _resolve(obj, path)
            if found is _MISSING or not found:
                return (0, "")
            return (1, str(found[0]))

        items = sorted(items, key=sort_value, reverse=desc)
    return items
