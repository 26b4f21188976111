"""How a change is written, whatever its kind: create-only writes, revision checks, secrets.

Creates use create-only preconditions with deterministic ids; an ambiguous failure is resolved by
re-reading the object by key and matching it, never by blindly sending the create again; a 412 on a
create means someone else created the object: a conflict, never overwritten. Updates re-read the
object first (AM: the list form, compared with the list ``_rev`` from the plan; IDM: ``If-Match``)
and refuse when its revision moved.

AM does not (knowingly) honour ``If-Match`` on PUT, so the re-read leaves a window of one round trip in
which a concurrent writer can slip in. An AM update therefore re-reads the object once more after its
PUT: when the managed fields are no longer what it wrote, another writer got in between and the change
fails as a conflict (the apply stops scheduling new writes) instead of carrying on as if it had won.

The kind modules build their apply steps (``KindSpec.steps``) from these.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioner.client.wrapping import unwrap
from provisioner.errors import ProvisionerError
from provisioner.kinds.common import writable_client_doc
from provisioner.kinds.fields import Field, idm_patch_ops
from provisioner.kinds.oauth2client import am_differs, create_document, secret_marker, update_document
from provisioner.kinds.secrets import make_marker, needs_rewrite, verify_marker
from provisioner.kinds.snapshot import Snapshot

if TYPE_CHECKING:
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
    return client.am(realm).find(kind, key)  # type: ignore[no-any-return]


def check_rev(change: Change, remote: str, current_rev: Any) -> None:
    planned = (change.observed.get(remote) or {}).get("rev")
    if current_rev is None or str(current_rev) != str(planned):
        raise StaleObject(
            f"conflict: {change.address} changed since the plan ({remote.upper()} revision "
            f"{planned} → {current_rev if current_rev is not None else 'deleted'}); nothing written "
            f"to it. Another apply or an admin changed it; run plan again."
        )


def secret_for(ctx: ApplyContext, change: Change, current: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """``(secret, marker)`` to send; ``(None, None)`` when the tenant already holds the secret, or
    ``(None, marker)`` when it does but its marker is in an older form (rewritten if the object is written).

    Every marker made here is remembered in ``ctx.markers`` so the confirmation plan does not hash again.
    """
    if change.secret is None:
        return None, None
    if current is not None and not change.send_secret:
        # The plan sends no secret here: none is required. When it is at hand anyway, an older marker
        # form is rewritten (below); when it is not, nothing is asked for.
        try:
            value = ctx.secret(change.secret)
        except ProvisionerError:
            return None, None
    else:
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


def create_once(put: Callable[[], Any], reread: Callable[[], Any], matches: Callable[[Any], bool], what: str) -> Any:
    """Send a create-only write; on an ambiguous failure re-read and accept a matching object.

    When the re-read finds nothing, the create is sent once more: it carries ``If-None-Match: *`` and
    a deterministic id, so it cannot overwrite anything (if the first one lands late, the second gets
    412, which is then resolved by re-reading and matching as well).
    """
    from provisioner.client.errors import PreconditionFailed, TransportError  # kinds load without the client

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
            raise ProvisionerError(
                f"{what}: the create may or may not have been applied and the object does not "
                f"match; nothing else was sent ({exc})"
            ) from exc
        except PreconditionFailed as exc:
            if attempt == 2:  # our first, ambiguous create may have landed after all
                found = reread()
                if found is not None and matches(found):
                    return found
            raise StaleObject(
                f"conflict: {what} was created by someone else since the plan (another apply?); "
                f"not overwritten. Run plan again."
            ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def am_create(
    ctx: ApplyContext,
    change: Change,
    fields: tuple[Field, ...],
    am_kind: str,
    template: Mapping[str, Any],
    extra: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Create the AM half of a client-like object (create-only PUT, defaults + template + managed fields)."""
    desired = change.desired
    secret, marker = secret_for(ctx, change, None)
    body = create_document(template, fields, desired, change.realm, stack=ctx.stack, secret=secret, secret_hash=marker)
    if extra:
        extra(body)
    am = ctx.client.am(change.realm)
    created: dict[str, Any] = create_once(
        lambda: am.put(am_kind, change.key, body, create_only=True)[0],
        lambda: find_am(ctx.client, change.realm, am_kind, change.key),
        lambda found: not am_differs(found, fields, desired),
        change.address,
    )
    return created


