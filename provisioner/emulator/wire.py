"""Request and response records of the emulator, and the per-family wire headers (reference §12 W4)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .errors import EmulatorError

# AM, IDM, /environment, token endpoints, control plane.
AM, IDM, ENV, OAUTH, CONTROL = "am", "idm", "env", "oauth", "control"


class Headers(dict):
    """Request headers with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for key, value in items.items() if hasattr(items, "items") else items:
            super().__setitem__(str(key).lower(), value)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: Headers
    body: bytes
    base_url: str

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value of each."""
        return {k: v[0] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def form(self) -> dict[str, Any]:
        """URL-encoded form body; a repeated parameter becomes a list."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: (v[0] if len(v) == 1 else v) for k, v in parsed.items()}

    def json(self) -> Any:
        """The JSON body (``None`` when empty); malformed JSON is a 400."""
        from .errors import BadRequest

        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise BadRequest(
                "The request could not be processed because the provided content is not valid JSON"
            ) from None


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    family: str = CONTROL
    raw: bytes | None = None  # sent byte for byte instead of ``body`` (injected malformed responses)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":"), check_circular=False).encode("utf-8")


def error_response(exc: EmulatorError, family: str) -> Response:
    """THE place where a failure becomes an HTTP response."""
    return Response(exc.status, exc.body(family), dict(exc.headers), family)


def finalize(response: Response, request_headers: Headers) -> dict[str, str]:
    """The wire headers for ``response`` (content type, caching, transaction id echo)."""
    headers: dict[str, str] = {}
    family = response.family
    if family == AM:
        headers["Content-Type"] = "application/json;charset=UTF-8"
        headers["Cache-Control"] = "private, no-store" if response.status == 403 else "private"
        headers["Expires"] = "0"
        headers["Pragma"] = "no-cache"
    elif family in (IDM, ENV):
        headers["Content-Type"] = "application/json;charset=utf-8"
        headers["Cache-Control"] = "no-store"
    else:
        headers["Content-Type"] = "application/json"
        if family == OAUTH:
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
    txid = request_headers.get("x-forgerock-transactionid")
    if txid:
        headers["X-ForgeRock-TransactionId"] = txid
    headers.update(response.headers)
    return headers
