"""Does the tenant hold each declared client secret? Markers first, live probes where they cannot tell.

Secrets are never read back: the hash marker on an object provisioner wrote answers; an object without
one (adopted, e.g. through export), and every object under ``plan --check-secrets``, is proven at the
realm's introspect endpoint with the secret itself, several at a time on the client's one session.
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.kinds import spec_of
from provisioner.kinds.oauth2client import secret_marker
from provisioner.kinds.secrets import verify_many
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import SecretReference
from provisioner.plan.order import address


def secret_values(resources: Sequence[Any], secrets: Any) -> dict[tuple[str, str], str]:
    """:meth:`SecretReference.key` → value for every ``clientSecret`` the resources declare."""
    out: dict[tuple[str, str], str] = {}
    for res in resources:
        ref = res.spec.get("clientSecret")
        if ref is not None and secrets is not None:
            out[SecretReference.of(ref).key()] = secrets.resolve(ref)
    return out


def secret_status(
    resources: Sequence[Any],
    snapshot: Snapshot,
    values: Mapping[tuple[str, str], str],
    client: Any = None,
    check: bool = False,
    workers: int = 8,
    known_markers: Mapping[str, str] | None = None,
) -> dict[str, bool]:
    """Address → whether the tenant holds the declared secret.

    The hash marker answers for objects provisioner wrote; objects without one, and every object with
    ``check``, are probed live at the realm's introspect endpoint, ``workers`` at a time on the
    client's one session.
    """
    triples = []
    docs: dict[str, tuple[Any, Any, str]] = {}
    for res in resources:
        ref = res.spec.get("clientSecret")
        key = SecretReference.of(ref).key() if ref is not None else None
        spec = spec_of(res.kind)
        if key is None or key not in values or spec is None or not spec.has_secret or spec.am_docs is None:
            continue
        doc = spec.am_docs(snapshot.realm(res.realm)).get(res.name)
        if doc is None:
            continue
        addr = address(res.kind, res.realm, res.name)
        triples.append((addr, secret_marker(doc), values[key]))
        docs[addr] = (res, doc, values[key])
    status = verify_many(triples, workers, known=dict(known_markers) if known_markers else None)
    # Objects without a marker were created outside provisioner (adopted, e.g. through export): the
    # marker cannot tell, so prove the secret live instead of reporting a change that may not exist.
    unmarked = {addr for addr, marker, _ in triples if not marker}
    if client is not None and (check or unmarked):
        probes = [(addr, res, doc, value) for addr, (res, doc, value) in docs.items() if check or addr in unmarked]
        # One OAuth endpoint object per realm; the probes share the client's one pooled session.
        endpoints = {realm: client.oauth(realm) for realm in sorted({res.realm for _, res, _, _ in probes})}

        def probe(item: tuple[str, Any, Any, str]) -> bool | None:
            _, res, doc, value = item
            return probe_secret(client, res, doc, value, endpoints.get(res.realm))

        if len(probes) == 1:
            results = [probe(probes[0])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(probes)))) as pool:
                results = list(pool.map(probe, probes))
        for (addr, _, _, _), live in zip(probes, results):
            if live is not None:
                status[addr] = live
    return status


def probe_secret(client: Any, res: Any, doc: Mapping[str, Any], secret: str, endpoints: Any = None) -> bool | None:
    """Authenticate at the realm's introspect endpoint with ``secret``: True/False, None when unknown.

    ``endpoints``: the realm's ``client.oauth(realm)`` to reuse (its session keeps connections open).
    """
    from provisioner.client.oauth import OAuthError

    method = (doc.get("advancedOAuth2ClientConfig") or {}).get("tokenEndpointAuthMethod")
    try:
        # A throwaway random token: only the client authentication matters (bad secret → invalid_client).
        (endpoints or client.oauth(res.realm)).introspect(res.name, secret, method, secrets_module.token_urlsafe(24))
    except OAuthError as exc:
        return False if exc.error == "invalid_client" or exc.status == 401 else None
    return True
