"""AM scripts (``{AM}/scripts/<id>``): the OAuth2 plugin scripts a client's overrides may name, which
exports carry as dependencies. Create-or-replace by id, read, delete. No HTTP here."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound

if TYPE_CHECKING:
    from . import Backend

REQUIRED = ("name", "script", "language", "context")
MANAGED = ("createdBy", "creationDate", "lastModifiedBy", "lastModifiedDate")  # set by the server


class ScriptsBackend:
    def __init__(self, core: Backend) -> None:
        self.core = core
        self.store = core.store

    def _namespace(self, realm: str) -> str:
        if realm not in self.core.realms:
            raise NotFound()
        return f"am:{realm}:script"

    def get(self, realm: str, script_id: str) -> dict[str, Any]:
        doc = self.store.get(self._namespace(realm), script_id)
        if doc is None:
            raise NotFound()
        return {"_id": script_id, **doc}

    def put(self, realm: str, script_id: str, body: Any, actor: str) -> tuple[int, dict[str, Any]]:
        """201 for a new id, 200 when replacing; the stored script with its server-managed fields."""
        namespace = self._namespace(realm)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        missing = [name for name in REQUIRED if not isinstance(body.get(name), str) or not body.get(name)]
        if missing:
            raise BadRequest(f"Script is missing {', '.join(missing)}")
        existing = self.store.get(namespace, script_id)
        doc = {k: copy.deepcopy(v) for k, v in body.items() if not k.startswith("_") and k not in MANAGED}
        doc.setdefault("description", "")
        doc.setdefault("default", False)
        now = int(self.core.clock() * 1000)
        who = f"id={actor},ou=user,ou=am-config"
        doc["createdBy"] = existing["createdBy"] if existing else who
        doc["creationDate"] = existing["creationDate"] if existing else now
        doc["lastModifiedBy"] = who
        doc["lastModifiedDate"] = now
        self.store.put(namespace, script_id, doc)
        return (200 if existing else 201), {"_id": script_id, **doc}

    def delete(self, realm: str, script_id: str) -> dict[str, Any]:
        doc = self.get(realm, script_id)
        self.store.delete(self._namespace(realm), script_id)
        return doc
