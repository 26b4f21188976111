"""AgentPrivilege: one IDM ``<realm>_aiagentprivilege`` per ``spec.applications[]`` entry (reference §7).

Key: (agent client id, application client id). Field table:

=============  =====================================================================
description    ``description``
permissions    ``permissions`` = ``[{"type": "scopes", "values": [...]}]`` (values as a set;
               empty = every scope of the application)
subjects       ``subjects`` refs → ``managed/<realm>_user`` (userName resolved to ``_id``)
subjectGroups  ``subjectGroups`` refs → ``managed/<realm>_group``
=============  =====================================================================

An agent's privilege set is fully owned: ``permissions``, ``subjects`` and ``subjectGroups`` are
managed even when the entry leaves them out (absent = empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from provisioner.kinds.application import resolve_users
from provisioner.kinds.common import deterministic_id, get_path, make_ref, ref_id
from provisioner.kinds.fields import Field, Target, canonical, encode, idm_patch_ops
from provisioner.kinds.oauth2client import idm_rev
from provisioner.kinds.spec import ImageHooks, KindSpec, SnapshotRead

if TYPE_CHECKING:  # planning, apply and snapshot code is imported where it runs: validate needs none of it
    from provisioner.kinds.planning import PlanContext
    from provisioner.kinds.snapshot import RealmSnapshot
    from provisioner.kinds.write import ApplyContext

KIND = "AgentPrivilege"
RANK = 3

FIELDS: tuple[Field, ...] = (
    Field("description", (Target("idm", ("description",)),)),
    Field("permissions", (Target("idm", ("permissions",), "scopes"),)),
    Field("subjects", (Target("idm", ("subjects",), "refs", "managed/{realm}_user"),)),
    Field("subjectGroups", (Target("idm", ("subjectGroups",), "refs", "managed/{realm}_group"),)),
)


def key_of(agent: str, application: str) -> str:
    """The privilege key as shown in addresses: ``<agent>/<application>``."""
    return f"{agent}/{application}"


def privilege_id(realm: str, agent: str, application: str) -> str:
    """The deterministic privilege ``_id``: ``uuid5(NAMESPACE, "<realm>|<agent>|<application>")``."""
    return deterministic_id(realm, agent, application)


def group_id(entry: Any) -> str:
    return str(entry.get("_id") or entry.get("name")) if isinstance(entry, Mapping) else str(entry)


def desired_values(
    entry: Mapping[str, Any], users: Mapping[str, str], groups: frozenset[str], path: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Managed values of one ``applications[]`` entry, and ``(path, message)`` problems."""
    out: dict[str, Any] = {"permissions": sorted(set(entry.get("permissions") or []))}
    subjects, problems = resolve_users(entry.get("subjects") or [], users, f"{path}.subjects")
    out["subjects"] = subjects
    wanted_groups = []
    for index, group in enumerate(entry.get("subjectGroups") or []):
        gid = group_id(group)
        if gid not in groups:
            problems.append((f"{path}.subjectGroups[{index}]", f"group {gid!r} does not exist in the tenant"))
        wanted_groups.append(gid)
    out["subjectGroups"] = sorted(set(wanted_groups))
    if entry.get("description") is not None:
        out["description"] = entry["description"]
    return out, problems


def observe_all(snap: RealmSnapshot, identity: str | None, agent: str) -> dict[str, list[Mapping[str, Any]]]:
    """The agent's observed privileges grouped by application client id (``""`` when unknown)."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for priv in snap.privileges_of(identity, agent):
        out.setdefault(snap.privilege_app(priv) or "", []).append(priv)
    return out


def create_body(realm: str, priv_id: str, agent_uuid: str, app_uuid: str, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The single create body: agent, resource, subjects, subjectGroups, permissions, description."""
    body: dict[str, Any] = {
        "_id": priv_id,
        "agent": make_ref(f"managed/{realm}_aiagent", agent_uuid),
        "resource": make_ref(f"managed/{realm}_application", app_uuid),
    }
    for fld in FIELDS:
        if fld.name in desired:
            body[fld.name] = encode(fld.targets[0], desired[fld.name], realm)
    return body


def apply_write(ctx: ApplyContext, change: Any) -> None:
    """Create a privilege in one create-only PUT, or PATCH its differing fields."""
    from provisioner.kinds.snapshot import PRIVILEGE_FIELDS
    from provisioner.kinds.write import create_once, idm_patch

    realm, desired, ids = change.realm, change.desired, change.ids
    object_type = f"{realm}_aiagentprivilege"
    idm = ctx.client.idm
    if change.observed.get("idm") is None:
        with ctx.lock:
            agent_uuid = ctx.identities.get((realm, str(ids.agent_key)), str(ids.agent))
        priv_id = str(ids.privilege)
        body = create_body(realm, priv_id, agent_uuid, str(ids.resource), desired)
        create_once(
            lambda: idm.put(object_type, priv_id, body, if_none_match=True),
            lambda: idm.get(object_type, priv_id, PRIVILEGE_FIELDS),
            lambda found: not idm_patch_ops(FIELDS, desired, found, realm),
            change.address,
        )
        return
    current = ctx.snapshot.realm(realm).privilege(ids.privilege)
    idm_patch(ctx, change, object_type, FIELDS, current, PRIVILEGE_FIELDS)


