"""The naive baseline: what a straightforward script does, one object at a time, GET then PUT.

Written directly with ``requests`` (through :class:`AdminSession`), sharing nothing with the
provisioner. Every object is handled strictly sequentially:

* provider: GET, add the grant types, PUT the whole document;
* per application: look the owner up by ``userName``; GET the AM client, PUT it (create body, or the
  read document merged with the managed fields); query the IDM record by ``name``, then POST
  ``_action=create`` or PUT it;
* per agent: GET the AIAgent, PUT it; per privilege: GET it by its deterministic id, PUT it with
  ``agent``, ``resource`` and ``subjectGroups`` in the body.

``naive_apply`` always writes (a naive script does not diff); ``naive_read`` is only the GET half,
the cost of a naive "plan".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .generate import REALM, AgentSpec, AppSpec, BenchModel, PrivilegeSpec
from .tenant import AM_V1, AM_V2, AdminSession, am, idm

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
_DROP = ("_id", "_rev", "_provider")


def unwrap(doc: Any) -> Any:
    """AM single-read form → plain values (``{"inherited":false,"value":v}`` → ``v``)."""
    if isinstance(doc, dict):
        if "inherited" in doc and set(doc) <= {"inherited", "value"}:
            return unwrap(doc.get("value"))
        return {k: unwrap(v) for k, v in doc.items() if k not in _DROP}
    if isinstance(doc, list):
        return [unwrap(v) for v in doc]
    return doc


def _merge(base: dict[str, Any], managed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = dict(base)
    for group, fields in managed.items():
        out[group] = {**(out.get(group) or {}), **fields}
    return out


def _ref(collection: str, rid: str) -> dict[str, str]:
    return {"_ref": f"{collection}/{rid}", "_refResourceCollection": collection, "_refResourceId": rid}


def _q(value: str) -> str:
    return quote(value, safe="")


class NaiveRunner:
    def __init__(self, session: AdminSession, model: BenchModel, *, write: bool = True) -> None:
        self.s = session
        self.model = model
        self.write = write
        self.app_ids: dict[str, str] = {}
        self.agent_ids: dict[str, str] = {}

    # --- provider ----------------------------------------------------------------------------------
    def provider(self) -> None:
        path = am(REALM, "realm-config/services/oauth-oidc")
        doc = self.s.call("GET", path, api=AM_V1).json()
        doc.pop("_rev", None)
        grants = list(doc.get("advancedOAuth2Config", {}).get("grantTypes") or [])
        for g in ("client_credentials", TOKEN_EXCHANGE):
            if g not in grants:
                grants.append(g)
        doc.setdefault("advancedOAuth2Config", {})["grantTypes"] = grants
        if self.write:
            self.s.call("PUT", path, api=AM_V1, json=doc)

    # --- applications ------------------------------------------------------------------------------
    def _user_id(self, user_name: str) -> str:
        query = f'userName eq "{user_name}"'
        r = self.s.call("GET", idm(f"managed/{REALM}_user?_queryFilter={_q(query)}&_fields=_id"))
        return r.json()["result"][0]["_id"]

    def application(self, app: AppSpec) -> None:
        owner = self._user_id(app.owner)
        path = am(REALM, f"realm-config/agents/OAuth2Client/{_q(app.client_id)}")
        r = self.s.call("GET", path, api=AM_V1, expect=(200, 404))
        managed = {
            "coreOAuth2ClientConfig": {
                "clientType": "Confidential",
                "status": "Active",
                "clientName": [app.display_name],
                "scopes": list(app.scopes),
            },
            "advancedOAuth2ClientConfig": {
                "grantTypes": ["client_credentials"],
                "responseTypes": ["token"],
                "isConsentImplied": True,
                "descriptions": [app.description],
            },
        }
        body = _merge(unwrap(r.json()) if r.status_code == 200 else {}, managed)
        body.pop("_type", None)
        if self.write:
            self.s.call("PUT", path, api=AM_V1, json=body)

        query = f'name eq "{app.display_name}"'
        fields = "_id,name,description,templateName,templateVersion,ssoEntities"
        found = self.s.call(
            "GET", idm(f"managed/{REALM}_application?_queryFilter={_q(query)}&_fields={fields}")
        ).json()["result"]
        record = {
            "name": app.display_name,
            "description": app.description,
            "templateName": "service",
            "templateVersion": "1.0",
            "ssoEntities": {"oidcId": app.client_id},
            "owners": [_ref(f"managed/{REALM}_user", owner)],
        }
        if found:
            self.app_ids[app.client_id] = found[0]["_id"]
            if self.write:
                self.s.call("PUT", idm(f"managed/{REALM}_application/{found[0]['_id']}"), json=record)
        elif self.write:
            created = self.s.call("POST", idm(f"managed/{REALM}_application?_action=create"), json=record)
            self.app_ids[app.client_id] = created.json()["_id"]

    # --- agents and privileges -----------------------------------------------------------------------
    def agent(self, agent: AgentSpec) -> None:
        path = am(REALM, f"realm-config/agents/AIAgent/{_q(agent.client_id)}")
        r = self.s.call("GET", path, api=AM_V2, expect=(200, 404))
        managed = {
            "coreOAuth2ClientConfig": {"clientName": [agent.display_name], "scopes": list(agent.scopes)},
            "advancedOAuth2ClientConfig": {
                "grantTypes": ["client_credentials", TOKEN_EXCHANGE],
                "tokenEndpointAuthMethod": "client_secret_post",
                "descriptions": [agent.description],
            },
            "overrideOAuth2ClientConfig": {
                "providerOverridesEnabled": True,
                "statelessTokensEnabled": True,
                "acceptAudienceParametersInTokenExchangeRequests": True,
            },
        }
        existing = unwrap(r.json()) if r.status_code == 200 else {}
        body = _merge(existing, managed)
        identity = dict(existing.get("aiAgentIdentityAttributes") or {})
        identity.update(
            {"oauth2ClientId": agent.client_id, "name": agent.display_name, "description": agent.description}
        )
        identity.pop("_rev", None)
        body["aiAgentIdentityAttributes"] = identity
        body.pop("_type", None)
        uid = existing.get("aiAgentIdentityUid")
        if self.write:
            written = unwrap(self.s.call("PUT", path, api=AM_V2, json=body).json())
            uid = written.get("aiAgentIdentityUid") or (written.get("aiAgentIdentityAttributes") or {}).get("_id")
        if uid:
            self.agent_ids[agent.client_id] = uid
        for privilege in agent.privileges:
            self.privilege(privilege)

    def privilege(self, p: PrivilegeSpec) -> None:
        path = idm(f"managed/{REALM}_aiagentprivilege/{p.naive_id}")
        r = self.s.call(
            "GET", path + "?_fields=_id,description,permissions,agent,resource,subjectGroups", expect=(200, 404)
        )
        if not self.write:
            return
        app_id = self.app_ids.get(p.application)
        if app_id is None:  # an application handled by nobody in this run: look it up like a script would
            app = next(a for a in self.model.apps if a.client_id == p.application)
            query = f'name eq "{app.display_name}"'
            app_id = self.s.call(
                "GET", idm(f"managed/{REALM}_application?_queryFilter={_q(query)}&_fields=_id")
            ).json()["result"][0]["_id"]
            self.app_ids[p.application] = app_id
        body = {
            "_id": p.naive_id,
            "description": p.description,
            "permissions": [{"type": "scopes", "values": list(p.permissions)}],
            "agent": _ref(f"managed/{REALM}_aiagent", self.agent_ids[p.agent]),
            "resource": _ref(f"managed/{REALM}_application", app_id),
            "subjects": [],
            "subjectGroups": [_ref(f"managed/{REALM}_group", g) for g in p.subject_groups],
        }
        headers = {"If-None-Match": "*"} if r.status_code == 404 else {}
        self.s.call("PUT", path, json=body, headers=headers)

    def run(self) -> None:
        self.provider()
        for app in self.model.apps:
            self.application(app)
        for agent in self.model.agents:
            self.agent(agent)


def naive_apply(session: AdminSession, model: BenchModel) -> None:
    """Sequential GET-then-PUT of every object of the model."""
    NaiveRunner(session, model, write=True).run()


def naive_read(session: AdminSession, model: BenchModel) -> None:
    """Sequential per-object GETs of every object of the model (a naive plan)."""
    NaiveRunner(session, model, write=False).run()
