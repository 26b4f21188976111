"""``TenantView``: the read-only protocol the OAuth runtime (``oauth/service.py``) reads the tenant
through (``provisioner.emulator.oauth.model.TenantView``). Each call is one consistent store read."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .idm_render import ns

if TYPE_CHECKING:
    from . import Backend


class TenantView:
    def __init__(self, core: Backend) -> None:
        self._core = core

    def realm_exists(self, realm: str) -> bool:
        return realm in self._core.realms

    def provider(self, realm: str) -> dict[str, Any]:
        """The plain provider document (no ``_id``/``_rev``/``_type``)."""
        with self._core.store.transaction():
            return self._core.am.provider_doc(realm)

    def oauth_client(self, realm: str, client_id: str) -> dict[str, Any] | None:
        """``{"kind": "OAuth2Client"|"AIAgent", "config": {group: {plain}}, "secret": str|None}``."""
        if realm not in self._core.realms:
            return None
        with self._core.store.transaction():
            for kind in ("OAuth2Client", "AIAgent"):
                record = self._core.am.record(realm, kind, client_id)
                if record is not None:
                    return {"kind": kind, "config": copy.deepcopy(record["config"]), "secret": record.get("secret")}
        return None

    def privileges(self, realm: str) -> list[dict[str, Any]]:
        """Every privilege of the realm, rendered with relationships and fresh virtual fields."""
        if realm not in self._core.realms or not self._core.ai_agents_enabled():
            return []
        with self._core.store.transaction():
            reader = self._core.idm.reader(realm)
            return [
                reader.render("aiagentprivilege", doc, ["*", "*_ref"])
                for doc in reader.all("aiagentprivilege").values()
            ]

    def user_by_username(self, realm: str, user_name: str) -> dict[str, Any] | None:
        """The stored user (``_id``, ``userName``, ``password`` …) or ``None``."""
        if realm not in self._core.realms:
            return None
        with self._core.store.transaction():
            return self._core.idm.find(realm, "user", "userName", user_name)

    def user(self, realm: str, user_id: str) -> dict[str, Any] | None:
        if realm not in self._core.realms:
            return None
        with self._core.store.transaction():
            return self._core.store.get(ns(realm, "user"), user_id)

    def ai_agents_enabled(self) -> bool:
        return self._core.ai_agents_enabled()