def apply_delete(ctx: ApplyContext, change: Any) -> None:
    rev = (change.observed.get("idm") or {}).get("rev")
    ctx.client.idm.delete(f"{change.realm}_aiagentprivilege", str(change.ids.privilege), if_match=rev)


def plan_entries(
    ctx: PlanContext, res: Any, agent_change: Any, app_ids: Mapping[str, str], declared_apps: Mapping[str, str]
) -> list[Any]:
    """The changes of an agent's ``applications`` entries: one privilege each (the first when there
    are duplicates, the others deleted), and deletes for privileges the agent no longer declares."""
    from provisioner.kinds.planning import field_changes, make_change
    from provisioner.plan.model import Ids

    realm, agent = res.realm, res.name
    snap = ctx.snapshot.realm(realm)
    observed_identity = snap.identity_of(agent)
    existing_by_app = observe_all(snap, str(observed_identity["_id"]) if observed_identity else None, agent)
    changes: list[Any] = []
    for index, entry in enumerate(res.spec.get("applications") or []):
        app = str(entry.get("application"))
        path = f"spec.applications[{index}]"
        desired, problems = desired_values(entry, snap.users, snap.groups, path)
        ctx.problems(res, problems)
        if app not in app_ids:
            ctx.problem(
                res, f"{path}.application", f"application {app!r} is neither declared nor live in realm {realm!r}"
            )
            continue
        key = key_of(agent, app)
        existing = existing_by_app.pop(app, [])
        # the deterministic id is needed to create, or to choose among duplicates (not for one privilege)
        wanted_id = privilege_id(realm, agent, app) if len(existing) != 1 else None
        if len(existing) > 1:
            existing.sort(key=lambda p: (p.get("_id") != wanted_id, str(p.get("_id"))))
        current = existing[0] if existing else None
        depends = [agent_change.address] + ([declared_apps[app]] if app in declared_apps else [])
        ids = Ids(
            privilege=str(current["_id"]) if current else str(wanted_id),
            agent=agent_change.ids.identity,
            resource=app_ids[app],
            agent_key=agent,
            application=app,
        )
        fields = field_changes(ctx, realm, FIELDS, desired, {"idm": current}, create=current is None)
        action = "create" if current is None else ("update" if fields else "no-op")
        changes.append(
            make_change(
                SPEC.address(realm, key),
                KIND,
                realm,
                key,
                action,
                fields,
                {"idm": idm_rev(current)},
                desired,
                depends_on=depends,
                ids=ids,
            )
        )
        for extra in existing[1:]:
            changes.append(
                delete_change(
                    realm,
                    key_of(agent, f"{app}~{extra.get('_id')}"),
                    extra,
                    "duplicate privilege for the same application",
                )
            )
    for app, extras in sorted(existing_by_app.items()):
        for extra in extras:
            key = key_of(agent, app) if app not in ("?", "") else f"{agent}/{extra.get('_id')}"
            changes.append(delete_change(realm, key, extra, f"not declared in agent {agent!r}'s applications"))
    return changes


def observed(snap: RealmSnapshot, key: str, ids: Any) -> dict[str, Any]:
    """The revision a plan records for a privilege: its IDM ``_rev`` (found by the planned id)."""
    return {"idm": idm_rev(snap.privilege(ids.privilege))}


def delete_change(realm: str, key: str, priv: Mapping[str, Any], reason: str) -> Any:
    """The delete of one privilege as observed."""
    from provisioner.plan.model import Change, Ids

    return Change(
        address=SPEC.address(realm, key),
        kind=KIND,
        realm=realm,
        key=key,
        action="delete",
        observed={"idm": idm_rev(priv)},
        ids=Ids(privilege=str(priv.get("_id"))),
        reason=reason,
    )


_TARGETS = {f.name: f.targets[0] for f in FIELDS}


def privilege_entry(
    snap: RealmSnapshot, priv: Mapping[str, Any], names: Mapping[str, str], notes: list[str]
) -> dict[str, Any]:
    """An ``applications[]`` entry that re-creates or restores ``priv`` (undo's image of a privilege)."""
    from provisioner.kinds.images import user_entries

    entry: dict[str, Any] = {"application": snap.privilege_app(priv) or ""}
    description = get_path(priv, ("description",))
    entry["description"] = description if isinstance(description, str) else None
    entry["subjects"] = user_entries(canonical(_TARGETS["subjects"], priv.get("subjects")), names, "subjects", notes)
    entry["subjectGroups"] = canonical(_TARGETS["subjectGroups"], priv.get("subjectGroups"))
    entry["permissions"] = canonical(_TARGETS["permissions"], priv.get("permissions"))
    return entry


