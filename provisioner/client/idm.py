"""IDM managed objects (``/openidm/managed/<realm>_<kind>``): paged queries, CRUD, relationships."""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from provisioner.client import paths
from provisioner.client.errors import NotFound, TenantError
from provisioner.client.response import Response
from provisioner.client.session import decoded
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


_COOKIE_KEY = b'"pagedResultsCookie"'
_COOKIE_VALUE = re.compile(rb'\s*:\s*("(?:[^"\\]|\\.)*"|null)')


def peek_cookie(content: bytes | None) -> str | None:
    """The ``pagedResultsCookie`` of an undecoded query answer, read from its end without decoding the
    page (IDM writes the envelope after the results), or None when it cannot tell. A guess only: the
    decoded envelope decides (a key of that name inside a result would mislead it, never the caller)."""
    if not content:
        return None
    at = content.rfind(_COOKIE_KEY)
    if at < 0:
        return None
    match = _COOKIE_VALUE.match(content, at + len(_COOKIE_KEY))
    if match is None or match.group(1) == b"null":
        return None
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) and value else None


class PageStream:
    """The pages of one query, fetched on their own thread as fast as the server answers: each page's
    cookie is read from its undecoded end (:func:`peek_cookie`) and the next page asked for at once,
    while the caller decodes the pages in order. The caller's decoded envelopes decide: :meth:`page`
    takes the page asked for with the cookie the caller expects; if the stream guessed another cookie,
    or has stopped, that page is fetched directly (and so is every page after it)."""

    _END = object()
    AHEAD = 2  # pages fetched and not yet taken, at most: a slow caller does not pile up a whole query

    def __init__(self, fetch: Callable[[str | None], Response]) -> None:
        self._fetch = fetch
        self._pages: queue.Queue[Any] = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._streaming = True
        threading.Thread(target=self._run, name="provisioner-pages", daemon=True).start()

    def _put(self, item: Any) -> bool:
        """Hand ``item`` over when there is room; False once the caller stopped taking pages."""
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        cookie: str | None = None
        seen: set[str] = set()
        try:
            while not self._stop.is_set():
                try:
                    response = self._fetch(cookie)
                except BaseException as exc:  # the caller raises it if it needs this page
                    self._put((cookie, None, exc))
                    return
                if not self._put((cookie, response, None)):
                    return
                cookie = peek_cookie(response.content)
                if cookie is None or cookie in seen:
                    return
                seen.add(cookie)
        finally:
            self._put(self._END)

    def page(self, cookie: str | None) -> Response:
        """The page asked for with ``cookie`` (``None``: the first)."""
        if self._streaming:
            item = self._pages.get()
            if item is not self._END and item[0] == cookie:
                if item[2] is not None:
                    raise item[2]
                return cast(Response, item[1])
            self.close()  # it went elsewhere, or ended: from here on one page at a time
        return self._fetch(cookie)

    def close(self) -> None:
        """Stop asking for pages (one on its way is left to finish; its answer is ignored)."""
        self._streaming = False
        self._stop.set()


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
        """Every page of a query, following ``pagedResultsCookie`` to the end.

        The pages form a chain (each cookie comes with the page before it), so decoding must not hold
        up asking for the next page: a :class:`PageStream` fetches them while they are decoded here,
        and each decoded envelope has the last word on which page comes next.
        """
        params: dict[str, Any] = {"_queryFilter": filter, "_pageSize": int(page_size), **_fields(fields)}

        def fetch(cookie: str | None) -> Response:
            # The cookie goes back exactly as received; the query string encodes it once.
            query = params if cookie is None else {**params, "_pagedResultsCookie": cookie}
            return self.client.request("GET", path, params=query, deferred=True)

        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        pages = PageStream(fetch)
        try:
            cookie: str | None = None
            for _ in range(MAX_PAGES):
                page, body = result_list("GET", path, decoded(pages.page(cookie)))
                items.extend(page)
                found = body.get("pagedResultsCookie")
                if found is None or found == "":
                    return items
                cookie = str(found)
                if cookie in seen:
                    raise TenantError(f"GET {path}: paging did not advance (cookie repeated)", method="GET", path=path)
                seen.add(cookie)
            raise TenantError(f"GET {path}: more than {MAX_PAGES} pages", method="GET", path=path)
        finally:
            pages.close()

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
