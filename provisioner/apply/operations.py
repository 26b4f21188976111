"""The writes behind each change: one function per (kind, action), all through the tenant client.

Creates use create-only preconditions with deterministic ids; an ambiguous failure is resolved by
re-reading the object by key and matching it, never by blindly sending the create again; a 412 on a
create means someone else created the object: a conflict, never overwritten. Updates re-read the
object first (AM: ``_queryFilter=_id eq '<id>'``, list form, compared with the list ``_rev`` from the
plan; IDM: ``If-Match``) and refuse when its revision moved.

AM does not (knowingly) honour ``If-Match`` on PUT (reference §3.4), so the re-read leaves a window of
one round trip in which a concurrent writer can slip in. An AM update therefore re-reads the object
once more after its PUT: when the managed fields are no longer what it wrote, another writer got in
between and the change fails as a conflict (the apply stops scheduling new writes) instead of
carrying on as if it had won.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.client import paths
from provisioner.client.errors import PreconditionFailed, TransportError
from provisioner.client.shape import result_list
from provisioner.errors import ProvisionerError
from provisioner.kinds import aiagent, application, privilege, provider
from provisioner.kinds.common import unwrap
from provisioner.kinds.fields import idm_patch_ops
from provisioner.kinds.oauth2client import am_differs, create_document, secret_marker, update_document
from provisioner.kinds.secrets import make_marker, needs_rewrite, verify_marker
from provisioner.kinds.snapshot import APP_FIELDS, IDENTITY_FIELDS, PRIVILEGE_FIELDS, Snapshot
from provisioner.plan.model import Change, SecretReference


class StaleObject(ProvisionerError):
    """A conflict: the object changed between plan and apply (or during apply) under another writer."""


@dataclass
class ApplyContext:
    """What every operation needs: the client, the stack, secrets, and the pre-apply snapshot."""

    client: Any
    stack: str
    secret: Callable[[SecretReference], str]
    snapshot: Snapshot
    identities: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (realm, AM kind) → key → plain list-form document, read in ONE list request right before the
    #: level that updates them (replaces one ``_id eq`` re-read per updated object).
    am_current: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: (realm, agent key) → the IDM identity echoed by the agent's create PUT (``_id``, ``_rev``, ...).
    created_identities: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    #: change address → the secret marker this run wrote (the confirmation plan trusts an identical one).
    markers: dict[str, str] = field(default_factory=dict)


def find_am(client: Any, realm: str, kind: str, key: str) -> dict[str, Any] | None:
    """The plain (list-form) document and list ``_rev`` of one AM object, in one request."""
    am = client.am(realm)
    if hasattr(am, "find"):
        return am.find(kind, key)  # type: ignore[no-any-return]
    quoted = key.replace("'", "\\'")
    path = paths.am(realm, "realm-config", "agents", kind)
    items, _ = result_list("GET", path, client.request("GET", path, params={"_queryFilter": f"_id eq '{quoted}'"}))
    results = [r for r in items if r.get("_id") == key]
    return results[0] if results else None


def _check_rev(change: Change, remote: str, current_rev: Any) -> None:
    planned = (change.observed.get(remote) or {}).get("rev")
    if current_rev is None or str(current_rev) != str(planned):
        raise StaleObject(f"conflict: {change.address} changed since the plan ({remote.upper()} revision "
                          f"{planned} → {current_rev if current_rev is not None else 'deleted'}); nothing written "
                          f"to it. Another apply or an admin changed it; run plan again.")


def _secret_for(ctx: ApplyContext, change: Change, current: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """``(secret, marker)`` to send; ``(None, None)`` when the tenant already holds the secret, or
    ``(None, marker)`` when it does but its marker is in an older form (rewritten if the object is written).

    Every marker made here is remembered in ``ctx.markers`` so the confirmation plan does not hash again.
    """
    if change.secret is None:
        return None, None
    value = ctx.secret(change.secret)
    old = secret_marker(current) if current is not None else None
    if current is not None and not change.send_secret and verify_marker(old, value):
        if not needs_rewrite(old, value):
            return None, None
        marker = make_marker(value)
        ctx.markers[change.address] = marker
        return None, marker
    marker = make_marker(value)
    ctx.markers[change.address] = marker
    return value, marker


def _create(put: Callable[[], Any], reread: Callable[[], Any], matches: Callable[[Any], bool], what: str) -> Any:
    """Send a create-only write; on an ambiguous failure re-read and accept a matching object.

    When the re-read finds nothing, the create is sent once more: it carries ``If-None-Match: *`` and
    a deterministic id, so it cannot overwrite anything (if the first one lands late, the second gets
    412, which is then resolved by re-reading and matching as well).
    """
    for attempt in (1, 2):
        try:
            return put()
        except TransportError as exc:
            if not exc.ambiguous:
                raise
            found = reread()
            if found is None and attempt == 1:
                continue
            if found is not None and matches(found):
                return found
            raise ProvisionerError(f"{what}: the create may or may not have been applied and the object does not "
                                   f"match; nothing else was sent ({exc})") from exc
        except PreconditionFailed as exc:
            if attempt == 2:  # our first, ambiguous create may have landed after all
                found = reread()
                if found is not None and matches(found):
                    return found
            raise StaleObject(f"conflict: {what} was created by someone else since the plan (another apply?); "
                              f"not overwritten. Run plan again.") from exc
    raise AssertionError("unreachable")  # pragma: no cover


# -- provider ---------------------------------------------------------------------------------------

def provider_update(ctx: ApplyContext, change: Change) -> None:
    am = ctx.client.am(change.realm)
    doc, rev = am.get_provider()
    _check_rev(change, "am", rev)
    body, changed = provider.update_document(unwrap(doc), change.desired)
    if changed:
        am.put_provider(body)


# -- applications and agents (AM client part) ---------------------------------------------------------

def _am_create(ctx: ApplyContext, change: Change, module: Any, template: Mapping[str, Any],
               extra: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    desired = change.desired
    secret, marker = _secret_for(ctx, change, None)
    body = create_document(template, module.FIELDS, desired, change.realm, stack=ctx.stack, secret=secret,
                           secret_hash=marker)
    if extra:
        extra(body)
    am = ctx.client.am(change.realm)
    return _create(lambda: am.put(module.AM_KIND, change.key, body, create_only=True)[0],
                   lambda: find_am(ctx.client, change.realm, module.AM_KIND, change.key),
                   lambda found: not am_differs(found, module.FIELDS, desired), change.address)


def current_am(ctx: ApplyContext, realm: str, kind: str, key: str) -> dict[str, Any] | None:
    """The object as re-read right before this level (one list per kind), else by its own query."""
    batch = ctx.am_current.get((realm, kind))
    if batch is not None:
        return batch.get(key)
    return find_am(ctx.client, realm, kind, key)


def _am_update(ctx: ApplyContext, change: Change, module: Any,
               refresh: Callable[[dict[str, Any]], None] | None = None) -> None:
    current = current_am(ctx, change.realm, module.AM_KIND, change.key)
    _check_rev(change, "am", current.get("_rev") if current else None)
    assert current is not None
    secret, marker = _secret_for(ctx, change, current)
    body, changed = update_document(current, module.FIELDS, change.desired, change.realm, secret=secret,
                                    secret_hash=marker)
    if changed:
        if refresh:
            refresh(body)
        ctx.client.am(change.realm).put(module.AM_KIND, change.key, body)
        after = find_am(ctx.client, change.realm, module.AM_KIND, change.key)
        if after is None or am_differs(after, module.FIELDS, change.desired):
            raise StaleObject(f"conflict: {change.address} was changed by another writer while this apply wrote "
                              f"it (AM {'deleted' if after is None else 'revision ' + str(after.get('_rev'))}); "
                              f"the other write won. Run plan again.")


def _idm_patch(ctx: ApplyContext, change: Change, object_type: str, fields: Any, current: Mapping[str, Any] | None,
               read_fields: tuple[str, ...],
               extra_ops: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> None:
    """PATCH the differing managed fields of an IDM object with ``If-Match`` the planned revision.

    On 412 the object is re-read: when it already holds the desired values (our own PATCH landed
    before a dropped connection and the retry met the new revision) the change is done; otherwise
    someone else changed it: a conflict.
    """
    if current is None:
        raise StaleObject(f"conflict: {change.address} disappeared since the plan; run plan again")

    def ops_for(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
        ops = idm_patch_ops(fields, change.desired, doc, change.realm)
        return extra_ops(ops) if extra_ops else ops

    ops = ops_for(current)
    if not ops:
        return
    rev = (change.observed.get("idm") or {}).get("rev")
    try:
        ctx.client.idm.patch(object_type, str(current["_id"]), ops, if_match=rev)
    except PreconditionFailed as exc:
        now = ctx.client.idm.get(object_type, str(current["_id"]), read_fields)
        if now is not None and not ops_for(now):
            return
        raise StaleObject(f"conflict: {change.address} changed since the plan (IDM revision {rev} moved); "
                          f"nothing written to it. Another apply or an admin changed it; run plan again.") from exc


def application_am(ctx: ApplyContext, change: Change) -> None:
    """First level: create or update the application's AM client."""
    if change.observed.get("am") is None:
        _am_create(ctx, change, application, application.template_defaults(change.desired))
    else:
        _am_update(ctx, change, application)


