"""Before-images for undo (pure): what a planned object held before apply wrote it, in manifest terms.

:func:`before_image` turns an object as observed in the snapshot apply checked its plan against into
the manifest ``spec`` that restores it: only the fields the change writes (field ownership), every one
of them with its full value (no default elided: ``description: null`` means "unset"), grant types as
AM values, users by ``userName``. Secrets are never part of an image (the tenant never returns them);
an image says ``secretChanged`` when the run wrote a secret, so undo can name what it cannot restore.

:func:`restore_resources` turns the images of one run back into manifest records (one per object;
privilege images become ``applications`` entries of their agent) and :func:`created_deletes` the
delete changes for what the run created. Undo plans those with the ordinary planner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provisioner.kinds import aiagent, application, privilege, provider
from provisioner.kinds.common import get_path
from provisioner.kinds.fields import Field, canonical, display
from provisioner.kinds.oauth2client import OWNERS_TARGET, client_rev, idm_rev
from provisioner.kinds.snapshot import RealmSnapshot, Snapshot

_CLIENT_FIELDS = {application.KIND: application.FIELDS, aiagent.KIND: aiagent.FIELDS}
#: The kinds a before-image can be of.
IMAGE_KINDS = (provider.KIND, application.KIND, aiagent.KIND, privilege.KIND)
_PRIVILEGE_FIELDS = {f.name: f.targets[0] for f in privilege.FIELDS}
_SUBJECTS = _PRIVILEGE_FIELDS["subjects"]

Names = Mapping[str, str]  # user id → userName


# -- capture -------------------------------------------------------------------------------------------


def _observed_docs(snap: RealmSnapshot, kind: str, key: str) -> dict[str, Any]:
    if kind == application.KIND:
        return {"am": snap.clients.get(key), "idm": snap.apps.get(key)}
    return {"am": snap.agents.get(key), "idm": snap.identity_of(key)}


def _privilege_doc(snap: RealmSnapshot, ids: Mapping[str, Any]) -> Mapping[str, Any] | None:
    wanted = ids.get("privilege")
    return snap.privilege(wanted) if wanted else None


def user_ids(changes: Iterable[Any], snapshot: Snapshot) -> dict[str, set[str]]:
    """Realm → the user ids the before-images of ``changes`` mention (owners and privilege subjects)."""
    out: dict[str, set[str]] = {}
    for change in changes:
        snap = snapshot.realm(change.realm)
        ids = out.setdefault(change.realm, set())
        if change.kind in _CLIENT_FIELDS:
            docs = _observed_docs(snap, change.kind, change.key)
            ids.update(canonical(OWNERS_TARGET, (docs.get("idm") or {}).get("owners")))
            if change.kind == aiagent.KIND and change.action == "delete":
                identity = docs.get("idm")
                for priv in snap.privileges_of(str(identity["_id"]) if identity else None, change.key):
                    ids.update(canonical(_SUBJECTS, priv.get("subjects")))
        elif change.kind == privilege.KIND:
            doc = _privilege_doc(snap, change.ids.to_dict())
            ids.update(canonical(_SUBJECTS, (doc or {}).get("subjects")))
    return out


def touched_user_ids(images: Iterable[Mapping[str, Any]], snapshot: Snapshot) -> dict[str, set[str]]:
    """Realm → the user ids the touched objects name *now* (owners, subjects), so a plan can show names."""
    out: dict[str, set[str]] = {}
    for rec in images:
        realm, kind, key = str(rec["realm"]), rec["kind"], str(rec["key"])
        snap = snapshot.realm(realm)
        ids = out.setdefault(realm, set())
        if kind in _CLIENT_FIELDS:
            ids.update(canonical(OWNERS_TARGET, (_observed_docs(snap, kind, key).get("idm") or {}).get("owners")))
        elif kind == privilege.KIND:
            agent = str(rec.get("agent") or key.split("/", 1)[0])
            identity = snap.identity_of(agent)
            for priv in snap.privileges_of(str(identity["_id"]) if identity else None, agent):
                ids.update(canonical(_SUBJECTS, priv.get("subjects")))
    return out


def _users(value: list[str], names: Names, label: str, notes: list[str]) -> list[dict[str, str]]:
    missing = sorted(i for i in value if i not in names)
    if missing:
        notes.append(f"{label}: user id(s) {', '.join(missing)} have no user; they cannot be restored")
    return [{"userName": n} for n in sorted(names[i] for i in value if i in names)]


def _field_value(fld: Field, docs: Mapping[str, Any], names: Names, notes: list[str]) -> Any:
    primary = fld.targets[0]
    canon = canonical(primary, get_path(docs.get(primary.remote), primary.path))
    value = display(primary, canon)
    if primary.compare == "one" and isinstance(value, list):
        notes.append(f"{fld.name} held several values ({', '.join(map(str, value))}); restored as the first")
        value = value[0]
    if primary.compare == "refs" and primary.collection.endswith("_user"):
        return _users(canon, names, fld.name, notes)
    return value


def _client_image(
    kind: str, docs: Mapping[str, Any], wanted: Iterable[str], names: Names, notes: list[str]
) -> dict[str, Any]:
    wanted = set(wanted)
    spec: dict[str, Any] = {}
    for fld in _CLIENT_FIELDS[kind]:
        if fld.sensitive or fld.name not in wanted:
            continue
        value = _field_value(fld, docs, names, notes)
        if "." in fld.name:
            top, sub = fld.name.split(".", 1)
            spec.setdefault(top, {})[sub] = value
        else:
            spec[fld.name] = value
    return spec


def privilege_entry(snap: RealmSnapshot, priv: Mapping[str, Any], names: Names, notes: list[str]) -> dict[str, Any]:
    """An ``applications[]`` entry that re-creates or restores ``priv``."""
    entry: dict[str, Any] = {"application": snap.privilege_app(priv) or ""}
    description = get_path(priv, ("description",))
    entry["description"] = description if isinstance(description, str) else None
    entry["subjects"] = _users(canonical(_SUBJECTS, priv.get("subjects")), names, "subjects", notes)
    entry["subjectGroups"] = canonical(_PRIVILEGE_FIELDS["subjectGroups"], priv.get("subjectGroups"))
    entry["permissions"] = canonical(_PRIVILEGE_FIELDS["permissions"], priv.get("permissions"))
    return entry


def _all_managed(kind: str) -> list[str]:
    return [f.name for f in _CLIENT_FIELDS[kind] if not f.sensitive]


def before_image(change: Any, snapshot: Snapshot, names: Names) -> dict[str, Any]:
    """The journal's ``before`` record for one planned change (``image`` None: the object did not exist)."""
    snap = snapshot.realm(change.realm)
    notes: list[str] = []
    desired = change.desired or {}
    image: dict[str, Any] | None = None
    record: dict[str, Any] = {
        "address": change.address,
        "kind": change.kind,
        "realm": change.realm,
        "key": change.key,
        "action": change.action,
    }
    if change.kind == provider.KIND:
        image = {}
        if "grantTypes" in desired:
            image["grantTypes"] = {"exact": provider.current_grants(snap.provider)}
        if "acceptAudienceInTokenExchange" in desired:
            image["acceptAudienceInTokenExchange"] = get_path(snap.provider, provider.AUDIENCE_PATH)
    elif change.kind in _CLIENT_FIELDS:
        docs = _observed_docs(snap, change.kind, change.key)
        if docs["am"] is not None:
            wanted = _all_managed(change.kind) if change.action == "delete" else list(desired)
            if change.kind == application.KIND and change.action == "delete":
                template = (docs.get("idm") or {}).get("templateName")
                if template not in application.TEMPLATES:
                    wanted = [w for w in wanted if w != "template"]
            image = _client_image(change.kind, docs, wanted, names, notes)
            if change.kind == aiagent.KIND and change.action == "delete":
                identity = docs.get("idm")
                image["applications"] = [
                    privilege_entry(snap, p, names, notes)
                    for p in snap.privileges_of(str(identity["_id"]) if identity else None, change.key)
                    if snap.privilege_app(p)
                ]
        record["secretChanged"] = (
            change.action != "create"
            and docs["am"] is not None
            and (change.action == "delete" or any(f.path == "clientSecret" for f in change.fields))
        )
    elif change.kind == privilege.KIND:
        ids = change.ids.to_dict()
        doc = _privilege_doc(snap, ids)
        record["ids"] = {"privilege": ids.get("privilege")}
        if doc is not None:
            image = privilege_entry(snap, doc, names, notes)
            if not image["application"]:
                notes.append("the privilege points at no application; it cannot be restored")
                image = None
            record["agent"] = change.key.split("/", 1)[0]
        else:
            record["agent"] = str(ids.get("agentKey") or change.key.split("/", 1)[0])
    else:  # a kind this module does not know yet: nothing to restore it with, and undo says so
        notes.append(f"undo cannot restore objects of kind {change.kind!r} yet")
    record["image"] = image
    if notes:
        record["notes"] = notes
    return record


