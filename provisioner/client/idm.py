"""IDM managed objects (``/openidm/managed/<realm>_<kind>``): paged queries, CRUD, relationships."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provisioner.client import paths
from provisioner.client.errors import NotFound, TenantError
from provisioner.client.shape import json_object, optional_object, result_list

if TYPE_CHECKING:
    from provisioner.client.session import TenantClient

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_PAGES = 100_000  # a guard against a server that never ends a query


def managed(realm: str, kind: str) -> str:
    """The managed object type of ``kind`` in ``realm``: ``managed("alpha", "aiagent")`` → ``alpha_aiagent``."""
    name = paths.realm_parts(realm)[-1] if paths.realm_parts(realm) else ""
    if not _NAME.match(name) or not _NAME.match(kind):
        raise ValueError(f"invalid realm or kind for a managed object type: {realm!r}, {kind!r}")
    return f"{name}_{kind}"


def _fields(fields: Iterable[str]) -> dict[str, str]:
    names = [f for f in fields if f]
    return {"_fields": ",".join(names)} if names else {}


def _if_match(rev: str | None) -> dict[str, str]:
    if rev is None:
        return {}
    return {"If-Match": rev if rev.startswith('"') or rev == "*" else f'"{rev}"'}


class IDMApi:
    """``client.idm``: managed objects by type (``alpha_application``, ``alpha_aiagentprivilege``...)."""

    managed = staticmethod(managed)

    def __init__(self, client: TenantClient) -> None:
        self.client = client

    def _paged(self, path: str, filter: str, fields: Sequence[str], page_size: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"_queryFilter": filter, "_pageSize": int(page_size), **_fields(fields)}
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page, body = result_list("GET", path, self.client.request("GET", path, params=params))
            items.extend(page)
            cookie = body.get("pagedResultsCookie")
            if cookie is None or cookie == "":
                return items
            if cookie in seen:
                raise TenantError(f"GET {path}: paging did not advance (cookie repeated)", method="GET", path=path)
            seen.add(cookie)
            # The cookie goes back exactly as received; requests encodes it once for the query string.
            params = {**params, "_pagedResultsCookie": cookie}
        raise TenantError(f"GET {path}: more than {MAX_PAGES} pages", method="GET", path=path)

    def query(
        self, object_type: str, filter: str = "true", fields: Sequence[str] = (), page_size: int = 1000
    ) -> list[dict[str, Any]]:
        """Every object of ``object_type`` matching ``filter``, following ``pagedResultsCookie`` to the end."""
        return self._paged(paths.managed(object_type), filter, fields, page_size)

    def relationship(
        self,
        object_type: str,
        object_id: str,
        field: str,
        fields: Sequence[str] = (),
        filter: str = "true",
        page_size: int = 1000,
    ) -> list[dict[str, Any]]:
        """A relationship collection, e.g. an agent's ``privileges`` (items' ``_id`` is the edge id)."""
        return self._paged(paths.managed(object_type, object_id, field), filter, fields, page_size)

    def get(self, object_type: str, object_id: str, fields: Sequence[str] = ()) -> dict[str, Any] | None:
        """One object (with ``_rev``), or ``None`` when it does not exist."""
        path = paths.managed(object_type, object_id)
        try:
            response = self.client.request("GET", path, params=_fields(fields))
        except NotFound:
            return None
        return json_object("GET", path, response)

    def put(
        self,
        object_type: str,
        object_id: str,
        body: Mapping[str, Any],
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """Create (client-chosen id) or replace; ``if_none_match`` makes it create-only (412 if present)."""
        headers = {"If-None-Match": "*"} if if_none_match else {}
        headers.update(_if_match(if_match))
        path = paths.managed(object_type, object_id)
        response = self.client.request("PUT", path, json=dict(body), headers=headers)
        return optional_object("PUT", path, response)

    def create(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create with a server-assigned id (``POST ?_action=create``; never retried)."""
        path = paths.managed(object_type)
        response = self.client.request("POST", path, params={"_action": "create"}, json=dict(body))
        return optional_object("POST", path, response)

    def patch(
        self,
        object_type: str,
        object_id: str,
        ops: Sequence[Mapping[str, Any]],
        *,
        if_match: str | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Apply patch operations. Retried like PUT only when idempotent (default: every op a ``replace``)."""
        if idempotent is None:
            idempotent = bool(ops) and all(op.get("operation") == "replace" for op in ops)
        path = paths.managed(object_type, object_id)
        response = self.client.request(
            "PATCH", path, json=[dict(op) for op in ops], headers=_if_match(if_match), idempotent=idempotent
        )
        return optional_object("PATCH", path, response)

    def delete(self, object_type: str, object_id: str, *, if_match: str | None = None) -> dict[str, Any] | None:
        """Delete; returns the deleted object, or ``None`` when it was already gone."""
        try:
            response = self.client.request("DELETE", paths.managed(object_type, object_id), headers=_if_match(if_match))
        except NotFound:
            return None
        return dict(response.body) if isinstance(response.body, Mapping) else {}