def application_idm(ctx: ApplyContext, change: Change) -> None:
    """Second level (after every AM client): create or update the application's IDM record."""
    realm, key, desired = change.realm, change.key, change.desired
    object_type = f"{realm}_application"
    if change.observed.get("idm") is None:
        record_id = str(change.ids.record)
        body = application.record_body(realm, key, desired, record_id)
        idm = ctx.client.idm
        _create(lambda: idm.put(object_type, record_id, body, if_none_match=True),
                lambda: idm.get(object_type, record_id, ("_id", "ssoEntities")),
                lambda found: (found.get("ssoEntities") or {}).get("oidcId") == key, change.address)
    else:
        _idm_patch(ctx, change, object_type, application.FIELDS, ctx.snapshot.realm(realm).apps.get(key), APP_FIELDS,
                   lambda ops: application.template_version_op(ops, desired))


def application_apply(ctx: ApplyContext, change: Change) -> None:
    """Create or update both halves of an application: AM client first, then the IDM record."""
    application_am(ctx, change)
    application_idm(ctx, change)


def _echoed_identity(echo: Any) -> dict[str, Any] | None:
    """The IDM identity from a create PUT's echo (reference §6.3: ``_id`` and IDM ``_rev`` included)."""
    attrs = unwrap(echo.get("aiAgentIdentityAttributes")) if isinstance(echo, Mapping) else None
    if not isinstance(attrs, dict) or not attrs.get("_id") or not attrs.get("_rev"):
        return None
    return attrs


