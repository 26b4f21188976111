"""The emulated tenant: all state and every rule, no HTTP (moto's ``models`` role).

``Backend`` owns the store, the switches and the feature flag, and composes the AM, IDM and auth
backends. Everything it holds is built in the constructor from the store, so ``reset`` is a store
wipe plus a new bootstrap.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from ..config import Config
from ..errors import BadRequest
from ..store import Store
from .am import AmBackend
from .am_scripts import ScriptsBackend
from .auth import AuthBackend
from .idm import IdmBackend
from .idm_render import ns
from .view import TenantView

KEEP_ON_RESET = ("serviceAccount", "signingKey", "revPrefix", "edgePrefix", "counter")


class Backend:
    def __init__(
        self,
        store: Store,
        config: Config,
        realms: tuple[str, ...] = ("alpha", "bravo"),
        ai_agents: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.realms = tuple(realms)
        self.clock = clock
        self._initial_ai_agents = ai_agents
        with store.transaction():
            self._bootstrap()
            self.auth = AuthBackend(self)
        self.am = AmBackend(self)
        self.scripts = ScriptsBackend(self)
        self.idm = IdmBackend(self)
        self.view = TenantView(self)

    def _bootstrap(self) -> None:
        if self.store.meta("revPrefix") is None:
            self.store.set_meta("revPrefix", str(uuid.uuid4()))
            self.store.set_meta("edgePrefix", str(uuid.uuid4()))
            self.store.set_meta("counter", 0)
        if self.store.meta("aiAgentsEnabled") is None:
            self.store.set_meta("aiAgentsEnabled", bool(self._initial_ai_agents))

    def reset(self) -> None:
        """Back to a fresh tenant: data, sessions and switches; keeps the SA and the signing key."""
        with self.store.transaction():
            self.store.clear(KEEP_ON_RESET)
            self._bootstrap()
        self.config.reset()

    # -- shared rules ------------------------------------------------------------------------------

    def next_rev(self, edge: bool = False) -> str:
        """IDM ``_rev``: ``<uuid>-<counter>`` on one tenant-wide counter (W6)."""
        counter = int(self.store.meta("counter", 0)) + 1
        self.store.set_meta("counter", counter)
        return f"{self.store.meta('edgePrefix' if edge else 'revPrefix')}-{counter}"

    def ai_agents_enabled(self) -> bool:
        return bool(self.store.meta("aiAgentsEnabled", self._initial_ai_agents))

    def set_ai_agents(self, enabled: bool) -> None:
        self.store.set_meta("aiAgentsEnabled", bool(enabled))

    # -- control plane -----------------------------------------------------------------------------

    def seed(self, body: Any) -> dict[str, Any]:
        """``POST /_emulator/seed``: upsert users (with passwords) and groups (members by userName)."""
        if not isinstance(body, dict) or body.get("realm") not in self.realms:
            raise BadRequest(f"seed needs a JSON object with a realm among {', '.join(self.realms)}")
        realm = body["realm"]
        users_out, groups_out = [], []
        for user in body.get("users") or []:
            if not isinstance(user, dict) or not isinstance(user.get("userName"), str):
                raise BadRequest("each seeded user needs a userName")
            existing = self.idm.find(realm, "user", "userName", user["userName"])
            oid = (existing or {}).get("_id") or user.get("_id") or str(uuid.uuid4())
            fields = {k: v for k, v in user.items() if k != "_id"}
            if existing is None:
                self.idm.create(f"{realm}_user", fields, oid, None)
            else:
                self.idm.put(
                    f"{realm}_user",
                    oid,
                    {**{k: v for k, v in existing.items() if k not in ("_id", "_rev")}, **fields},
                    None,
                    None,
                    None,
                )
            users_out.append({"_id": oid, "userName": user["userName"]})
        for group in body.get("groups") or []:
            if not isinstance(group, dict) or not isinstance(group.get("_id"), str):
                raise BadRequest("each seeded group needs an _id")
            members = []
            for user_name in group.get("members") or []:
                user = self.idm.find(realm, "user", "userName", user_name)
                if user is None:
                    raise BadRequest(f"seeded group {group['_id']}: unknown user {user_name!r}")
                members.append({"_ref": f"managed/{realm}_user/{user['_id']}"})
            fields = {k: v for k, v in group.items() if k not in ("_id", "members")}
            fields.setdefault("name", group["_id"])
            self.idm.put(f"{realm}_group", group["_id"], {**fields, "members": members}, None, None, None)
            groups_out.append({"_id": group["_id"], "members": [m["_ref"].rsplit("/", 1)[1] for m in members]})
        return {"realm": realm, "users": users_out, "groups": groups_out}

    def dump(self) -> dict[str, Any]:
        """``GET /_emulator/state``: every stored document (secrets and passwords masked)."""
        out: dict[str, Any] = {
            "aiAgentsEnabled": self.ai_agents_enabled(),
            "realms": list(self.realms),
            "serviceAccount": {"id": self.auth.service_account_id},
            "objects": {},
        }
        for namespace in self.store.namespaces():
            if namespace.startswith("auth:"):
                out.setdefault("sessions", {})[namespace] = len(self.store.items(namespace))
                continue
            docs = {}
            for oid, doc in self.store.items(namespace):
                if isinstance(doc, dict):
                    doc = dict(doc)
                    for secret in ("secret", "password"):
                        if doc.get(secret) is not None:
                            doc[secret] = "***"
                docs[oid] = doc
            out["objects"][namespace] = docs
        return out


__all__ = ["Backend", "ns"]
