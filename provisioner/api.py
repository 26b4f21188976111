"""The library API: ``load``, ``plan``, ``apply`` (the CLI calls exactly these).

    from provisioner import api
    with api.tenant("https://tenant.example.com") as t:
        p = api.plan(["manifests/bot-traffic-analyzer"], tenant=t, env_file="demo.env")
        result = api.apply(p, tenant=t, paths=["manifests/bot-traffic-analyzer"], env_file="demo.env")

``tenant`` is an open :class:`provisioner.tenant.Tenant` (or anything with ``.client`` and ``.url``).
"""

from __future__ import annotations

import dataclasses
import os
import secrets as secrets_module
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from provisioner.apply import ApplyOptions, ApplyResult, execute
from provisioner.errors import ConfigurationError, ProvisionerError, UsageError, ValidationFailed
from provisioner.kinds import spec_of
from provisioner.kinds.snapshot import ReadScope, Snapshot, read_snapshot
from provisioner.plan import Plan, PlanOptions, make_plan
from provisioner.plansecrets import ref_resolver, require_sent_secrets, secret_status, secret_values

Progress = Callable[[str], None]


def load(
    paths: Sequence[str],
    env: str | None = None,
    env_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
    stack_name: str | None = None,
    secrets_dirs: Sequence[str] = (),
) -> Any:
    """Load and validate manifests (:func:`provisioner.manifest.load`); returns a ``LoadResult``."""
    from provisioner.manifest import load as _load

    return _load(
        list(paths),
        env=env,
        env_file=env_file,
        environ=os.environ if environ is None else environ,
        strict=strict,
        stack_name=stack_name,
        secrets_dirs=secrets_dirs,
    )


@contextmanager
def tenant(
    target: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: str | None = None,
    environment_tenant: str | None = None,
    parallelism: int = 4,
    verbose: bool = False,
    retry: Any = None,
    paths: Sequence[str] = (),
    record: str | None = None,
) -> Iterator[Any]:
    """Open a tenant (``--tenant`` semantics: URL or ``local``) for :func:`plan` and :func:`apply`.

    ``retry``: a :class:`provisioner.client.retry.RetryPolicy` (attempts, backoff base/cap, budget);
    the default policy suits a real tenant, tests against the emulator pass a short one.
    ``paths``: the manifest paths; for ``local``, an ``emulator-seed.yaml`` beside them seeds the emulator.
    ``record``: write every HTTP exchange to this HAR 1.2 file (secrets redacted) when the tenant closes.
    """
    from provisioner.tenant import open_tenant, resolve_target

    env = dict(os.environ if environ is None else environ)
    resolved = resolve_target(target, environment_tenant, env, ci=bool(env.get("CI")))
    seeds: list[str] = []
    if resolved.is_local:  # the emulator package is imported only for the local tenant
        from provisioner.emulator.seedfile import stack_seed_files

        seeds = stack_seed_files(list(paths))
    with open_tenant(
        resolved,
        environ=env,
        dotenv=read_env_file(env_file),
        parallelism=parallelism,
        verbose_trace=verbose or None,
        retry=retry,
        seed_files=seeds,
        record=record,
    ) as opened:
        yield opened


def read_env_file(env_file: str | None) -> dict[str, str]:
    """The ``--env-file`` dotenv mapping (empty without a file)."""
    if not env_file:
        return {}
    from provisioner.manifest import read_dotenv

    values, diagnostics = read_dotenv(env_file)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise ConfigurationError("; ".join(str(d) for d in errors))
    return values


def _loaded(stack_or_paths: Any, **kw: Any) -> tuple[Any, Any]:
    """``(stack, secrets)`` from a LoadResult, a Stack, or paths (loaded and validated here)."""
    if isinstance(stack_or_paths, (str, os.PathLike)):
        stack_or_paths = [os.fspath(stack_or_paths)]
    if isinstance(stack_or_paths, (list, tuple)):
        result = load(stack_or_paths, **kw)
        if not result.ok or result.stack is None:
            lines = "\n".join(str(d) for d in result.errors)
            raise ValidationFailed(f"the manifests are not valid:\n{lines}")
        return result.stack, result.secrets
    if hasattr(stack_or_paths, "stack") and hasattr(stack_or_paths, "secrets"):
        return stack_or_paths.stack, stack_or_paths.secrets
    return stack_or_paths, None


