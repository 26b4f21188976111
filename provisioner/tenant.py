"""Which tenant a run talks to, and opening it (client, credentials, or the embedded emulator).

``--tenant URL|local`` settles it; otherwise ``AIC_TENANT_URL``, the environment file's ``tenant`` and
``FRODO_HOST`` must agree (a disagreement is refused), else ``local`` (outside CI only). ``local`` starts the emulator in-process on a loopback port, with its state
under ``.provisioner/emulator``, and signs in with the emulator's own service account through the same
JWT-bearer path as a real tenant.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from provisioner.client import tokencache
from provisioner.client.auth import ServiceAccountAuth
from provisioner.client.bounded import limits_from
from provisioner.client.credentials import read_jwk_file, resolve_credentials
from provisioner.client.retry import RetryPolicy
from provisioner.client.session import TenantClient, TraceEvent, check_base_url
from provisioner.errors import ConfigurationError, UsageError

LOCAL = "local"
TENANT_URL = "AIC_TENANT_URL"
FRODO_HOST = "FRODO_HOST"
CA_BUNDLE = "AIC_CA_BUNDLE"
TOKEN_CACHE = "PROVISIONER_TOKEN_CACHE"

NO_TENANT_IN_CI = (
    "no tenant configured: pass --tenant URL, set AIC_TENANT_URL or add tenant: to "
    "environments/<env>.yaml; refusing to fall back to the local emulator in CI"
)


@dataclass(frozen=True)
class Target:
    """A resolved target: ``url`` is ``None`` for the local emulator; ``source`` says where it came from."""

    url: str | None
    source: str
    #: A Frodo connection profile the value named (its service account signs in when no other is given).
    profile: Any = None

    @property
    def is_local(self) -> bool:
        return self.url is None


_HOST = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:\d+)?(/\S*)?$")


def _origin(text: str) -> str:
    url = text.rstrip("/")
    if url.endswith("/am"):  # Frodo-style AM URLs: the tenant is the origin
        url = url[: -len("/am")]
    return url


def _normalise(value: str, source: str, environ: Mapping[str, str] | None = None) -> Target:
    """A tenant value as Frodo accepts it: ``local``, a URL (``/am`` dropped), a saved Frodo connection
    profile named by a unique substring (``acme-dev``), or a host name without a scheme (https)."""
    text = value.strip()
    if text.lower() == LOCAL:
        return Target(None, source)
    if "://" not in text:
        from provisioner.client.frodo import find_profile

        looks_like_host = bool(_HOST.match(text))
        profile = find_profile(text, environ if environ is not None else os.environ, required=not looks_like_host)
        if profile is not None:
            return Target(check_base_url(_origin(profile.url)), f"{source} (Frodo profile {profile.key})", profile)
        text = "https://" + text  # Frodo accepts a host without the scheme
    return Target(check_base_url(_origin(text)), source)


def resolve_target(
    tenant_option: str | None, environment_tenant: str | None, environ: Mapping[str, str], *, ci: bool
) -> Target:
    """Pick the tenant: THE one rule for where it comes from.

    ``--tenant`` settles it. Otherwise the configured sources (``AIC_TENANT_URL``, the environment
    file's ``tenant``, ``FRODO_HOST``) must agree: two that name different tenants are refused (a prod
    environment file must never be planned against whatever tenant the shell happens to point at).
    With ``ci`` and nothing configured, refuse instead of using the emulator.
    """
    if tenant_option and tenant_option.strip():
        return _normalise(tenant_option, "--tenant", environ)
    found = [
        _normalise(value, source, environ)
        for value, source in (
            (environ.get(TENANT_URL), TENANT_URL),
            (environment_tenant, "environment file"),
            (environ.get(FRODO_HOST), FRODO_HOST),
        )
        if value and value.strip()
    ]
    for other in found[1:]:
        if other.url != found[0].url:
            raise UsageError(
                f"the tenant is ambiguous: {found[0].source} says {_shown(found[0])} but "
                f"{other.source} says {_shown(other)}; pass --tenant to choose, or unset one of them"
            )
    if found:
        return found[0]
    if ci:
        raise UsageError(NO_TENANT_IN_CI)
    return Target(None, "default")


def check_record_path(record: str | os.PathLike[str]) -> str:
    """``--record FILE.har``: a clear error before any request when the file cannot be written there."""
    path = os.fspath(record)
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise UsageError(
            f"--record {path}: cannot write a HAR file there (the folder must exist and "
            "be writable, and the path must not be a folder)"
        )
    return path


def _record_to(stack: ExitStack, client: TenantClient, record: str | os.PathLike[str]) -> None:
    from provisioner.client.har import HarRecorder

    path = check_record_path(record)
    recorder = HarRecorder()
    client.add_response_hook(recorder.hook)
    stack.callback(recorder.write, path)


def _credentials(environ: Mapping[str, str], dotenv: Mapping[str, str] | None, target: Target) -> Any:
    """The environment's credentials; without any, the service account of the Frodo profile the tenant
    value named (as Frodo signs in with a saved profile)."""
    from provisioner.errors import ConfigurationError

    try:
        return resolve_credentials(environ, dotenv)
    except ConfigurationError as exc:
        profile = target.profile
        if profile is None or "no tenant credentials" not in str(exc):
            raise
        if not (profile.sa_id and profile.jwk):
            raise ConfigurationError(
                f"the {profile.source} has no service account (provisioner signs in with a "
                "service account only; run frodo conn save with --sa-id and --sa-jwk-file, or "
                "set AIC_SERVICE_ACCOUNT_ID and AIC_SERVICE_ACCOUNT_JWK_FILE)"
            ) from None
        from provisioner.client.auth import load_private_jwk
        from provisioner.client.credentials import Credentials

        load_private_jwk(profile.jwk)  # registers the private parts, refuses a public or non-RSA key
        return Credentials("service-account", profile.source, profile.sa_id, dict(profile.jwk))


def _shown(target: Target) -> str:
    return "local" if target.url is None else target.url


@dataclass
class Tenant:
    """An open tenant: ``label`` is the line plan/apply print first."""

    url: str
    label: str
    client: TenantClient
    target: Target
    emulator: Any = None


_TRACE_LOCK = threading.Lock()


def trace_line(event: object, stream: Any = None) -> None:
    """Write one trace line whole: parallel requests finish on several threads, and ``print`` writes the
    text and the newline separately, so their lines could interleave mid-line. One locked write each."""
    stream = sys.stderr if stream is None else stream
    line = str(event).replace("\n", " ") + "\n"
    with _TRACE_LOCK:
        stream.write(line)
        stream.flush()


def _trace_callback(verbose_trace: bool | Callable[[TraceEvent], None] | None) -> Callable[[TraceEvent], None] | None:
    if verbose_trace is True:
        return trace_line
    if callable(verbose_trace):
        return verbose_trace
    return None


@contextmanager
def open_tenant(
    target: Target | str,
    *,
    environ: Mapping[str, str],
    dotenv: Mapping[str, str] | None = None,
    parallelism: int = 4,
    verbose_trace: bool | Callable[[TraceEvent], None] | None = None,
    state_dir: str | os.PathLike[str] = ".provisioner",
    retry: RetryPolicy | None = None,
    seed_files: Sequence[str] = (),
    record: str | os.PathLike[str] | None = None,
) -> Iterator[Tenant]:
    """Open ``target`` (a :class:`Target`, a URL or ``"local"``); closes the client and emulator on exit.

    ``verbose_trace``: ``True`` prints one redacted line per HTTP attempt to stderr, or pass a callback.
    ``seed_files``: for the local emulator only, seed files (users and groups) loaded before use.
    ``record``: write every HTTP exchange of the run to this HAR file on exit, even a failed one
    (:mod:`provisioner.client.har`, secrets redacted).
    """
    if isinstance(target, str):
        target = _normalise(target, "argument", environ)
    if record is not None:
        check_record_path(record)  # before any request
    trace = _trace_callback(verbose_trace)
    pool_size = max(8, int(parallelism) + 2)
    with ExitStack() as stack:
        if target.is_local:
            from provisioner.emulator import EmulatorServer  # type: ignore[attr-defined,unused-ignore]

            state = os.path.join(os.fspath(state_dir), "emulator")
            # The local tenant's state holds its client secrets and its service-account key: private,
            # also when an earlier version made the folder readable by others.
            os.makedirs(state, mode=0o700, exist_ok=True)
            os.chmod(state, 0o700)
            server = stack.enter_context(EmulatorServer(port=0, state=state))
            if seed_files:
                from provisioner.emulator.seedfile import apply_seed, read_seed_file

                for seed_file in seed_files:
                    apply_seed(server, read_seed_file(seed_file, environ, dotenv or {}), seed_file)
            account = server.service_account
            jwk = account.get("jwk") or read_jwk_file(account["jwkFile"])
            url = str(server.url).rstrip("/")
            # The emulator's port changes every run but its state (sessions, signing key) persists, so
            # its tokens are cached next to that state, keyed without the port: consecutive local runs
            # share one session instead of exhausting the service account's five. The folder is the
            # local tenant itself (its own key is there too), so nothing of a real tenant sits in it.
            local_cache = None
            if (environ.get(TOKEN_CACHE) or "").strip().lower() not in ("0", "off", "false", "no", "none"):
                local_cache = tokencache.TokenCache(os.path.join(state, tokencache.FILE_NAME))
            auth: Any = ServiceAccountAuth(
                account["id"],
                jwk,
                url,
                cache=local_cache,
                cache_key=tokencache.TokenCache.key(os.path.abspath(state), account["id"], "local"),
            )
            label = f"Target: local emulator ({url}, state {state})"
        else:
            server = None
            assert target.url is not None
            url = target.url
            cache = tokencache.for_environment(environ)  # per-user cache dir; memory only under CI
            auth = _credentials(environ, dotenv, target).auth(url, cache=cache)
            label = f"Target: {url}"
        ca_bundle = environ.get(CA_BUNDLE) or (dotenv or {}).get(CA_BUNDLE)
        try:
            http_limits = limits_from({**(dotenv or {}), **environ})
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        client = stack.enter_context(
            TenantClient(
                url,
                auth,
                pool_size=pool_size,
                verify=ca_bundle or True,
                retry=retry,
                trace=trace,
                http_limits=http_limits,
            )
        )
        if record is not None:
            _record_to(stack, client, record)
        yield Tenant(url=url, label=label, client=client, target=target, emulator=server)
