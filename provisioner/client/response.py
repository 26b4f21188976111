"""The parsed HTTP response every client call returns (no ``requests`` types leak past the session)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class _Headers(dict[str, str]):
    """A plain dict of headers with case-insensitive ``get`` (keys stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__({str(k).lower(): str(v) for k, v in (items or {}).items()})

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())


@dataclass(frozen=True)
class Response:
    """Status, headers (case-insensitive ``get``) and the parsed body (JSON value, text or ``None``).

    ``content``: the undecoded body of a response asked for with ``request(..., deferred=True)`` (its
    ``body`` is then ``None`` until :func:`provisioner.client.session.decoded`)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    content: bytes | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.headers, _Headers):
            object.__setattr__(self, "headers", _Headers(self.headers))

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def etag(self) -> str | None:
        """The ``ETag`` header exactly as sent (strong, double-quoted), usable as ``If-Match``."""
        return self.headers.get("etag")

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    @property
    def retry_after(self) -> str | None:
        return self.headers.get("retry-after")


def unquote_etag(etag: str | None) -> str | None:
    """``"566187774"`` → ``566187774`` (also strips a weak ``W/`` prefix)."""
    if etag is None:
        return None
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value