def resources_of(stack: Any, realm: str | None = None) -> list[Any]:
    """The stack's resources, moved to ``realm`` when one is forced (``--realm``)."""
    resources = list(stack.resources)
    if realm:
        resources = [
            dataclasses.replace(r, realm=realm, name=realm if _keyed_by_realm(r.kind) else r.name) for r in resources
        ]
    return resources


def _keyed_by_realm(kind: str) -> bool:
    spec = spec_of(kind)
    return spec is not None and spec.keyed_by_realm


def read_scopes(resources: Sequence[Any], extra_realms: Sequence[str] = ()) -> list[ReadScope]:
    """One :class:`ReadScope` per realm with the users and groups the manifests reference."""
    users: dict[str, set[str]] = {r: set() for r in extra_realms}
    groups: dict[str, set[str]] = {r: set() for r in extra_realms}
    for res in resources:
        users.setdefault(res.realm, set())
        groups.setdefault(res.realm, set())
        spec = spec_of(res.kind)
        if spec is not None:
            names, group_ids = spec.references(res.spec)
            users[res.realm] |= names
            groups[res.realm] |= group_ids
    return [ReadScope(realm, frozenset(users[realm]), frozenset(groups[realm])) for realm in sorted(users)]


def _target_info(tenant: Any) -> dict[str, Any]:
    """The plan's ``target``: ``tenant`` is the stable identity (``local`` for the embedded emulator,
    whose URL changes every run), ``url``/``label`` what this run talked to."""
    target = getattr(tenant, "target", None)
    url = getattr(tenant, "url", None)
    local = bool(getattr(target, "is_local", False))
    info = {"url": url, "label": getattr(tenant, "label", None), "tenant": "local" if local else url}
    if local:
        info["local"] = True  # the embedded emulator: a new loopback port every run, the same state folder
    return info


def require_stack(stack: Any) -> None:
    """Plan and apply need a declared stack identity (never a folder name)."""
    if not getattr(stack, "name", ""):
        from provisioner.manifest.stackfile import NO_STACK

        raise UsageError(NO_STACK)


def check_plan_matches(the_plan: Plan, *, tenant: Any = None, stack: Any = None, realm: str | None = None) -> None:
    """Refuse, before any write, a saved plan applied with another tenant, environment, stack or realm."""
    target = the_plan.target or {}
    problems = []
    if tenant is not None:
        now = _target_info(tenant)["tenant"]
        planned = target.get("tenant") or target.get("url")
        if planned and now and planned != now:
            problems.append(f"tenant {planned}, not {now}")
    if stack is not None:
        environment = stack.environment.name if getattr(stack, "environment", None) else None
        if environment != the_plan.environment:
            problems.append(
                f"environment {the_plan.environment or '(none)'!r}, not {environment or '(none)'!r} (--env)"
            )
        if getattr(stack, "name", None) and stack.name != the_plan.stack:
            problems.append(f"stack {the_plan.stack!r}, not {stack.name!r}")
    planned_realm = (the_plan.options or {}).get("realm")
    if realm is not None and realm != planned_realm:
        problems.append(f"realm {planned_realm or '(from the manifests)'!r}, not {realm!r} (--realm)")
    if problems:
        raise UsageError(
            f"the plan was made for {'; '.join(problems)}; nothing was written. Apply it with the "
            f"options it was made with, or plan again"
        )


#: What api.plan loaded to make each plan still alive in this process: id(plan) → (weak reference to
#: the plan, the note). Kept beside the plan, not on it: a Plan is frozen and its fields are its JSON.
_LOADED: dict[int, tuple[weakref.ref[Plan], tuple[Any, ...]]] = {}
_LOADED_LOCK = threading.Lock()


def _load_key(paths: Sequence[str], env: str | None, env_file: str | None, stack_name: str | None) -> tuple[Any, ...]:
    return (tuple(os.path.abspath(p) for p in paths), env, os.path.abspath(env_file) if env_file else None, stack_name)