def agent_am(ctx: ApplyContext, change: Change) -> None:
    """First level. Create: the AM agent with its settings in one PUT (AM creates the IDM identity).
    Update: the identity (IDM) then the client (AM)."""
    realm, key, desired = change.realm, change.key, change.desired
    uid = str(change.ids.identity)
    object_type = f"{realm}_aiagent"
    if change.observed.get("am") is None:
        echo = _am_create(ctx, change, aiagent, {},
                          lambda body: aiagent.add_identity(body, key, uid, desired))
        uid = str(unwrap(echo.get("aiAgentIdentityUid")) or uid) if isinstance(echo, Mapping) else uid
        with ctx.lock:
            ctx.identities[(realm, key)] = uid
            ctx.created_identities[(realm, key)] = _echoed_identity(echo)
        return
    identity = ctx.snapshot.realm(realm).identity_of(key)
    _idm_patch(ctx, change, object_type, aiagent.FIELDS, identity, IDENTITY_FIELDS)

    def refresh(body: dict[str, Any]) -> None:
        # AM copies these attributes to IDM on a PUT: they must carry IDM's (now desired) values.
        attrs = body.get("aiAgentIdentityAttributes")
        if isinstance(attrs, dict):
            body["aiAgentIdentityAttributes"] = aiagent.identity_attributes(key, str(attrs.get("_id") or uid),
                                                                            desired, identity)
    _am_update(ctx, change, aiagent, refresh)


def agent_identity(ctx: ApplyContext, change: Change) -> None:
    """Second level, creates only: PATCH what AM did not set on the new identity (owners).

    The identity comes from the create PUT's echo, so no read is needed; without a usable echo, or
    when the echoed revision has moved (412), it is read once.
    """
    if change.observed.get("am") is not None:
        return
    realm, key, desired = change.realm, change.key, change.desired
    object_type = f"{realm}_aiagent"
    with ctx.lock:
        uid = ctx.identities.get((realm, key), str(change.ids.identity))
        identity = ctx.created_identities.get((realm, key))
    for attempt in (1, 2):
        if identity is None:
            identity = ctx.client.idm.get(object_type, uid, IDENTITY_FIELDS)
        ops = idm_patch_ops(aiagent.FIELDS, desired, identity, realm)
        if not ops or identity is None:
            return
        try:
            ctx.client.idm.patch(object_type, uid, ops, if_match=identity.get("_rev"))
            return
        except PreconditionFailed:
            if attempt == 2:
                raise
            identity = None