# -- restore -------------------------------------------------------------------------------------------


def restore_resources(
    images: Iterable[Mapping[str, Any]], make: Callable[[str, str, str, dict[str, Any], Mapping[str, Any]], Any]
) -> list[Any]:
    """Manifest records that restore the objects whose images exist (objects that existed before).

    ``make(kind, realm, name, spec, record)`` builds one record. A privilege image joins its agent's
    ``applications``; an agent whose own fields the run did not touch gets a spec with only those.
    """
    specs: dict[tuple[str, str, str], dict[str, Any]] = {}
    sources: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    entries: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for rec in images:
        kind, realm, key, image = rec["kind"], rec["realm"], rec["key"], rec.get("image")
        if image is None:
            continue
        if kind == privilege.KIND:
            agent = str(rec.get("agent") or key.split("/", 1)[0])
            entries.setdefault((realm, agent), {})[str(image.get("application"))] = dict(image)
            sources.setdefault((aiagent.KIND, realm, agent), rec)
            continue
        spec = dict(image)
        if kind == aiagent.KIND and "applications" in spec:
            for entry in spec.pop("applications") or []:
                entries.setdefault((realm, key), {}).setdefault(str(entry.get("application")), dict(entry))
        specs[(kind, realm, key)] = spec
        sources[(kind, realm, key)] = rec
    for (realm, agent), by_app in entries.items():
        spec = specs.setdefault((aiagent.KIND, realm, agent), {})
        spec["applications"] = [by_app[app] for app in sorted(by_app)]
    out = []
    for (kind, realm, key), spec in sorted(specs.items()):
        out.append(make(kind, realm, key if kind != provider.KIND else realm, spec, sources[(kind, realm, key)]))
    return out


