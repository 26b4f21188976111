"""Read forms of IDM objects: relationship refs, reverse sides, privilege virtual fields, ``_fields``."""

from __future__ import annotations

from typing import Any

from ..store import Store
from .am_forms import jcopy
from .idm_types import TYPES, collection


def ns(realm: str, kind: str) -> str:
    return f"idm:{realm}_{kind}"


def parse_fields(text: str | None) -> list[str] | None:
    """``_fields`` as top-level names (``a/b`` selects ``a``); ``None`` = the default set."""
    if text is None or not text.strip():
        return None
    names: list[str] = []
    for item in text.split(","):
        name = item.strip().split("/")[0] if not item.strip().startswith("/") else item.strip()[1:].split("/")[0]
        if name and name not in names:
            names.append(name)
    return names


def split_ref(ref: str) -> tuple[str, str]:
    coll, _, rid = ref.rpartition("/")
    return coll, rid


def render_edge(edge: dict[str, Any]) -> dict[str, Any]:
    coll, rid = split_ref(edge["_ref"])
    return {
        "_refResourceCollection": coll,
        "_refResourceId": rid,
        "_refProperties": dict(edge.get("_refProperties") or {}),
        "_ref": edge["_ref"],
    }


class Reader:
    """Loads and renders objects of one realm, caching collections for the duration of one call."""

    def __init__(self, store: Store, realm: str) -> None:
        self.store = store
        self.realm = realm
        self._cache: dict[str, dict[str, dict[str, Any]]] = {}
        self._one: dict[str, dict[str, dict[str, Any] | None]] = {}
        self._reverse_index: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def all(self, kind: str) -> dict[str, dict[str, Any]]:
        if kind not in self._cache:
            self._cache[kind] = dict(self.store.items(ns(self.realm, kind)))
        return self._cache[kind]

    def get(self, kind: str, oid: str) -> dict[str, Any] | None:
        if kind in self._cache:
            return self._cache[kind].get(oid)
        # One object: read just it (loading the whole collection per write made writes O(N)).
        one = self._one.setdefault(kind, {})
        if oid not in one:
            one[oid] = self.store.get(ns(self.realm, kind), oid)
        return one[oid]

    def target(self, ref: str) -> dict[str, Any] | None:
        coll, rid = split_ref(ref)
        kind = coll.partition("_")[2]
        return self.get(kind, rid) if kind in TYPES and coll == collection(self.realm, kind) else None

    # -- relationships -----------------------------------------------------------------------------

    def edges(self, kind: str, doc: dict[str, Any], prop: str) -> list[dict[str, Any]]:
        """Stored edges of ``prop`` (forward) or the computed ones (reverse), as ``{_ref,_refProperties}``."""
        rel = TYPES[kind].rels[prop]
        if rel.reverse_of is None:
            value = doc.get(prop)
            return [] if value is None else (value if isinstance(value, list) else [value])
        source_kind, source_prop = rel.reverse_of
        return list(self._reverse(source_kind, source_prop).get(f"{collection(self.realm, kind)}/{doc['_id']}", []))

    def _reverse(self, source_kind: str, source_prop: str) -> dict[str, list[dict[str, Any]]]:
        """Target ref → edges pointing back at the sources; built once per call (no N×M scans)."""
        key = f"{source_kind}.{source_prop}"
        if key not in self._reverse_index:
            index: dict[str, list[dict[str, Any]]] = {}
            for source in self.all(source_kind).values():
                value = source.get(source_prop)
                for edge in value if isinstance(value, list) else [value] if value else []:
                    index.setdefault(edge.get("_ref"), []).append(
                        {
                            "_ref": f"{collection(self.realm, source_kind)}/{source['_id']}",
                            "_refProperties": edge.get("_refProperties") or {},
                        }
                    )
            self._reverse_index[key] = index
        return self._reverse_index[key]

    def member_ids(self, group_ref: str) -> list[str]:
        group = self.target(group_ref)
        if group is None:
            return []
        return [split_ref(e["_ref"])[1] for e in self.edges("group", group, "members")]

    # -- privilege virtual fields (reference §7.1) -------------------------------------------------

    def virtuals(self, doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        agent_edge = doc.get("agent")
        if agent_edge:
            out["agentID"] = split_ref(agent_edge["_ref"])[1]
            agent = self.target(agent_edge["_ref"])
            if agent is not None and agent.get("oauth2ClientId") is not None:
                out["agentOAuth2ClientId"] = agent["oauth2ClientId"]
        resource: dict[str, Any] = {}
        resource_edge = doc.get("resource")
        app = self.target(resource_edge["_ref"]) if resource_edge else None
        if resource_edge and app is not None:
            coll, rid = split_ref(resource_edge["_ref"])
            if "ssoEntities" in app:
                resource["ssoEntities"] = jcopy(app["ssoEntities"])
            resource.update(
                {
                    "_rev": app["_rev"],
                    "_id": app["_id"],
                    "_refResourceCollection": coll,
                    "_refResourceId": rid,
                    "_ref": resource_edge["_ref"],
                }
            )
        out["resourceData"] = resource
        ids: list[str] = []
        for edge in doc.get("subjects") or []:
            ids.append(split_ref(edge["_ref"])[1])
        for edge in doc.get("subjectGroups") or []:
            ids.extend(self.member_ids(edge["_ref"]))
        out["subjectIDs"] = list(dict.fromkeys(ids))
        return out

    # -- rendering ---------------------------------------------------------------------------------

    def render(self, kind: str, doc: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        """The read form: plain (non-hidden) properties and virtuals by default; relationships only
        when ``_fields`` names them (or ``*_ref``)."""
        tdef = TYPES[kind]
        wanted = set(fields) if fields is not None else {"*"}
        defaults = "*" in wanted
        all_refs = "*_ref" in wanted
        out: dict[str, Any] = {"_id": doc["_id"], "_rev": doc["_rev"]}
        for key, value in doc.items():
            if key in ("_id", "_rev") or key in tdef.rels or key in tdef.hidden:
                continue
            if defaults or key in wanted:
                out[key] = jcopy(value)
        if tdef.virtual and (defaults or wanted & set(tdef.virtual)):
            for key, value in self.virtuals(doc).items():
                if defaults or key in wanted:
                    out[key] = value
        for prop, rel in tdef.rels.items():
            if not (all_refs or prop in wanted):
                continue
            edges = [render_edge(e) for e in self.edges(kind, doc, prop)]
            if rel.many:
                out[prop] = edges
            elif edges:
                out[prop] = edges[0]
        return out

    def full(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Every property, forward relationships included: what query filters see."""
        fields = ["*"] + [p for p, r in TYPES[kind].rels.items() if r.reverse_of is None]
        return self.render(kind, doc, fields)