def agent_apply(ctx: ApplyContext, change: Change) -> None:
    """Create an agent (settings in the same PUT), or update identity (IDM) then client (AM)."""
    agent_am(ctx, change)
    agent_identity(ctx, change)


def privilege_apply(ctx: ApplyContext, change: Change) -> None:
    """Create a privilege in one create-only PUT, or PATCH its differing fields."""
    realm, desired = change.realm, change.desired
    ids = change.ids
    object_type = f"{realm}_aiagentprivilege"
    idm = ctx.client.idm
    if change.observed.get("idm") is None:
        with ctx.lock:
            agent_uuid = ctx.identities.get((realm, str(ids.agent_key)), str(ids.agent))
        priv_id = str(ids.privilege)
        body = privilege.create_body(realm, priv_id, agent_uuid, str(ids.resource), desired)
        _create(lambda: idm.put(object_type, priv_id, body, if_none_match=True),
                lambda: idm.get(object_type, priv_id, PRIVILEGE_FIELDS),
                lambda found: not idm_patch_ops(privilege.FIELDS, desired, found, realm), change.address)
        return
    current = ctx.snapshot.realm(realm).privilege(ids.privilege)
    _idm_patch(ctx, change, object_type, privilege.FIELDS, current, PRIVILEGE_FIELDS)


# -- deletes ------------------------------------------------------------------------------------------

def privilege_delete(ctx: ApplyContext, change: Change) -> None:
    rev = (change.observed.get("idm") or {}).get("rev")
    ctx.client.idm.delete(f"{change.realm}_aiagentprivilege", str(change.ids.privilege), if_match=rev)


def application_delete(ctx: ApplyContext, change: Change) -> None:
    record = change.ids.record
    if record:
        ctx.client.idm.delete(f"{change.realm}_application", str(record))
    ctx.client.am(change.realm).delete(application.AM_KIND, change.key)


def agent_delete(ctx: ApplyContext, change: Change) -> None:
    ctx.client.am(change.realm).delete(aiagent.AM_KIND, change.key)
    identity = change.ids.identity
    if identity and ctx.client.idm.get(f"{change.realm}_aiagent", str(identity), ("_id",)) is not None:
        ctx.client.idm.delete(f"{change.realm}_aiagent", str(identity))


Operation = Callable[[ApplyContext, Change], None]

#: The steps of each change by apply level. Levels: 1 provider, AM clients and AM agents (independent
#: of each other); 2 IDM application records and new agents' identity PATCHes (each after its own AM
#: object); 3 privileges (they need the agent identity and the application record); deletes in
#: reverse: 3 privileges, 4 agents, 5 applications.
STEPS: dict[tuple[str, str], tuple[tuple[int, Operation], ...]] = {
    ("OAuth2Provider", "update"): ((1, provider_update),),
    ("Application", "create"): ((1, application_am), (2, application_idm)),
    ("Application", "update"): ((1, application_am), (2, application_idm)),
    ("Application", "delete"): ((5, application_delete),),
    ("AIAgent", "create"): ((1, agent_am), (2, agent_identity)),
    ("AIAgent", "update"): ((1, agent_am),),
    ("AIAgent", "delete"): ((4, agent_delete),),
    ("AgentPrivilege", "create"): ((3, privilege_apply),),
    ("AgentPrivilege", "update"): ((3, privilege_apply),),
    ("AgentPrivilege", "delete"): ((3, privilege_delete),),
}

#: Each change as one call (all its steps in order), for callers that run a single change.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("OAuth2Provider", "update"): provider_update,
    ("Application", "create"): application_apply,
    ("Application", "update"): application_apply,
    ("Application", "delete"): application_delete,
    ("AIAgent", "create"): agent_apply,
    ("AIAgent", "update"): agent_apply,
    ("AIAgent", "delete"): agent_delete,
    ("AgentPrivilege", "create"): privilege_apply,
    ("AgentPrivilege", "update"): privilege_apply,
    ("AgentPrivilege", "delete"): privilege_delete,
}