def restored_addresses(images: Iterable[Mapping[str, Any]]) -> set[str]:
    """The addresses an undo plan may change: every object the run touched."""
    return {str(rec["address"]) for rec in images}


def created_deletes(images: Iterable[Mapping[str, Any]], snapshot: Snapshot, reason: str) -> list[dict[str, Any]]:
    """The deletes (as ``Change`` fields) of the objects the run created (image None) that exist now."""
    out: dict[str, dict[str, Any]] = {}
    created = [r for r in images if r.get("image") is None and r.get("action") == "create"]
    created_agents = {(r["realm"], r["key"]) for r in created if r["kind"] == aiagent.KIND}
    for rec in created:
        kind, realm, key = rec["kind"], rec["realm"], rec["key"]
        snap = snapshot.realm(realm)
        if kind == privilege.KIND:
            if (realm, str(rec.get("agent") or key.split("/", 1)[0])) in created_agents:
                continue  # deleted with its agent below
            priv = snap.privilege((rec.get("ids") or {}).get("privilege"))
            if priv is not None:
                out[rec["address"]] = _privilege_delete(realm, key, priv, reason)
            continue
        if kind == application.KIND and (key in snap.clients or key in snap.apps):
            record = snap.apps.get(key)
            out[rec["address"]] = _delete(
                rec["address"],
                kind,
                realm,
                key,
                {"am": client_rev(snap.clients.get(key)), "idm": idm_rev(record)},
                {"record": str(record["_id"]) if record else None},
                reason,
            )
        elif kind == aiagent.KIND and key in snap.agents:
            identity = snap.identity_of(key)
            uid = str(identity["_id"]) if identity else None
            for priv in snap.privileges_of(uid, key):
                pkey = privilege.key_of(key, snap.privilege_app(priv) or str(priv.get("_id")))
                deleted = _privilege_delete(realm, pkey, priv, f"its agent {key!r} is deleted")
                out[deleted["address"]] = deleted
            out[rec["address"]] = _delete(
                rec["address"],
                kind,
                realm,
                key,
                {"am": client_rev(snap.agents.get(key)), "idm": idm_rev(identity)},
                {"identity": uid},
                reason,
            )
    return list(out.values())


def _delete(
    addr: str, kind: str, realm: str, key: str, observed: dict[str, Any], ids: dict[str, Any], reason: str
) -> dict[str, Any]:
    return {
        "address": addr,
        "kind": kind,
        "realm": realm,
        "key": key,
        "action": "delete",
        "observed": observed,
        "ids": ids,
        "reason": reason,
    }


def _privilege_delete(realm: str, key: str, priv: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return _delete(
        f"{privilege.KIND} {realm}/{key}",
        privilege.KIND,
        realm,
        key,
        {"idm": idm_rev(priv)},
        {"privilege": str(priv.get("_id"))},
        reason,
    )


def capture(changes: Iterable[Any], snapshot: Snapshot, client: Any, page_size: int = 1000) -> list[dict[str, Any]]:
    """The ``before`` records of ``changes`` (no-ops left out), with one user query per realm for the
    owner and subject ids the snapshot cannot name."""
    from provisioner.kinds.snapshot import or_filter

    changes = [c for c in changes if c.action != "no-op"]
    names: dict[str, dict[str, str]] = {}
    for realm, ids in user_ids(changes, snapshot).items():
        known = {uid: name for name, uid in snapshot.realm(realm).users.items()}
        names[realm] = {uid: known[uid] for uid in ids if uid in known}
        unknown = sorted(ids - set(known))
        for start in range(0, len(unknown), 100):
            batch = unknown[start : start + 100]
            for user in client.idm.query(f"{realm}_user", or_filter("_id", batch), ("_id", "userName"), page_size):
                if user.get("_id") and user.get("userName"):
                    names[realm][str(user["_id"])] = str(user["userName"])
    return [before_image(c, snapshot, names.get(c.realm, {})) for c in changes]


__all__ = [
    "IMAGE_KINDS",
    "before_image",
    "capture",
    "created_deletes",
    "privilege_entry",
    "restore_resources",
    "restored_addresses",
    "touched_user_ids",
    "user_ids",
]
