"""Applying a run: a saved plan (checked against the run) or a stack planned here, its secrets resolved,
confirmed, executed, and journaled when it writes."""

from __future__ import annotations

import dataclasses
import os
import secrets as secrets_module
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provisioner.apply import ApplyOptions, ApplyResult, execute
from provisioner.errors import ProvisionerError
from provisioner.kinds import spec_of
from provisioner.orchestrate.loading import load_key, loaded_stack, read_env_file, reuse_load
from provisioner.orchestrate.options import RunOptions
from provisioner.orchestrate.planning import check_plan_matches, plan_with_snapshot, require_stack, resources_of
from provisioner.plan import Plan
from provisioner.plan.target import select
from provisioner.plansecrets import ref_resolver, require_sent_secrets, secret_values

Progress = Callable[[str], None]


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


def _stack_for_plan(
    the_plan: Plan, o: RunOptions, environ: Mapping[str, str], paths: Sequence[str] | None, loaded: Any
) -> tuple[Any, Any]:
    """The stack and secrets that go with a given plan: ``loaded``, else what :func:`plan` loaded from
    the same ``paths`` (when no file changed), else ``paths`` loaded now; none without either."""
    if loaded is not None:
        return loaded_stack(loaded)
    if not paths:
        return None, None
    reused = reuse_load(the_plan, load_key(list(paths), o.env, o.env_file, o.stack_name), o.env_file)
    return reused or loaded_stack(list(paths), env=o.env, env_file=o.env_file, environ=environ, stack_name=o.stack_name)


def apply_run(
    subject: Any,
    tenant: Any,
    o: RunOptions,
    *,
    paths: Sequence[str] | None = None,
    loaded: Any = None,
    secrets: Any = None,
    progress: Progress | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Apply ``subject``: a :class:`Plan` (refused when made for another run, or stale) or a stack, a
    ``LoadResult`` or paths, planned here first. See :func:`provisioner.api.apply`."""
    progress = progress or (lambda line: None)
    environ = dict(os.environ if o.environ is None else o.environ)
    snapshot = None
    if isinstance(subject, Plan):
        given = select(subject, o.targets) if o.targets else subject
        the_plan: Plan | None = given
        stack, secrets = _stack_for_plan(subject, o, environ, paths, loaded)
        # A saved plan is applied as made: the same tenant, environment, stack and realm, or nothing.
        check_plan_matches(given, tenant=tenant, stack=stack, realm=o.realm)
    else:
        the_plan = None
        stack, found = loaded_stack(subject, env=o.env, env_file=o.env_file, environ=environ, stack_name=o.stack_name)
        secrets = secrets if secrets is not None else found
        require_stack(stack)
    if stack is not None and o.enable_features:
        ensure_features(stack, tenant, progress, realm=o.realm)
    if the_plan is None:
        the_plan, snapshot = plan_with_snapshot(stack, secrets, tenant, o)
    if the_plan.errors:
        lines = "\n".join(f"  {d}" for d in the_plan.errors)
        raise ProvisionerError(f"the plan has errors; nothing was written:\n{lines}")
    values = secret_values(resources_of(stack, o.realm), secrets) if stack is not None else {}
    resolver = ref_resolver(values, environ, read_env_file(o.env_file))
    require_sent_secrets(the_plan, resolver)
    if confirm is not None and not confirm(the_plan):
        raise ProvisionerError("Apply cancelled; nothing was written.")
    replan = None
    if stack is not None:

        def replan(written: Mapping[str, str] | None = None) -> Plan:
            return plan_with_snapshot(stack, secrets, tenant, o, known_markers=written, access=False)[0]

    run = ApplyOptions(
        stack=the_plan.stack, parallelism=o.parallelism, max_deletes=o.max_deletes, progress=progress, stop=stop
    )
    journal_dir = o.journal_dir if the_plan.has_writes else None
    return execute_journaled(the_plan, tenant.client, resolver, run, journal_dir, replan=replan, snapshot=snapshot)


def execute_journaled(
    the_plan: Plan,
    client: Any,
    resolver: Callable[[Any], str],
    run: ApplyOptions,
    journal_dir: str | os.PathLike[str] | None,
    *,
    replan: Callable[..., Plan] | None = None,
    snapshot: Any = None,
) -> ApplyResult:
    """Execute ``the_plan``; with ``journal_dir``, journaled in a new ``apply-<run>.jsonl`` there
    (:mod:`provisioner.journal`), whose path the result carries."""
    if journal_dir is None:
        return execute(the_plan, client, resolver, run, replan=replan, snapshot=snapshot)
    from provisioner.journal import Journal

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with Journal(journal_dir, run_id=f"{stamp}-{os.getpid()}-{secrets_module.token_hex(3)}") as journal:
        run.journal = journal
        result = execute(the_plan, client, resolver, run, replan=replan, snapshot=snapshot)
    return dataclasses.replace(result, journal=str(journal.path))
