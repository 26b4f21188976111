"""AM realm configuration: the OAuth2 provider service and the OAuth2Client / AIAgent collections.

Paths and payloads only; the session owns versions, auth, retries and errors. Reads of single objects
return the wrapped form with its ``ETag``; lists return plain items (reference §4.3).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from provisioner.client import paths
from provisioner.client.errors import BadRequest, NotFound, TenantError
from provisioner.client.response import unquote_etag
from provisioner.client.shape import json_object, optional_object, result_list
from provisioner.client.wrapping import unwrap, wrap, write_body

if TYPE_CHECKING:
    from provisioner.client.session import TenantClient

__all__ = ["AMApi", "KINDS", "unwrap", "wrap", "write_body"]

KINDS = ("OAuth2Client", "AIAgent")
PROVIDER = ("realm-config", "services", "oauth-oidc")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown AM agent kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


class AMApi:
    """One realm's AM configuration (``client.am("alpha")``)."""

    def __init__(self, client: TenantClient, realm: str) -> None:
        self.client = client
        self.realm = realm

    def _agent_path(self, kind: str, client_id: str | None = None) -> str:
        segments = ["realm-config", "agents", _check_kind(kind)]
        if client_id is not None:
            segments.append(client_id)
        return paths.am(self.realm, *segments)

    # -- provider ----------------------------------------------------------------------------------

    def get_provider(self) -> tuple[dict[str, Any], str | None]:
        """``(document, rev)`` of the realm's ``oauth-oidc`` service (never wrapped)."""
        path = paths.am(self.realm, *PROVIDER)
        try:
            response = self.client.request("GET", path)
        except NotFound as exc:  # every realm has one: a 404 is a realm name the tenant does not know
            raise NotFound(
                f"{exc}: realm {self.realm!r} has no OAuth2 provider; check the realm name (--realm, "
                f"metadata.realm or the environment file's realm:)",
                status=exc.status,
                code=exc.code,
                reason=exc.reason,
                method=exc.method,
                path=exc.path,
                detail=exc.detail,
                server_message=exc.server_message,
            ) from None
        doc = json_object("GET", path, response)
        rev = doc.get("_rev") if isinstance(doc.get("_rev"), str) else unquote_etag(response.etag)
        return doc, rev

    def put_provider(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole provider document (``_rev`` dropped, ``_id``/``_type`` kept); returns the echo."""
        body = {k: v for k, v in doc.items() if k != "_rev"}
        path = paths.am(self.realm, *PROVIDER)
        response = self.client.request("PUT", path, json=body)
        return optional_object("PUT", path, response)

    # -- OAuth2Client / AIAgent --------------------------------------------------------------------

    def list(self, kind: str, fields: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every ``kind`` object in the realm, plain form (``_queryFilter=true``; never ``_pageSize``).

        ``fields``: CREST ``_fields`` pointers (``coreOAuth2ClientConfig/scopes``) to ask for only those
        parts of each object: a plan's list of thousands of clients is a tenth of the bytes. A server
        that ignores ``_fields`` answers whole objects (still correct); one that refuses it (400),
        answers items without a group a pointer names, or gives a cut item another ``_rev`` than the
        whole object has (checked on one object), is asked again without it. Callers that write
        documents back must not pass ``fields``.
        """
        if fields:
            try:
                items = self._list(kind, {"_queryFilter": "true", "_fields": ",".join(fields)})
            except BadRequest:
                items = None
            # Every client holds its configuration groups: an answer without a group a pointer named
            # was cut differently than asked (e.g. to top-level names only), so ask for whole objects.
            groups = {f.split("/", 1)[0] for f in fields if "/" in f}
            if items is not None and all(groups <= item.keys() for item in items):
                if not items or self._same_revision(kind, items[0]):
                    return items
        return self._list(kind, {"_queryFilter": "true"})

    def _same_revision(self, kind: str, item: Mapping[str, Any]) -> bool:
        """Whether a cut list item carries the revision of the whole object, as the stale checks need
        (they compare it with whole reads). AM's ``_rev`` depends on the representation (list, single
        GET and cross-type query differ); CREST keeps a resource's revision when it filters fields,
        which one object read whole confirms here (a changed or deleted object in between only costs
        the whole list)."""
        whole = self.find(kind, str(item.get("_id")))
        return whole is not None and whole.get("_rev") == item.get("_rev")

    def _list(self, kind: str, params: dict[str, str]) -> builtins.list[dict[str, Any]]:
        path = self._agent_path(kind)
        items: builtins.list[dict[str, Any]] = []
        first = dict(params)
        seen: set[str] = set()
        while True:
            page, body = result_list("GET", path, self.client.request("GET", path, params=params))
            items.extend(page)
            cookie = body.get("pagedResultsCookie")
            if not cookie:  # AM lists are unpaged; follow a cookie only if one ever appears
                return items
            if cookie in seen:
                raise TenantError(f"GET {path}: paging did not advance", method="GET", path=path)
            seen.add(cookie)
            params = {**first, "_pagedResultsCookie": cookie}

    def find(self, kind: str, client_id: str) -> dict[str, Any] | None:
        """One object in plain (list) form with its list ``_rev``, via ``_queryFilter=_id eq '<id>'``.

        Never compare this ``_rev`` with a single-GET ``_rev`` (reference §12 W1).
        """
        quoted = client_id.replace("\\", "\\\\").replace("'", "\\'")
        path = self._agent_path(kind)
        items, _ = result_list(
            "GET", path, self.client.request("GET", path, params={"_queryFilter": f"_id eq '{quoted}'"})
        )
        matches = [item for item in items if item.get("_id") == client_id]
        return dict(matches[0]) if matches else None

    def get(self, kind: str, client_id: str) -> tuple[dict[str, Any], str | None] | None:
        """``(wrapped document, ETag)`` or ``None`` when the object does not exist."""
        path = self._agent_path(kind, client_id)
        try:
            response = self.client.request("GET", path)
        except NotFound:
            return None
        return json_object("GET", path, response), response.etag

    def put(
        self, kind: str, client_id: str, body: Mapping[str, Any], *, create_only: bool = False
    ) -> tuple[dict[str, Any], str | None]:
        """Create or replace the whole object; ``create_only`` sends ``If-None-Match: *`` (412 if it exists).

        Returns ``(wrapped echo, ETag)``. A create-only PUT that fails ambiguously raises
        ``TransportError(ambiguous=True)``: re-read and match by key before trying again.
        """
        headers = {"If-None-Match": "*"} if create_only else None
        path = self._agent_path(kind, client_id)
        response = self.client.request("PUT", path, json=write_body(body), headers=headers)
        return optional_object("PUT", path, response), response.etag

    def delete(self, kind: str, client_id: str) -> dict[str, Any] | None:
        """Delete the object; returns the deleted (wrapped) object, or ``None`` if it was already gone."""
        try:
            response = self.client.request("DELETE", self._agent_path(kind, client_id))
        except NotFound:
            return None
        return dict(response.body or {}) if isinstance(response.body, Mapping) else {}

    def agent_types(self) -> builtins.list[dict[str, Any]]:  # `list` is a method of this class
        """``getAllTypes``: the agent types the realm offers (``AIAgent`` only when the feature is on)."""
        path = paths.am(self.realm, "realm-config", "agents")
        response = self.client.request("POST", path, params={"_action": "getAllTypes"}, json={}, idempotent=True)
        return result_list("POST", path, response)[0]
