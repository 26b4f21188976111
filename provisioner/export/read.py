"""Reading for export: the realm snapshot (few list requests) and one user query for the names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from provisioner.kinds.snapshot import PAGE_SIZE, ReadScope, RealmSnapshot, or_filter, read_snapshot

#: Ids per user query; a realm's owners and subjects normally fit in one request.
USER_BATCH = 100


def read_realm(client: Any, realm: str, parallelism: int = 4) -> RealmSnapshot:
    """The realm as the planner sees it: provider, clients, agents, apps, identities, privileges."""
    return read_snapshot(client, [ReadScope(realm)], parallelism).realm(realm)


def user_names(client: Any, realm: str, ids: Iterable[str]) -> dict[str, str]:
    """User id → ``userName`` with one IDM query (``_id eq "a" or _id eq "b"``) per 100 ids."""
    wanted = sorted(set(ids))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), USER_BATCH):
        batch = wanted[start : start + USER_BATCH]
        for user in client.idm.query(f"{realm}_user", or_filter("_id", batch), ("_id", "userName"), PAGE_SIZE):
            if user.get("_id") and user.get("userName"):
                out[str(user["_id"])] = str(user["userName"])
    return out