def _fingerprint(stack: Any, env_file: str | None) -> tuple[Any, ...]:
    """Size and mtime of every file a load read (manifests, environment file, dotenv)."""
    files: list[str] = list(getattr(stack, "sources", ()) or ())
    environment = getattr(stack, "environment", None)
    location = getattr(environment, "location", None)
    if location is not None:
        files.append(location.file)
    if env_file:
        files.append(env_file)
    out: list[tuple[str, int | None, int | None]] = []
    for name in files:
        try:
            info = os.stat(name)
            out.append((name, info.st_size, info.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def _remember_load(the_plan: Plan, key: tuple[Any, ...], stack: Any, secrets: Any, env_file: str | None) -> None:
    ident = id(the_plan)

    def forget(_: Any) -> None:
        with _LOADED_LOCK:
            entry = _LOADED.get(ident)
            if entry is not None and entry[0]() is None:
                del _LOADED[ident]

    with _LOADED_LOCK:
        _LOADED[ident] = (weakref.ref(the_plan, forget), (key, stack, secrets, _fingerprint(stack, env_file)))


def _reuse_load(the_plan: Plan, key: tuple[Any, ...], env_file: str | None) -> tuple[Any, Any] | None:
    """The stack and secrets api.plan loaded for ``the_plan`` with the same arguments, when no file
    changed since; None otherwise (the caller loads again)."""
    with _LOADED_LOCK:
        entry = _LOADED.get(id(the_plan))
    note = entry[1] if entry is not None and entry[0]() is the_plan else None
    if note is None or note[0] != key:
        return None
    _, stack, secrets, fingerprint = note
    if _fingerprint(stack, env_file) != fingerprint:
        return None
    return stack, secrets


def plan(
    stack_or_paths: Any,
    tenant: Any,
    *,
    env: str | None = None,
    env_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    realm: str | None = None,
    stack_name: str | None = None,
    prune: bool = False,
    max_deletes: int = 5,
    check_secrets: bool = False,
    parallelism: int = 4,
    secrets: Any = None,
    take_over: bool = False,
) -> Plan:
    """Read the tenant and plan the stack (paths, a ``LoadResult`` or a ``Stack`` plus ``secrets``).

    When given paths, the plan remembers (in this process only) what was loaded, so that
    ``apply(plan, paths=<the same paths>)`` does not load and validate the manifests again.
    """
    stack, loaded_secrets = _loaded(stack_or_paths, env=env, env_file=env_file, environ=environ, stack_name=stack_name)
    secrets = secrets if secrets is not None else loaded_secrets
    result, _ = plan_with_snapshot(
        stack,
        secrets,
        tenant,
        realm=realm,
        prune=prune,
        max_deletes=max_deletes,
        check_secrets=check_secrets,
        parallelism=parallelism,
        take_over=take_over,
    )
    if isinstance(stack_or_paths, (str, os.PathLike, list, tuple)):
        paths = [os.fspath(stack_or_paths)] if isinstance(stack_or_paths, (str, os.PathLike)) else stack_or_paths
        _remember_load(
            result, _load_key([os.fspath(p) for p in paths], env, env_file, stack_name), stack, secrets, env_file
        )
    return result


def plan_with_snapshot(
    stack: Any,
    secrets: Any,
    tenant: Any,
    *,
    realm: str | None = None,
    prune: bool = False,
    max_deletes: int = 5,
    check_secrets: bool = False,
    parallelism: int = 4,
    known_markers: Mapping[str, str] | None = None,
    targets: Sequence[str] = (),
    take_over: bool = False,
) -> tuple[Plan, Snapshot]:
    """:func:`plan` for a loaded stack, also returning the snapshot it was made from.

    ``targets``: ``--target`` addresses; the plan keeps those objects and what they need
    (:func:`provisioner.plan.target.select`). ``take_over``: plan objects another stack owns as updates
    that move them to this stack (without it, each is an error naming both stacks).

    ``known_markers``: address → secret marker this process wrote (apply's confirmation plan); an
    identical marker on the tenant counts as holding the secret without hashing again.
    """
    require_stack(stack)
    resources = resources_of(stack, realm)
    env_realm = realm or (stack.environment.realm if getattr(stack, "environment", None) else None)
    extra = [env_realm] if env_realm else []
    snapshot = read_snapshot(tenant.client, read_scopes(resources, extra), parallelism)
    values = secret_values(resources, secrets)
    status = secret_status(
        resources, snapshot, values, tenant.client, check_secrets, max(4, parallelism), known_markers
    )
    options = PlanOptions(
        stack=stack.name,
        target=_target_info(tenant),
        environment=stack.environment.name if getattr(stack, "environment", None) else None,
        prune=prune,
        max_deletes=max_deletes,
        secret_status=status,
        realms=tuple(extra),
        take_over=take_over,
        realm=realm,
    )
    made = make_plan(resources, snapshot, options)
    if targets:
        from provisioner.plan.target import select

        made = select(made, targets)
    return made, snapshot


def destroy_plan(
    stack: Any, tenant: Any, *, realm: str | None = None, max_deletes: int = 5, parallelism: int = 4
) -> Plan:
    """A plan deleting every object the stack owns (carries its marker) in the realms it names: the
    prune of a stack that declares nothing. Over ``max_deletes`` it carries an error instead."""
    require_stack(stack)
    resources = resources_of(stack, realm)
    env_realm = realm or (stack.environment.realm if getattr(stack, "environment", None) else None)
    realms = sorted({r.realm for r in resources} | ({env_realm} if env_realm else set()))
    snapshot = read_snapshot(tenant.client, [ReadScope(r) for r in realms], parallelism)
    options = PlanOptions(
        stack=stack.name,
        target=_target_info(tenant),
        environment=stack.environment.name if getattr(stack, "environment", None) else None,
        prune=True,
        max_deletes=max_deletes,
        realms=tuple(realms),
    )
    made = make_plan([], snapshot, options)
    why = f"owned by stack {stack.name!r}: destroy"

    def reason(kind: str) -> str:
        return why if _declared_alone(kind) else f"its agent is destroyed ({why})"

    # Over the cap the deletes are held back (blocked): their reason says destroy too, then the cap.
    return dataclasses.replace(
        made,
        changes=tuple(
            dataclasses.replace(c, reason=reason(c.kind)) if c.action == "delete" else c for c in made.changes
        ),
        blocked=tuple(
            dataclasses.replace(b, reason=f"{reason(b.kind)}; {b.reason.rsplit('; ', 1)[-1]}") for b in made.blocked
        ),
    )


def _declared_alone(kind: str) -> bool:
    """A kind with its own documents (not one declared inside its parent, like an agent's privileges)."""
    spec = spec_of(kind)
    return spec is None or spec.manifest


def _needs(kind: str, feature: str) -> bool:
    spec = spec_of(kind)
    return spec is not None and spec.feature == feature


def ensure_features(
    stack: Any,
    tenant: Any,
    progress: Progress,
    *,
    timeout: float = 900.0,
    interval: float = 30.0,
    realm: str | None = None,
) -> None:
    """Enable the AI agents feature when the stack declares agents and a realm has it off; wait (bounded)."""
    realms = sorted({r.realm for r in resources_of(stack, realm) if _needs(r.kind, "ai_agents")})
    env = tenant.client.environment
    off = [r for r in realms if not env.ai_agents_enabled(r)]
    if not off:
        return
    progress(f"Enabling the AI agents feature (realms: {', '.join(off)}); this can take up to 10 minutes...")
    env.enable_ai_agents()
    for name in off:
        env.wait_until_enabled(
            name,
            timeout=timeout,
            interval=interval,
            on_wait=lambda waited, status: progress(f"  still waiting ({waited:.0f}s)"),
        )
    progress("AI agents feature enabled.")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """The settings of one apply run (the CLI's options), typed and in one place.

    ``env``/``env_file``/``environ``/``stack_name``: how manifests are loaded; ``realm``: put every
    resource in this realm; ``prune``/``max_deletes``: deletes of undeclared owned objects and their cap;
    ``parallelism``: concurrent requests; ``enable_features``: switch on the AI agents feature when
    needed; ``journal_dir``: where the run's journal goes; ``targets``: addresses to narrow the plan to;
    ``take_over``: plan objects another stack owns as updates.
    """

    env: str | None = None
    env_file: str | None = None
    environ: Mapping[str, str] | None = None
    realm: str | None = None
    stack_name: str | None = None
    prune: bool = False
    max_deletes: int = 5
    parallelism: int = 4
    enable_features: bool = False
    journal_dir: str | os.PathLike[str] | None = None
    targets: Sequence[str] = ()
    take_over: bool = False


def apply(
    plan_or_stack: Any,
    tenant: Any,
    options: RunOptions | None = None,
    *,
    paths: Sequence[str] | None = None,
    loaded: Any = None,
    secrets: Any = None,
    progress: Progress | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    stop: threading.Event | None = None,
    **settings: Any,
) -> ApplyResult:
    """Apply a :class:`Plan` (refused when stale) or plan-and-apply a stack/paths.

    ``options`` (:class:`RunOptions`) carries the run's settings; they may also be given as keywords
    (``max_deletes=0``), which build the ``RunOptions`` (an unknown keyword is a ``TypeError``).

    ``paths`` (with a Plan) supplies the manifests for secret values and the post-apply re-plan; a
    Plan made by :func:`plan` from the same paths (and env, env_file, stack_name) in this process
    reuses what that plan loaded, unless a file changed since. ``loaded`` (with a Plan): a
    ``LoadResult`` already loaded by the caller, used instead of ``paths``. ``targets`` narrows the plan
    (and the re-plan after the writes) to those addresses and their dependencies.
    ``confirm(plan)`` sees the plan before any write (also when it has no changes); returning False
    aborts with nothing written. Setting ``stop`` (e.g. on Ctrl-C) stops scheduling new writes; the
    writes in flight finish and the result says ``interrupted``. With ``journal_dir``, a run that has
    changes writes ``apply-<run>.jsonl`` there (:mod:`provisioner.journal`); ``result.journal`` is its path.
    """
    o = dataclasses.replace(options, **settings) if options is not None else RunOptions(**settings)
    env, env_file, realm, stack_name, targets = o.env, o.env_file, o.realm, o.stack_name, o.targets
    prune, max_deletes, parallelism, take_over = o.prune, o.max_deletes, o.parallelism, o.take_over
    progress = progress or (lambda line: None)
    env_map = dict(os.environ if o.environ is None else o.environ)
    stack = None
    if isinstance(plan_or_stack, Plan):
        the_plan: Plan | None = plan_or_stack
        if targets:
            from provisioner.plan.target import select

            the_plan = select(plan_or_stack, targets)
        if loaded is not None:
            stack, secrets = _loaded(loaded)
        elif paths:
            reused = _reuse_load(plan_or_stack, _load_key(list(paths), env, env_file, stack_name), env_file)
            stack, secrets = reused or _loaded(
                list(paths), env=env, env_file=env_file, environ=env_map, stack_name=stack_name
            )
    else:
        the_plan = None
        stack, loaded = _loaded(plan_or_stack, env=env, env_file=env_file, environ=env_map, stack_name=stack_name)
        secrets = secrets if secrets is not None else loaded
    if the_plan is not None:
        # A saved plan is applied as made: the same tenant, environment, stack and realm, or nothing.
        check_plan_matches(the_plan, tenant=tenant, stack=stack, realm=realm)
    elif stack is not None:
        require_stack(stack)
    if stack is not None and o.enable_features:
        ensure_features(stack, tenant, progress, realm=realm)
    snapshot = None
    if the_plan is None:
        the_plan, snapshot = plan_with_snapshot(
            stack,
            secrets,
            tenant,
            realm=realm,
            prune=prune,
            max_deletes=max_deletes,
            parallelism=parallelism,
            targets=targets,
            take_over=take_over,
        )
    if the_plan.errors:
        lines = "\n".join(f"  {d}" for d in the_plan.errors)
        raise ProvisionerError(f"the plan has errors; nothing was written:\n{lines}")
    values = secret_values(resources_of(stack, realm), secrets) if stack is not None else {}
    resolver = ref_resolver(values, env_map, read_env_file(env_file))
    require_sent_secrets(the_plan, resolver)
    if confirm is not None and not confirm(the_plan):
        raise ProvisionerError("Apply cancelled; nothing was written.")
    replan = None
    if stack is not None:

        def replan(written: Mapping[str, str] | None = None) -> Plan:
            return plan_with_snapshot(
                stack,
                secrets,
                tenant,
                realm=realm,
                prune=prune,
                max_deletes=max_deletes,
                parallelism=parallelism,
                known_markers=written,
                targets=targets,
                take_over=take_over,
            )[0]

    run = ApplyOptions(
        stack=the_plan.stack, parallelism=parallelism, max_deletes=max_deletes, progress=progress, stop=stop
    )
    if o.journal_dir is None or not the_plan.has_writes:
        return execute(the_plan, tenant.client, resolver, run, replan=replan, snapshot=snapshot)
    from provisioner.journal import Journal

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with Journal(o.journal_dir, run_id=f"{stamp}-{os.getpid()}-{secrets_module.token_hex(3)}") as journal:
        run.journal = journal
        result = execute(the_plan, tenant.client, resolver, run, replan=replan, snapshot=snapshot)
    return dataclasses.replace(result, journal=str(journal.path))