def subject_ids(priv: Mapping[str, Any] | None) -> set[str]:
    """The user ids a privilege's ``subjects`` point at."""
    return set(canonical(_TARGETS["subjects"], (priv or {}).get("subjects")))


def _agent_key(rec: Mapping[str, Any]) -> str:
    return str(rec.get("agent") or str(rec["key"]).split("/", 1)[0])


def _image_doc(snap: RealmSnapshot, ids: Mapping[str, Any]) -> Mapping[str, Any] | None:
    wanted = ids.get("privilege")
    return snap.privilege(wanted) if wanted else None


def capture_image(
    snap: RealmSnapshot, change: Any, names: Mapping[str, str], notes: list[str], record: dict[str, Any]
) -> dict[str, Any] | None:
    """Undo's image of a privilege: its ``applications[]`` entry; the record keeps its id and its agent."""
    ids = change.ids.to_dict()
    doc = _image_doc(snap, ids)
    record["ids"] = {"privilege": ids.get("privilege")}
    if doc is None:
        record["agent"] = str(ids.get("agentKey") or change.key.split("/", 1)[0])
        return None
    image: dict[str, Any] | None = privilege_entry(snap, doc, names, notes)
    if image is not None and not image["application"]:
        notes.append("the privilege points at no application; it cannot be restored")
        image = None
    record["agent"] = change.key.split("/", 1)[0]
    return image


def touched_users(snap: RealmSnapshot, rec: Mapping[str, Any]) -> set[str]:
    """The subjects of every privilege the record's agent holds now."""
    agent = _agent_key(rec)
    identity = snap.identity_of(agent)
    out: set[str] = set()
    for priv in snap.privileges_of(str(identity["_id"]) if identity else None, agent):
        out |= subject_ids(priv)
    return out


def image_delete(realm: str, key: str, priv: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """The delete of privilege ``priv`` (``key``: ``<agent>/<application>``), as ``Change`` fields."""
    from provisioner.kinds.images import delete_record

    return delete_record(
        f"{KIND} {realm}/{key}", KIND, realm, key, {"idm": idm_rev(priv)}, {"privilege": str(priv.get("_id"))}, reason
    )


def created_deletes(snap: RealmSnapshot, rec: Mapping[str, Any], reason: str) -> list[dict[str, Any]]:
    priv = snap.privilege((rec.get("ids") or {}).get("privilege"))
    return [image_delete(rec["realm"], rec["key"], priv, reason)] if priv is not None else []


IMAGES = ImageHooks(
    capture=capture_image,
    users=lambda snap, change: subject_ids(_image_doc(snap, change.ids.to_dict())),
    touched_users=touched_users,
    created_deletes=created_deletes,
    entry_field="applications",
    entry_key="application",
    parent_key=_agent_key,
)


def assemble(results: Mapping[str, Any]) -> dict[str, Any]:
    """The realm snapshot's privileges, by ``_id``."""
    return {"privileges": tuple(sorted(results.get("privileges") or [], key=lambda p: str(p.get("_id"))))}


def idm_privileges(client: Any, realm: str) -> Any:
    """The realm's agent privileges (one IDM query, paged)."""
    from provisioner.kinds.snapshot import PAGE_SIZE, PRIVILEGE_FIELDS

    return client.idm.query(f"{realm}_aiagentprivilege", "true", PRIVILEGE_FIELDS, PAGE_SIZE)


def idm_privileges_for_plan(client: Any, realm: str) -> Any:
    """The realm's agent privileges for a plan: without the ``agent`` and ``resource`` references.

    Those two are about half of each item, and their virtual flattenings ``agentID`` and
    ``resourceData`` (which IDM computes from them) carry the same ids. When an item lacks either
    (a privilege whose application is gone has ``resourceData: {}``; a tenant that does not compute
    them), the privileges are read again whole: the plan never decides without the references.
    """
    from provisioner.kinds.snapshot import PAGE_SIZE, PRIVILEGE_PLAN_FIELDS

    items = client.idm.query(f"{realm}_aiagentprivilege", "true", PRIVILEGE_PLAN_FIELDS, PAGE_SIZE)
    if all(_flattened(item) for item in items):
        return items
    return idm_privileges(client, realm)


def _flattened(item: Mapping[str, Any]) -> bool:
    agent = item.get("agentID")
    return isinstance(agent, str) and bool(agent) and ref_id(item.get("resourceData")) is not None


SPEC = KindSpec(
    name=KIND,
    rank=RANK,
    fields=FIELDS,
    manifest=False,
    observed=observed,
    images=IMAGES,
    steps={"create": ((3, apply_write),), "update": ((3, apply_write),), "delete": ((3, apply_delete),)},
    reads=(
        SnapshotRead(
            "privileges",
            idm_privileges,
            optional=True,
            plan_read=idm_privileges_for_plan,
        ),
    ),
    assemble=assemble,
)
