"""Thin handlers (moto's ``responses`` role): read request parameters, call the backend, serialise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ..app import App
    from ..backend import Backend
    from ..wire import Request


@dataclass
class Ctx:
    app: App
    request: Request
    claims: dict[str, Any] | None = None

    @property
    def backend(self) -> Backend:
        return self.app.backend

    @property
    def query(self) -> dict[str, str]:
        return self.request.query

    def url(self, *segments: str, prefix: str) -> str:
        """Absolute URL of a resource (``Location``, reference W3); segments are quoted."""
        return self.request.base_url + prefix + "".join("/" + quote(s, safe="") for s in segments)


def etag(rev: str) -> dict[str, str]:
    return {"ETag": f'"{rev}"'}
