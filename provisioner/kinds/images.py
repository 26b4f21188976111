"""Before-images for undo (pure): what a planned object held before apply wrote it, in manifest terms.

:func:`before_image` turns an object as observed in the snapshot apply checked its plan against into
the manifest ``spec`` that restores it: only the fields the change writes (field ownership), every one
of them with its full value (no default elided: ``description: null`` means "unset"), grant types as
AM values, users by ``userName``. Secrets are never part of an image (the tenant never returns them);
an image says ``secretChanged`` when the run wrote a secret, so undo can name what it cannot restore.

:func:`restore_resources` turns the images of one run back into manifest records (one per object; the
image of a kind declared inside another becomes an entry of its parent, as privileges become
``applications`` entries of their agent) and :func:`created_deletes` the delete changes for what the run
created. Undo plans those with the ordinary planner.

Each kind declares its part in ``KindSpec.images`` (:class:`~provisioner.kinds.spec.ImageHooks`); this
module runs them and holds the helpers they share. A kind without it is named by undo as one it cannot
restore.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provisioner.kinds.common import get_path
from provisioner.kinds.fields import Field, canonical, display
from provisioner.kinds.snapshot import Snapshot
from provisioner.kinds.spec import ImageHooks, KindSpec

Names = Mapping[str, str]  # user id → userName


def _spec(kind: str) -> KindSpec | None:
    from provisioner.kinds import spec_of  # the kind modules import this module while the registry loads

    return spec_of(kind)


def _hooks(kind: str) -> ImageHooks | None:
    spec = _spec(kind)
    return spec.images if spec is not None else None


def _parent(kind: str) -> KindSpec | None:
    """The kind ``kind`` is declared inside (an agent for its privileges), if any."""
    from provisioner.kinds import REGISTRY

    return next((spec for spec in REGISTRY if spec.owns == kind), None)


# -- helpers for the kinds' hooks ------------------------------------------------------------------------


def user_entries(value: list[str], names: Names, label: str, notes: list[str]) -> list[dict[str, str]]:
    """``[{userName}]`` for user ids (sorted); ids with no user are noted as not restorable."""
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
        return user_entries(canon, names, fld.name, notes)
    return value


def managed_fields(fields: Iterable[Field]) -> list[str]:
    """Every field of the table an image can restore (secrets never)."""
    return [f.name for f in fields if not f.sensitive]


def fields_image(
    fields: Iterable[Field], docs: Mapping[str, Any], wanted: Iterable[str], names: Names, notes: list[str]
) -> dict[str, Any]:
    """The manifest values of the ``wanted`` fields of ``fields`` as ``docs`` (``{"am", "idm"}``) hold them."""
    wanted = set(wanted)
    spec: dict[str, Any] = {}
    for fld in fields:
        if fld.sensitive or fld.name not in wanted:
            continue
        value = _field_value(fld, docs, names, notes)
        if "." in fld.name:
            top, sub = fld.name.split(".", 1)
            spec.setdefault(top, {})[sub] = value
        else:
            spec[fld.name] = value
    return spec


def secret_changed(change: Any, docs: Mapping[str, Any]) -> bool:
    """The run wrote the client's secret over one the tenant held (which no image can give back)."""
    return (
        change.action != "create"
        and docs["am"] is not None
        and (change.action == "delete" or any(f.path == "clientSecret" for f in change.fields))
    )


def delete_record(
    addr: str, kind: str, realm: str, key: str, observed: dict[str, Any], ids: dict[str, Any], reason: str
) -> dict[str, Any]:
    """A delete change, as ``Change`` fields."""
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


# -- capture -------------------------------------------------------------------------------------------


def user_ids(changes: Iterable[Any], snapshot: Snapshot) -> dict[str, set[str]]:
    """Realm → the user ids the before-images of ``changes`` mention (owners and privilege subjects)."""
    out: dict[str, set[str]] = {}
    for change in changes:
        ids = out.setdefault(change.realm, set())
        hooks = _hooks(change.kind)
        if hooks is not None:
            ids.update(hooks.users(snapshot.realm(change.realm), change))
    return out


def touched_user_ids(images: Iterable[Mapping[str, Any]], snapshot: Snapshot) -> dict[str, set[str]]:
    """Realm → the user ids the touched objects name *now* (owners, subjects), so a plan can show names."""
    out: dict[str, set[str]] = {}
    for rec in images:
        realm = str(rec["realm"])
        ids = out.setdefault(realm, set())
        hooks = _hooks(rec["kind"])
        if hooks is not None:
            ids.update(hooks.touched_users(snapshot.realm(realm), rec))
    return out


