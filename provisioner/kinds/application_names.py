"""Application names are unique per realm (IDM's ``name`` UNIQUE policy): the offline rule over the
loaded manifests, and the plan's check against the names the tenant already holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


def unique_names(resources: Sequence[Any], complete: bool) -> Iterator[tuple[Any, str, str, str]]:
    """Applications' IDM names (``displayName``, else the client ID) are unique per realm: the tenant's
    ``name`` UNIQUE policy would refuse the second one half way through an apply."""
    from provisioner.kinds.application import KIND  # that module imports this one

    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for res in resources:
        if res.kind == KIND and not res.spec.get("existing"):
            name = res.spec.get("displayName") or res.name
            if isinstance(name, str):
                groups[(res.realm, name)].append(res)
    for (realm, name), members in sorted(groups.items()):
        if len(members) < 2:
            continue
        for res in members:
            others = ", ".join(f"{o.name} at {o.locate('spec.displayName')}" for o in members if o is not res)
            path = "spec.displayName" if "spec.displayName" in res.field_locations else "metadata.name"
            yield (
                res,
                path,
                (
                    f"application name '{name}' is used by more than one application in realm "
                    f"'{realm}' (also {others}); the tenant requires unique application names"
                ),
                "error",
            )


def names_index(apps: Mapping[str, Mapping[str, Any]]) -> dict[Any, list[str]]:
    """IDM ``name`` → the client ids of the tenant's applications holding it, in ``apps`` order."""
    index: dict[Any, list[str]] = {}
    for other, record in apps.items():
        name = record.get("name")
        if isinstance(name, str):
            index.setdefault(name, []).append(other)
    return index


def name_conflicts(
    apps: Mapping[str, Mapping[str, Any]],
    key: str,
    desired: Mapping[str, Any],
    creating: bool,
    by_name: Mapping[Any, list[str]] | None = None,
) -> list[tuple[str, str]]:
    """``(path, message)`` when the IDM ``name`` this plan writes is held by another application of the
    tenant (``apps``: the snapshot's records by client id); the ``name`` UNIQUE policy would refuse it.
    ``by_name``: :func:`names_index` of ``apps``, when the caller checks many applications."""
    if "displayName" not in desired and not creating:
        return []  # the name is not managed: nothing written, nothing to collide
    name = desired.get("displayName") or key
    holders = (
        (by_name if by_name is not None else names_index(apps)).get(name, ())
        if isinstance(name, str)
        else [other for other, record in apps.items() if record.get("name") == name]
    )
    for other in holders:
        if other != key:
            path = "spec.displayName" if "displayName" in desired else "metadata.name"
            return [
                (
                    path,
                    f"application name {name!r} is already used by application {other!r} in the tenant "
                    f"(application names are unique); choose another displayName",
                )
            ]
    return []
