"""AM realm config (reference §3, §4, §6): the OAuth2 provider and the OAuth2Client / AIAgent
collections, including the AI agent identity that AM creates in IDM. No HTTP here."""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, Conflict, InvalidAttribute, NotFound, PreconditionFailed, RevisionMismatch
from . import am_forms as forms
from .idm_types import load_json
from .query import parse_filter

if TYPE_CHECKING:
    from . import Backend

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]+$")
KNOWN_GRANT_TYPES = frozenset(
    {
        "authorization_code",
        "implicit",
        "password",
        "client_credentials",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:saml2-bearer",
        "urn:ietf:params:oauth:grant-type:uma-ticket",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:openid:params:grant-type:ciba",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
)
PROVIDER_TYPE = {"_id": "oauth-oidc", "name": "OAuth2 Provider", "collection": False}


def provider_seed(realm: str) -> dict[str, Any]:
    """The recorded ``alpha`` provider (fixture), re-targeted at ``realm``, without ``_id``/``_rev``."""
    doc = load_json("oauth-oidc-provider.json")
    for key in ("_id", "_rev", "_type"):
        doc.pop(key, None)
    config = doc.get("aiAgentsConfig") or {}
    for key in ("aiAgentsIdentityObjectName", "aiAgentsPrivilegeObjectName"):
        if isinstance(config.get(key), str):
            config[key] = config[key].replace("alpha_", f"{realm}_")
    return doc


def field_pointers(text: str | None) -> list[tuple[str, ...]]:
    """CREST ``_fields``: comma-separated JSON pointers (``a/b`` or ``/a/b``) as key paths."""
    out: list[tuple[str, ...]] = []
    for item in (text or "").split(","):
        path = tuple(part for part in item.strip().strip("/").split("/") if part)
        if path and path not in out:
            out.append(path)
    return out


def select_fields(item: dict[str, Any], pointers: list[tuple[str, ...]]) -> dict[str, Any]:
    """Only the parts of ``item`` the pointers name, at their places (as CREST filters a resource): a
    pointer to something the item does not hold adds nothing; one to a null value keeps the null."""
    out: dict[str, Any] = {}
    for path in pointers:
        value: Any = item
        for key in path:
            if not isinstance(value, dict) or key not in value:
                break
            value = value[key]
        else:
            place = out
            for key in path[:-1]:
                place = place.setdefault(key, {})
            place[path[-1]] = value
    return out


class AmBackend:
    def __init__(self, core: Backend) -> None:
        self.core = core
        self.store = core.store
        self.config = core.config
        #: (namespace, with _type) -> {client id: (stored text, rendered list item)}: a list item is a
        #: pure function of the stored document, so an unchanged document is not decoded, rendered and
        #: hashed again on every list read (most of a list's cost after a write emptied the read cache).
        #: Items are shared between answers: nothing may change them after rendering.
        self._plain: dict[tuple[str, bool], dict[str, tuple[str, dict[str, Any]]]] = {}

    def _realm(self, realm: str) -> None:
        if realm not in self.core.realms:
            raise NotFound()

    def _kind(self, kind: str) -> None:
        if kind not in forms.AGENT_TYPES or (kind == "AIAgent" and not self.core.ai_agents_enabled()):
            raise NotFound()

    # -- provider ----------------------------------------------------------------------------------

    def provider_doc(self, realm: str) -> dict[str, Any]:
        """Plain provider document (what the OAuth runtime reads); the feature owns ``aiAgentsEnabled``."""
        self._realm(realm)
        doc = self.store.get(f"am:{realm}:provider", "oauth-oidc")
        if doc is None:
            doc = provider_seed(realm)
            self.store.put(f"am:{realm}:provider", "oauth-oidc", doc)
        if isinstance(doc.get("aiAgentsConfig"), dict):
            doc["aiAgentsConfig"]["aiAgentsEnabled"] = self.core.ai_agents_enabled()
        return doc

    def provider(self, realm: str) -> dict[str, Any]:
        """``GET {AM}/realm-config/services/oauth-oidc``: ``_id`` "", content ``_rev``, ``_type``."""
        out: dict[str, Any] = {"_id": "", "_rev": "", **self.provider_doc(realm), "_type": dict(PROVIDER_TYPE)}
        out["_rev"] = forms.rev_of(out)
        return out

    def put_provider(self, realm: str, body: Any, if_match: str | None) -> dict[str, Any]:
        current = self.provider(realm)
        if (
            self.config["am.ifMatch"] == "enforce"
            and if_match
            and if_match.strip() != "*"
            and if_match.strip().strip('"') != current["_rev"]
        ):
            raise RevisionMismatch()
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        given = {k: forms.jcopy(v) for k, v in body.items() if not k.startswith("_")}
        if any(not isinstance(v, dict) for v in given.values()):
            raise InvalidAttribute()
        existing = self.provider_doc(realm)
        doc = forms.deep_merge(existing, given) if self.config["am.provider.putMode"] == "merge" else given
        if "aiAgentsConfig" in existing:  # owned by the feature switch (reference §3.2, §10)
            doc["aiAgentsConfig"] = existing["aiAgentsConfig"]
        grant_types = (doc.get("advancedOAuth2Config") or {}).get("grantTypes") or []
        if self.config.flag("am.strictGrantTypes") and any(g not in KNOWN_GRANT_TYPES for g in grant_types):
            raise InvalidAttribute()
        self.store.put(f"am:{realm}:provider", "oauth-oidc", doc)
        return self.provider(realm)

    def create_provider(self, realm: str) -> None:
        self.provider_doc(realm)
        raise Conflict("Unable to save config: Service already exists")

    # -- agents ------------------------------------------------------------------------------------

    def record(self, realm: str, kind: str, client_id: str) -> dict[str, Any] | None:
        return self.store.get(f"am:{realm}:{kind}", client_id)

    def get(self, realm: str, kind: str, client_id: str) -> dict[str, Any]:
        self._realm(realm)
        self._kind(kind)
        record = self.record(realm, kind, client_id)
        if record is None:
            raise NotFound()
        return forms.render_single(client_id, kind, record)

    def query(self, realm: str, kind: str | None, params: dict[str, str]) -> dict[str, Any]:
        """Per-type list (``kind``, EXACT envelope, ``_type``) or cross-type query (``None``, W10/W16)."""
        self._realm(realm)
        if kind is not None:
            self._kind(kind)
        if "_queryFilter" not in params:
            raise BadRequest("Query request must contain _queryFilter")
        predicate = parse_filter(params["_queryFilter"])
        kinds = [kind] if kind else [k for k in forms.AGENT_TYPES if k != "AIAgent" or self.core.ai_agents_enabled()]
        items = []
        for each in kinds:
            for item in self._rendered(f"am:{realm}:{each}", each, kind is not None):
                if predicate(item):
                    items.append(item)
        size = params.get("_pageSize")
        if size and self.config["am.list.pageSize"] == "truncate" and size.isdigit() and int(size) > 0:
            items = items[: int(size)]
        pointers = field_pointers(params.get("_fields"))
        mode = self.config["am.list.fields"]
        if pointers and mode != "ignore":
            items = [select_fields(item, pointers) for item in items]
            if mode == "rehash":  # a revision of the cut representation, not of the object
                for item in items:
                    if "_rev" in item:
                        item["_rev"] = forms.rev_of(item)
        if kind is None:
            return {
                "result": items,
                "resultCount": len(items),
                "pagedResultsCookie": None,
                "totalPagedResultsPolicy": "NONE",
                "totalPagedResults": -1,
                "remainingPagedResults": -1,
            }
        return {
            "result": items,
            "resultCount": len(items),
            "pagedResultsCookie": None,
            "totalPagedResultsPolicy": "EXACT",
            "totalPagedResults": len(items),
            "remainingPagedResults": -1,
        }

    def _rendered(self, ns: str, kind: str, with_type: bool) -> list[dict[str, Any]]:
        """The list items of namespace ``ns``, rendered once per stored version of each document."""
        known = self._plain.get((ns, with_type), {})
        fresh: dict[str, tuple[str, dict[str, Any]]] = {}
        for client_id, text in self.store.items_text(ns):
            hit = known.get(client_id)
            if hit is None or hit[0] != text:
                hit = (text, forms.render_plain(client_id, kind, json.loads(text), with_type=with_type, owned=True))
            fresh[client_id] = hit
        self._plain[(ns, with_type)] = fresh  # deleted documents drop out
        return [item for _, item in fresh.values()]

    def query_other_type(self, realm: str, kind: str, params: dict[str, str]) -> dict[str, Any]:
        """Another agent type of ``getAllTypes`` (WebAgent, J2EEAgent, …): the emulator holds none (R5)."""
        self._realm(realm)
        if kind not in {t for t, _ in forms.ALL_TYPES}:
            raise NotFound()
        if "_queryFilter" not in params:
            raise BadRequest("Query request must contain _queryFilter")
        parse_filter(params["_queryFilter"])
        return {
            "result": [],
            "resultCount": 0,
            "pagedResultsCookie": None,
            "totalPagedResultsPolicy": "EXACT",
            "totalPagedResults": 0,
            "remainingPagedResults": -1,
        }

    def template(self, realm: str, kind: str) -> dict[str, Any]:
        self._realm(realm)
        self._kind(kind)
        return forms.defaults(self.config["am.tenantVersion"])

    def all_types(self, realm: str) -> dict[str, Any]:
        self._realm(realm)
        return {
            "result": [
                {"_id": t, "name": n, "collection": True}
                for t, n in forms.ALL_TYPES
                if t != "AIAgent" or self.core.ai_agents_enabled()
            ]
        }

    def put(
        self, realm: str, kind: str, client_id: str, body: Any, if_match: str | None, if_none_match: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Upsert (reference §4.4, §6.3, §6.4): 201 with defaults on create, exact replace on update."""
        self._realm(realm)
        self._kind(kind)
        if self.config["am.clientIdPattern"] == "enforce" and not CLIENT_ID.match(client_id):
            raise BadRequest("Invalid client ID: only letters, digits, '-' and '_' are allowed")
        existing = self.record(realm, kind, client_id)
        if (
            existing is not None
            and if_none_match
            and if_none_match.strip() == "*"
            and self.config["am.aiagent.ifNoneMatch"] == "enforce"
        ):
            raise PreconditionFailed()
        if (
            existing is not None
            and self.config["am.ifMatch"] == "enforce"
            and if_match
            and if_match.strip() != "*"
            and if_match.strip().strip('"') != forms.render_single(client_id, kind, existing)["_rev"]
        ):
            raise RevisionMismatch()
        parsed = forms.parse_body(body, kind, self.config.flag("am.aiagent.topLevelSecret"))
        if existing is None:
            config = {  # fresh defaults and the parsed body: merged without copies
                g: forms.merge_owned(d, parsed["groups"].get(g, {}))
                for g, d in forms.defaults(self.config["am.tenantVersion"]).items()
            }
            for group, values in parsed["groups"].items():
                config.setdefault(group, values)
            list_only = forms.list_only_defaults()
            for group, names in parsed["listOnly"].items():
                list_only[group] = sorted(set(list_only.get(group, [])) | set(names))
            record: dict[str, Any] = {"config": config, "secret": parsed["secret"], "listOnly": list_only}
            if kind == "AIAgent":
                record.update(self._create_identity(realm, client_id, parsed, config))
            status = 201
        else:
            record = {
                "config": parsed["groups"],
                "secret": parsed["secret"] if parsed["secret"] is not None else existing.get("secret"),
                "listOnly": parsed["listOnly"],
            }
            if kind == "AIAgent":
                record.update(self._update_identity(realm, existing, parsed))
            status = 200
        self.store.put(f"am:{realm}:{kind}", client_id, record)
        return status, forms.render_single(client_id, kind, record, owned=True)  # record is not used again

    def delete(self, realm: str, kind: str, client_id: str) -> dict[str, Any]:
        self._realm(realm)
        self._kind(kind)
        record = self.record(realm, kind, client_id)
        if record is None:
            raise NotFound()
        rendered = forms.render_single(client_id, kind, record)
        self.store.delete(f"am:{realm}:{kind}", client_id)
        if kind == "AIAgent" and record.get("uid") and self.config.flag("am.aiagent.deleteCascade"):
            self.core.idm.delete_object(realm, "aiagent", record["uid"])  # its hook drops the privileges
        return rendered

    # -- the AI agent identity ---------------------------------------------------------------------

    @staticmethod
    def _snapshot(doc: dict[str, Any]) -> dict[str, Any]:
        snap = {"_id": doc["_id"], "_rev": doc["_rev"], "oauth2ClientId": doc.get("oauth2ClientId")}
        for key in ("name", "description"):
            if key in doc:
                snap[key] = doc[key]
        snap["customAttributes"] = doc.get("customAttributes")
        return snap

    def _create_identity(
        self, realm: str, client_id: str, parsed: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]:
        attrs = parsed["identity"] or {}
        uid = attrs.get("_id") if isinstance(attrs.get("_id"), str) and attrs.get("_id") else None
        uid = uid or parsed["uid"] or str(uuid.uuid4())
        names = (config.get("coreOAuth2ClientConfig") or {}).get("clientName") or []
        fields: dict[str, Any] = {
            "oauth2ClientId": client_id,
            "name": attrs.get("name") or (names[0] if names else client_id),
        }
        if attrs.get("description") is not None:
            fields["description"] = attrs["description"]
        fields["customAttributes"] = attrs.get("customAttributes")
        doc = self.core.idm.write_agent_identity(realm, uid, fields)
        return {"uid": uid, "identity": self._snapshot(doc)}

    def _update_identity(self, realm: str, existing: dict[str, Any], parsed: dict[str, Any]) -> dict[str, Any]:
        """The link is kept; name/description/customAttributes sent to AM reach IDM (switch). The
        embedded copy is refreshed only by AM writes, never by IDM changes (reference §9.4)."""
        uid, snapshot = existing.get("uid"), existing.get("identity")
        attrs = parsed["identity"]
        if uid and attrs and self.config.flag("am.aiagent.syncIdentity"):
            changes = {k: attrs[k] for k in ("name", "description", "customAttributes") if k in attrs}
            if self.core.idm.agent_identity(realm, uid) is not None:
                snapshot = self._snapshot(self.core.idm.write_agent_identity(realm, uid, changes))
        return {"uid": uid, "identity": snapshot}
