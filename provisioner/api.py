"""The library API: what the CLI commands call, and what a program embedding provisioner calls.

    from provisioner import api
    with api.tenant("https://tenant.example.com") as t:
        p = api.plan(["manifests/bot-traffic-analyzer"], tenant=t, env_file="demo.env")
        result = api.apply(p, tenant=t, paths=["manifests/bot-traffic-analyzer"], env_file="demo.env")
        report = api.verify(["manifests/bot-traffic-analyzer"], t, env_file="demo.env")

``tenant`` is an open :class:`provisioner.tenant.Tenant` (or anything with ``.client`` and ``.url``).
Each run takes its settings as one typed options object (:class:`PlanRunOptions`, :class:`RunOptions`,
:class:`DestroyOptions`, :class:`VerifyOptions`) or as keywords that build it (an unknown keyword is a
``TypeError``). This module only dispatches; the steps of each run live in :mod:`provisioner.orchestrate`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from provisioner.orchestrate.connect import tenant
from provisioner.orchestrate.loading import as_paths, load, load_key, loaded_stack, read_env_file, remember_load
from provisioner.orchestrate.options import DestroyOptions, LoadOptions, PlanRunOptions, RunOptions, VerifyOptions
from provisioner.orchestrate.planning import destroy_plan as _destroy_plan
from provisioner.orchestrate.planning import plan_with_snapshot, require_stack
from provisioner.orchestrate.verifying import verify_run
from provisioner.plan import Plan

if TYPE_CHECKING:
    from provisioner.apply import ApplyResult

Progress = Callable[[str], None]


def plan(
    stack_or_paths: Any,
    tenant: Any,
    options: PlanRunOptions | None = None,
    *,
    secrets: Any = None,
    **settings: Any,
) -> Plan:
    """Read the tenant and plan the stack: paths (loaded and validated here), a ``LoadResult``, or a
    ``Stack`` plus ``secrets``. Settings: :class:`PlanRunOptions` (``env``, ``env_file``, ``environ``,
    ``realm``, ``stack_name``, ``prune``, ``max_deletes``, ``check_secrets``, ``parallelism``,
    ``targets``, ``take_over``).

    When given paths, the plan remembers (in this process only) what was loaded, so that
    ``apply(plan, paths=<the same paths>)`` does not load and validate the manifests again.
    """
    o = dataclasses.replace(options, **settings) if options is not None else PlanRunOptions(**settings)
    stack, loaded_secrets = loaded_stack(
        stack_or_paths, env=o.env, env_file=o.env_file, environ=o.environ, stack_name=o.stack_name
    )
    secrets = secrets if secrets is not None else loaded_secrets
    made, _ = plan_with_snapshot(stack, secrets, tenant, o)
    paths = as_paths(stack_or_paths)
    if paths is not None:
        remember_load(made, load_key(paths, o.env, o.env_file, o.stack_name), stack, secrets, o.env_file)
    return made


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

    Settings: :class:`RunOptions` (a plan run's, plus ``enable_features`` and ``journal_dir``).
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
    from provisioner.orchestrate.applying import apply_run  # plan, validate and show never load apply's code

    o = dataclasses.replace(options, **settings) if options is not None else RunOptions(**settings)
    return apply_run(
        plan_or_stack,
        tenant,
        o,
        paths=paths,
        loaded=loaded,
        secrets=secrets,
        progress=progress,
        confirm=confirm,
        stop=stop,
    )


def destroy_plan(stack: Any, tenant: Any, options: DestroyOptions | None = None, **settings: Any) -> Plan:
    """A plan deleting every object the stack owns (``realm``, ``max_deletes``, ``parallelism``:
    :class:`DestroyOptions`); apply it with :func:`apply`."""
    o = dataclasses.replace(options, **settings) if options is not None else DestroyOptions(**settings)
    return _destroy_plan(stack, tenant, o)


def verify(
    stack_or_paths: Any,
    tenant: Any,
    options: VerifyOptions | None = None,
    *,
    secrets: Any = None,
    **settings: Any,
) -> Any:
    """Run the declared OAuth flows (and, with ``access``, the access-map checks) against the tenant and
    return the :class:`~provisioner.verify.VerifyReport` (never raises for a refusal). ``stack_or_paths``:
    a ``LoadResult``, a ``Stack`` plus ``secrets``, or paths (loaded and validated here). Settings:
    :class:`VerifyOptions` (``env``, ``env_file``, ``environ``, ``stack_name``, ``realm``,
    ``allow_skipped``, ``access``)."""
    o = dataclasses.replace(options, **settings) if options is not None else VerifyOptions(**settings)
    stack, loaded_secrets = loaded_stack(
        stack_or_paths, env=o.env, env_file=o.env_file, environ=o.environ, stack_name=o.stack_name
    )
    return verify_run(stack, secrets if secrets is not None else loaded_secrets, tenant, o)


__all__ = [
    "DestroyOptions",
    "LoadOptions",
    "PlanRunOptions",
    "RunOptions",
    "VerifyOptions",
    "apply",
    "destroy_plan",
    "load",
    "plan",
    "read_env_file",
    "require_stack",
    "tenant",
    "verify",
]