def current_am(ctx: ApplyContext, realm: str, kind: str, key: str) -> dict[str, Any] | None:
    """The object as re-read right before this level (one list per kind), else by its own query."""
    batch = ctx.am_current.get((realm, kind))
    if batch is not None:
        return batch.get(key)
    return find_am(ctx.client, realm, kind, key)


class IncompleteRead(StaleObject):
    """A whole-object replace would drop fields the tenant holds: the read it was built from was not
    complete. Nothing was written to the object; apply stops scheduling new writes, as for a conflict."""


def field_paths(doc: Mapping[str, Any] | None) -> set[str]:
    """The writable field paths of an AM client document: each top-level key and each key of a group
    (``coreOAuth2ClientConfig.clientType``), without server keys, secrets or list-only null extras."""
    if not doc:
        return set()
    plain = writable_client_doc(doc)
    out: set[str] = set()
    for key, value in plain.items():
        if key.startswith("_"):
            continue
        out.add(key)
        # The identity attributes are AM's copy of IDM's record, rewritten on purpose (aiagent.refresh).
        if isinstance(value, Mapping) and key != "aiAgentIdentityAttributes":
            out.update(f"{key}.{inner}" for inner in value if not str(inner).startswith("_"))
    return out


def guard_replace(address: str, body: Mapping[str, Any], *reads: Mapping[str, Any] | None) -> None:
    """Refuse to PUT ``body`` when it lacks a field that any fresh read of the object had.

    AM replaces the whole object on PUT: a body built from an incomplete read (a partial or malformed
    answer, a read racing a create) would silently delete every field that read missed.
    """
    missing = set().union(*(field_paths(r) for r in reads)) - field_paths(body)
    if missing:
        groups = sorted(m for m in missing if "." not in m)  # whole groups first, then single fields
        keys = sorted(m for m in missing if "." in m and m.split(".", 1)[0] not in groups)
        listed = groups + keys
        shown = ", ".join(listed[:12]) + (f" and {len(listed) - 12} more" if len(listed) > 12 else "")
        raise IncompleteRead(
            f"refusing to replace {address}: the document built for the PUT lacks fields the "
            f"tenant holds ({shown}), so the read it came from was incomplete; nothing was "
            f"written to it. Run apply again."
        )


def fresh_single(ctx: ApplyContext, realm: str, am_kind: str, key: str) -> dict[str, Any] | None:
    """The object by a single GET (the complete, wrapped representation), unwrapped."""
    got = ctx.client.am(realm).get(am_kind, key)
    return unwrap(got[0]) if got is not None else None


def am_update(
    ctx: ApplyContext,
    change: Change,
    fields: tuple[Field, ...],
    am_kind: str,
    refresh: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Update the AM half: check the revision, read-modify-write the managed fields, re-read to confirm.

    The body is built from the list read taken right before this level (its ``_rev`` is what the plan
    compares); before the PUT a single GET of the object must agree that the body keeps every field
    (:func:`guard_replace`), so a whole-object replace is never built from an incomplete read.
    """
    current = current_am(ctx, change.realm, am_kind, change.key)
    check_rev(change, "am", current.get("_rev") if current else None)
    assert current is not None
    secret, marker = secret_for(ctx, change, current)
    body, changed = update_document(
        current, fields, change.desired, change.realm, secret=secret, secret_hash=marker, stack=ctx.stack
    )
    if changed:
        if refresh:
            refresh(body)
        guard_replace(change.address, body, current, fresh_single(ctx, change.realm, am_kind, change.key))
        ctx.client.am(change.realm).put(am_kind, change.key, body)
        after = find_am(ctx.client, change.realm, am_kind, change.key)
        if after is None or am_differs(after, fields, change.desired):
            raise StaleObject(
                f"conflict: {change.address} was changed by another writer while this apply wrote "
                f"it (AM {'deleted' if after is None else 'revision ' + str(after.get('_rev'))}); "
                f"the other write won. Run plan again."
            )


def idm_patch(
    ctx: ApplyContext,
    change: Change,
    object_type: str,
    fields: Any,
    current: Mapping[str, Any] | None,
    read_fields: tuple[str, ...],
    extra_ops: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> None:
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

    from provisioner.client.errors import PreconditionFailed

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
        raise StaleObject(
            f"conflict: {change.address} changed since the plan (IDM revision {rev} moved); "
            f"nothing written to it. Another apply or an admin changed it; run plan again."
        ) from exc
