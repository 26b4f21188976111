"""IDM managed objects (reference §5, §6.8, §7): CRUD, PATCH, queries, relationships, policies.

State and rules only; no HTTP. Every method runs inside the caller's store transaction.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, NotFound, PolicyFailure, PreconditionFailed, RevisionMismatch
from .am_forms import jcopy
from .idm_render import Reader, ns, parse_fields, render_edge, split_ref
from .idm_types import FEATURE_KINDS, TYPES, Rel, collection, split_type
from .patch import _ref_of, apply_patch
from .query import page, parse_filter, sort_items

if TYPE_CHECKING:
    from . import Backend


_INDEXED = ("name", "userName")  # the store's expression indexes


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def _check_rev(doc: dict[str, Any], if_match: str | None) -> None:
    if if_match is None:
        return
    wanted = if_match.strip()
    if wanted != "*" and wanted.strip('"') != doc["_rev"]:
        raise RevisionMismatch()


class IdmBackend:
    """``/openidm/managed/<realm>_<kind>`` for application, aiagent, aiagentprivilege, user, group."""

    def __init__(self, core: Backend) -> None:
        self.core = core
        self.store = core.store

    # -- addressing --------------------------------------------------------------------------------

    def resolve(self, type_name: str) -> tuple[str, str]:
        realm, kind = split_type(type_name, self.core.realms)
        if kind in FEATURE_KINDS and not self.core.ai_agents_enabled():
            raise NotFound()
        return realm, kind

    def reader(self, realm: str) -> Reader:
        return Reader(self.store, realm)

    def _existing(self, realm: str, kind: str, oid: str) -> dict[str, Any]:
        doc = self.store.get(ns(realm, kind), oid)
        if doc is None:
            raise NotFound()
        return doc

    # -- reads -------------------------------------------------------------------------------------

    def get(self, type_name: str, oid: str, fields: str | None) -> dict[str, Any]:
        realm, kind = self.resolve(type_name)
        return self.reader(realm).render(kind, self._existing(realm, kind, oid), parse_fields(fields))

    def query(self, type_name: str, params: dict[str, str]) -> dict[str, Any]:
        realm, kind = self.resolve(type_name)
        text = self._filter_text(params)
        predicate = parse_filter(text)
        reader = self.reader(realm)
        fields = parse_fields(params.get("_fields"))
        if text.strip().lower() == "true":  # everything: no need to render each object for the filter
            matches = list(reader.all(kind).values())
        else:
            matches = [doc for doc in reader.all(kind).values() if predicate(reader.full(kind, doc))]
        if not params.get("_sortKeys"):
            # Store order: page the stored objects, render only the page (a 1,000-object page of a 4,000-
            # object collection rendered all 4,000 for each of its 4 pages).
            envelope = page(matches, params)
            envelope["result"] = [reader.render(kind, doc, fields) for doc in envelope["result"]]
            return envelope
        rendered = [reader.render(kind, doc, fields) for doc in matches]
        return page(sort_items(rendered, params.get("_sortKeys")), params)

    @staticmethod
    def _filter_text(params: dict[str, str]) -> str:
        if "_queryFilter" in params:
            return params["_queryFilter"]
        if params.get("_queryId") == "query-all-ids":
            return "true"
        raise BadRequest("Query request must contain _queryFilter or _queryId")

    def relationship_query(self, type_name: str, oid: str, prop: str, params: dict[str, str]) -> dict[str, Any]:
        """``GET .../<id>/<relationship>``: the relationship-collection view (reference §7.5)."""
        realm, kind = self.resolve(type_name)
        rel = TYPES[kind].rels.get(prop)
        if rel is None:
            raise NotFound()
        reader = self.reader(realm)
        doc = self._existing(realm, kind, oid)
        predicate = parse_filter(self._filter_text(params))
        fields = parse_fields(params.get("_fields"))
        items = []
        for edge in reader.edges(kind, doc, prop):
            target = reader.target(edge["_ref"])
            if target is None or not predicate(reader.full(rel.target, target)):
                continue
            ref = render_edge(edge)
            props = ref["_refProperties"]
            item = {
                "_id": props.get("_id"),
                "_rev": props.get("_rev"),
                "_ref": ref["_ref"],
                "_refResourceCollection": ref["_refResourceCollection"],
                "_refResourceId": ref["_refResourceId"],
                "_refResourceRev": target["_rev"],
                "_refProperties": props,
            }
            if fields is not None:
                for key, value in reader.render(rel.target, target, fields).items():
                    if key not in ("_id", "_rev"):
                        item[key] = value
            items.append(item)
        return page(items, params)

    # -- writes ------------------------------------------------------------------------------------

    def create(self, type_name: str, body: Any, oid: str | None, fields: str | None) -> dict[str, Any]:
        """``POST ?_action=create`` or a PUT to a new id: 412 when the id exists."""
        realm, kind = self.resolve(type_name)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        oid = (
            oid
            or (body.get("_id") if isinstance(body.get("_id"), str) and body.get("_id") else None)
            or str(uuid.uuid4())
        )
        if self.store.get(ns(realm, kind), oid) is not None:
            raise PreconditionFailed()
        doc = {"_id": oid, "_rev": self.core.next_rev(), **self._build(realm, kind, oid, body, None)}
        self.store.put(ns(realm, kind), oid, doc)
        return self.reader(realm).render(kind, doc, parse_fields(fields))

    def put(
        self, type_name: str, oid: str, body: Any, if_match: str | None, if_none_match: str | None, fields: str | None
    ) -> tuple[int, dict[str, Any]]:
        realm, kind = self.resolve(type_name)
        existing = self.store.get(ns(realm, kind), oid)
        if if_none_match is not None:
            if if_none_match.strip() != "*":
                raise BadRequest("If-None-Match must be * for a create")
            if existing is not None:
                raise PreconditionFailed()
        if existing is None:
            if if_match is not None and if_match.strip() != "*":
                raise NotFound()
            return 201, self.create(type_name, body, oid, fields)
        _check_rev(existing, if_match)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        doc = self._save(realm, kind, existing, self._build(realm, kind, oid, body, existing))[0]
        return 200, self.reader(realm).render(kind, doc, parse_fields(fields))

    def patch(
        self, type_name: str, oid: str, operations: Any, if_match: str | None, fields: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Apply IDM patch operations; returns ``(rendered, changed)``."""
        realm, kind = self.resolve(type_name)
        existing = self._existing(realm, kind, oid)
        _check_rev(existing, if_match)
        editable = {k: v for k, v in existing.items() if k not in ("_id", "_rev")}
        patched = apply_patch(editable, operations)
        doc, changed = self._save(realm, kind, existing, self._build(realm, kind, oid, patched, existing))
        return self.reader(realm).render(kind, doc, parse_fields(fields)), changed

    def delete(self, type_name: str, oid: str, if_match: str | None, fields: str | None) -> dict[str, Any]:
        realm, kind = self.resolve(type_name)
        existing = self._existing(realm, kind, oid)
        _check_rev(existing, if_match)
        rendered = self.reader(realm).render(kind, existing, parse_fields(fields))
        self.delete_object(realm, kind, oid)
        return rendered

    # -- rules -------------------------------------------------------------------------------------

    def _save(
        self, realm: str, kind: str, existing: dict[str, Any], fields: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Store ``fields`` over ``existing``; the ``_rev`` moves only when something changed (W5)."""
        before = {k: v for k, v in existing.items() if k not in ("_id", "_rev")}
        if before == fields:
            return existing, False
        doc = {"_id": existing["_id"], "_rev": self.core.next_rev(), **fields}
        self.store.put(ns(realm, kind), existing["_id"], doc)
        return doc, True

    def _build(
        self, realm: str, kind: str, oid: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The stored fields for a write body: virtuals dropped, refs normalised, policies checked."""
        tdef = TYPES[kind]
        doc: dict[str, Any] = {}
        for key, value in body.items():
            if key in ("_id", "_rev") or key in tdef.virtual:
                continue
            rel = tdef.rels.get(key)
            if rel is None:
                doc[key] = jcopy(value)
            elif rel.reverse_of is not None:
                if rel.many and not isinstance(value, list):
                    raise PolicyFailure(key, "VALID_TYPE", {"invalidType": _json_type(value), "validTypes": ["array"]})
                # reverse sides are maintained by IDM from the forward side
            else:
                edges = self._edges(realm, key, rel, value, (existing or {}).get(key))
                if edges is not None:
                    doc[key] = edges
        if existing is not None:
            for key in tdef.hidden:  # a password left out of a replace is kept
                if key not in body and key in existing:
                    doc[key] = existing[key]
            if not self.core.config.flag("idm.put.clearOmittedRelationships"):
                for key, rel in tdef.rels.items():
                    if rel.reverse_of is None and key not in body and key in existing:
                        doc[key] = existing[key]
        self._check_policies(realm, kind, oid, doc)
        return doc

    def _edges(self, realm: str, prop: str, rel: Rel, value: Any, old_value: Any) -> Any:
        old = {e["_ref"]: e for e in (old_value if isinstance(old_value, list) else [old_value] if old_value else [])}
        if rel.many:
            if value is None:
                return []
            if not isinstance(value, list):
                raise PolicyFailure(prop, "VALID_TYPE", {"invalidType": _json_type(value), "validTypes": ["array"]})
            edges: list[dict[str, Any]] = []
            for item in value:
                ref = self._ref(realm, prop, rel, item)
                if all(e["_ref"] != ref for e in edges):
                    edges.append(old.get(ref) or self._new_edge(ref))
            return edges
        if value is None:
            return None
        if not isinstance(value, dict):
            raise PolicyFailure(prop, "VALID_TYPE", {"invalidType": _json_type(value), "validTypes": ["object"]})
        ref = self._ref(realm, prop, rel, value)
        return old.get(ref) or self._new_edge(ref)

    def _new_edge(self, ref: str) -> dict[str, Any]:
        return {
            "_ref": ref,
            "_refProperties": {"_id": self.core.next_rev(edge=True), "_rev": self.core.next_rev(edge=True)},
        }

    def _ref(self, realm: str, prop: str, rel: Rel, value: Any) -> str:
        ref = _ref_of(value)
        prefix = collection(realm, rel.target) + "/"
        if ref is None or not ref.startswith(prefix) or len(ref) == len(prefix):
            raise BadRequest(f"Invalid relationship reference for {prop}: expected {prefix}<id>")
        if rel.target in TYPES and self.store.get(ns(realm, rel.target), ref[len(prefix) :]) is None:
            raise BadRequest(f"Relationship target {ref} does not exist")
        return ref

    def _check_policies(self, realm: str, kind: str, oid: str, doc: dict[str, Any]) -> None:
        tdef = TYPES[kind]
        for prop in tdef.required:
            if doc.get(prop) in (None, "", []):
                raise PolicyFailure(prop, "REQUIRED")
        for prop in tdef.unique:
            value = doc.get(prop)
            if value is None:
                continue
            # Only a string can equal a string: the indexed lookup finds every candidate.
            others = (
                self.store.items_where(ns(realm, kind), prop, value)
                if isinstance(value, str)
                else self.store.items(ns(realm, kind))
            )
            for other_id, other in others:
                if other_id != oid and other.get(prop) == value:
                    raise PolicyFailure(prop, "UNIQUE")

    def delete_object(self, realm: str, kind: str, oid: str) -> None:
        """Delete and keep the graph consistent: agent → its privileges (the ``onDelete`` hook);
        application → privileges lose ``resource`` (or go, ``idm.app.deleteCascade``); every other
        ref to the object is removed."""
        if not self.store.delete(ns(realm, kind), oid):
            return
        me = f"{collection(realm, kind)}/{oid}"
        cascade = kind == "aiagent" or (kind == "application" and self.core.config.flag("idm.app.deleteCascade"))
        if cascade:
            prop = "agent" if kind == "aiagent" else "resource"
            # Documents that do not contain the ref string cannot point at it: skip decoding them.
            for pid, privilege in self.store.items_containing(ns(realm, "aiagentprivilege"), me):
                if (privilege.get(prop) or {}).get("_ref") == me:
                    self.delete_object(realm, "aiagentprivilege", pid)
        for source_kind, tdef in TYPES.items():
            props = [p for p, r in tdef.rels.items() if r.reverse_of is None and r.target == kind]
            if not props:
                continue
            # Sources without the ref string are unchanged (_save would not write them).
            for _sid, source in self.store.items_containing(ns(realm, source_kind), me):
                fields = {k: v for k, v in source.items() if k not in ("_id", "_rev")}
                for prop in props:
                    value = fields.get(prop)
                    if isinstance(value, list):
                        fields[prop] = [e for e in value if e.get("_ref") != me]
                    elif isinstance(value, dict) and value.get("_ref") == me:
                        del fields[prop]
                self._save(realm, source_kind, source, fields)

    # -- used by AM (the AI agent identity, reference §6.3–§6.5) -----------------------------------

    def agent_identity(self, realm: str, uid: str) -> dict[str, Any] | None:
        return self.store.get(ns(realm, "aiagent"), uid)

    def write_agent_identity(self, realm: str, uid: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create the identity, or update the given fields of an existing one (rev moves on change)."""
        existing = self.agent_identity(realm, uid)
        if existing is None:
            doc = {"_id": uid, "_rev": self.core.next_rev(), **fields}
            self.store.put(ns(realm, "aiagent"), uid, doc)
            return doc
        merged = {k: v for k, v in existing.items() if k not in ("_id", "_rev")}
        merged.update(fields)
        return self._save(realm, "aiagent", existing, merged)[0]

    def find(self, realm: str, kind: str, prop: str, value: Any) -> dict[str, Any] | None:
        docs = (
            self.store.items_where(ns(realm, kind), prop, value)
            if isinstance(value, str) and prop in _INDEXED
            else self.store.items(ns(realm, kind))
        )
        for _, doc in docs:
            if doc.get(prop) == value:
                return doc
        return None

    @staticmethod
    def ref_id(edge: dict[str, Any]) -> str:
        return split_ref(edge["_ref"])[1]