def before_image(change: Any, snapshot: Snapshot, names: Names) -> dict[str, Any]:
    """The journal's ``before`` record for one planned change (``image`` None: the object did not exist)."""
    notes: list[str] = []
    image: dict[str, Any] | None = None
    record: dict[str, Any] = {
        "address": change.address,
        "kind": change.kind,
        "realm": change.realm,
        "key": change.key,
        "action": change.action,
    }
    hooks = _hooks(change.kind)
    if hooks is not None:
        image = hooks.capture(snapshot.realm(change.realm), change, names, notes, record)
    else:  # a kind that declares no images: nothing to restore it with, and undo says so
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

    ``make(kind, realm, name, spec, record)`` builds one record. The image of a kind declared inside
    another joins its parent's list (a privilege its agent's ``applications``); a parent whose own
    fields the run did not touch gets a spec with only that list.
    """
    specs: dict[tuple[str, str, str], dict[str, Any]] = {}
    sources: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    entries: dict[tuple[str, str, str], dict[str, dict[str, dict[str, Any]]]] = {}
    for rec in images:
        kind, realm, key, image = rec["kind"], rec["realm"], rec["key"], rec.get("image")
        if image is None:
            continue
        hooks = _hooks(kind)
        parent = _parent(kind)
        if hooks is not None and parent is not None and hooks.entry_field and hooks.entry_key and hooks.parent_key:
            owner = (parent.name, realm, hooks.parent_key(rec))
            listed = entries.setdefault(owner, {}).setdefault(hooks.entry_field, {})
            listed[str(image.get(hooks.entry_key))] = dict(image)
            sources.setdefault(owner, rec)
            continue
        spec = dict(image)
        kind_spec = _spec(kind)
        owned = _hooks(kind_spec.owns) if kind_spec is not None and kind_spec.owns else None
        if owned is not None and owned.entry_field and owned.entry_key and owned.entry_field in spec:
            listed = entries.setdefault((kind, realm, key), {}).setdefault(owned.entry_field, {})
            for entry in spec.pop(owned.entry_field) or []:
                listed.setdefault(str(entry.get(owned.entry_key)), dict(entry))
        specs[(kind, realm, key)] = spec
        sources[(kind, realm, key)] = rec
    for owner, lists in entries.items():
        spec = specs.setdefault(owner, {})
        for field_name, by_key in lists.items():
            spec[field_name] = [by_key[k] for k in sorted(by_key)]
    out = []
    for (kind, realm, key), spec in sorted(specs.items()):
        declared = _spec(kind)
        name = realm if declared is not None and declared.keyed_by_realm else key
        out.append(make(kind, realm, name, spec, sources[(kind, realm, key)]))
    return out


def restored_addresses(images: Iterable[Mapping[str, Any]]) -> set[str]:
    """The addresses an undo plan may change: every object the run touched."""
    return {str(rec["address"]) for rec in images}


def created_deletes(images: Iterable[Mapping[str, Any]], snapshot: Snapshot, reason: str) -> list[dict[str, Any]]:
    """The deletes (as ``Change`` fields) of the objects the run created (image None) that exist now; an
    object whose parent the run also created goes with its parent's delete."""
    out: dict[str, dict[str, Any]] = {}
    created = [r for r in images if r.get("image") is None and r.get("action") == "create"]
    created_keys = {(r["kind"], r["realm"], r["key"]) for r in created}
    for rec in created:
        hooks = _hooks(rec["kind"])
        if hooks is None:
            continue
        parent = _parent(rec["kind"])
        if (
            parent is not None
            and hooks.parent_key
            and (parent.name, rec["realm"], hooks.parent_key(rec)) in created_keys
        ):
            continue  # deleted with its parent
        for delete in hooks.created_deletes(snapshot.realm(rec["realm"]), rec, reason):
            out[delete["address"]] = delete
    return list(out.values())


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
    "before_image",
    "capture",
    "created_deletes",
    "delete_record",
    "fields_image",
    "managed_fields",
    "restore_resources",
    "restored_addresses",
    "secret_changed",
    "touched_user_ids",
    "user_entries",
    "user_ids",
]
