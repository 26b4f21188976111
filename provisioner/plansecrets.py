"""A plan's client secrets: whether the tenant holds them (plan), and their values (apply).

Secrets are never read back: the hash marker on an object provisioner wrote answers; an object without
one (adopted, e.g. through export), and every object under ``plan --check-secrets``, is proven at the
realm's introspect endpoint with the secret itself, several at a time on the client's one session.
Apply resolves a plan's secret references from the loaded manifests, else the environment or the file
(a saved plan), and refuses to start while any secret it sends is missing.
"""

from __future__ import annotations

import os
import secrets as secrets_module
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provisioner import redact
from provisioner.errors import ConfigurationError
from provisioner.kinds import spec_of
from provisioner.kinds.oauth2client import secret_marker
from provisioner.kinds.secrets import verify_many
from provisioner.kinds.snapshot import Snapshot
from provisioner.plan.model import Plan, SecretReference
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


def _saved_plan_secret_file(ref: SecretReference, environ: Mapping[str, str], dotenv: Mapping[str, str]) -> str:
    """A saved plan's ``fromFile`` secret, read under the loader's rules: inside the folder it was
    declared in or the working directory, a regular file, size-capped, never the key file."""
    from provisioner import safefile
    from provisioner.manifest.limits import DEFAULT_LIMITS

    key_file = environ.get("AIC_SERVICE_ACCOUNT_JWK_FILE") or dotenv.get("AIC_SERVICE_ACCOUNT_JWK_FILE") or ""
    try:
        real = safefile.confined(ref.path, (os.getcwd(), ref.base or "."), (key_file,))
        data = safefile.read_bytes(real, DEFAULT_LIMITS.max_secret_bytes)
    except safefile.FileRefused as exc:
        raise ConfigurationError(f"secret {ref}: {exc}") from None
    except FileNotFoundError:
        raise ConfigurationError(
            f"secret {ref} is not available: {ref.path} does not exist (a saved plan reads "
            f"fromFile relative to the working directory it was made in: run apply there, or "
            f"pass the manifest PATHS)"
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"secret {ref}: cannot read {ref.path}: {exc.strerror or type(exc).__name__}"
        ) from None
    try:
        value = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"secret {ref}: {ref.path} is not valid UTF-8") from None
    return value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value


def ref_resolver(
    values: Mapping[tuple[str, str], str], environ: Mapping[str, str], dotenv: Mapping[str, str]
) -> Callable[[SecretReference], str]:
    """Resolve a plan's secret reference: the loaded manifests' values first, then the environment
    (``fromEnv``) or the file in the folder the reference was declared in (``fromFile``)."""

    def resolve(ref: SecretReference) -> str:
        if ref.key() in values:
            return values[ref.key()]
        value: str | None = None
        if ref.source == "env":
            value = environ.get(ref.name) or dotenv.get(ref.name)
        else:
            value = _saved_plan_secret_file(ref, environ, dotenv)
        if not value:
            raise ConfigurationError(f"secret {ref} is not available (pass the manifests or set it)")
        redact.register(value)
        return value

    return resolve


def require_sent_secrets(the_plan: Plan, resolver: Callable[[SecretReference], str]) -> None:
    """Every secret the plan sends (creates, and updates whose secret changed) resolves, or nothing is
    written: a saved plan applied without its secrets stops before the first write, naming them all."""
    missing = []
    for change in the_plan.changes:
        if change.secret is None or not (change.action == "create" or change.send_secret):
            continue
        try:
            resolver(change.secret)
        except ConfigurationError as exc:
            missing.append(f"  {change.address}: {exc}")
    if missing:
        lines = "\n".join(missing)
        raise ConfigurationError(
            f"the plan sends secrets that are not available; nothing was written:\n{lines}\n"
            f"Set them in the environment, pass --env-file FILE, or pass the manifest PATHS."
        )
