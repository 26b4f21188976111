"""``provisioner plan``: read the tenant and print the field-level diff (text, JSON or Markdown)."""

from __future__ import annotations

import shlex

import click

from provisioner import api
from provisioner.commands._common import (
    common_options,
    echo,
    load_or_report,
    print_target,
    show_plan,
    target_option,
    write_plan_file,
)
from provisioner.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK


def apply_hint(
    paths: tuple[str, ...],
    out: str,
    *,
    env: str | None,
    env_file: str | None,
    tenant: str | None,
    realm: str | None,
    stack_name: str | None,
    secrets_dirs: tuple[str, ...] = (),
) -> str:
    """The exact apply command for a saved plan: the same manifests and options (so the secrets it
    sends resolve and the result is re-checked), nothing the plan does not need."""
    words = ["provisioner", "apply", *paths]
    for flag, value in (
        ("--env", env),
        ("--env-file", env_file),
        ("--tenant", tenant),
        ("--realm", realm),
        ("--stack", stack_name),
    ):
        if value:
            words += [flag, value]
    for folder in secrets_dirs:
        words += ["--secrets-dir", folder]
    words += ["--plan", out]
    return " ".join(shlex.quote(w) for w in words)


@click.command(name="plan")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@common_options
@click.option("--out", "out", metavar="FILE", type=click.Path(), help="Save the JSON plan (for apply --plan).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 2 changes, 1 error.")
@click.option("--check-secrets", is_flag=True, help="Also prove each declared secret at the token endpoint.")
@target_option
def command(
    paths: tuple[str, ...],
    env: str | None,
    env_file: str | None,
    tenant: str | None,
    realm: str | None,
    stack_name: str | None,
    take_over: bool,
    fmt: str,
    prune: bool,
    max_deletes: int,
    parallelism: int,
    verbose: bool,
    quiet: bool,
    no_color: bool,
    out: str | None,
    detailed_exitcode: bool,
    check_secrets: bool,
    secrets_dirs: tuple[str, ...] = (),
    record: str | None = None,
    targets: tuple[str, ...] = (),
) -> int:
    """Read the tenant and show what apply would change, field by field.

    PATHS are manifest files or directories ('-' reads one manifest file from stdin). Nothing is
    written to the tenant. -q prints only the changes and the summary line (and errors).
    """
    loaded = load_or_report(paths, env, env_file, stack_name, secrets_dirs, quiet=quiet)
    if loaded is None:
        return EXIT_ERROR
    stack = loaded.stack
    api.require_stack(stack)
    env_tenant = stack.environment.tenant if stack.environment else None
    with api.tenant(
        tenant,
        env_file=env_file,
        environment_tenant=env_tenant,
        parallelism=parallelism,
        verbose=verbose,
        paths=paths,
        record=record,
    ) as opened:
        print_target(opened.label, fmt, quiet)
        plan = api.plan(
            loaded,
            opened,
            api.PlanRunOptions(
                realm=realm,
                prune=prune,
                max_deletes=max_deletes,
                check_secrets=check_secrets,
                parallelism=parallelism,
                targets=targets,
                take_over=take_over,
            ),
        )
    # The plan file and JSON carry every change; text (unless verbose) and Markdown never show no-ops.
    whole = plan.to_dict() if out or fmt not in ("text", "markdown") or (fmt == "text" and verbose) else None
    shown = whole if whole is not None else plan.to_dict(no_ops=False)
    show_plan(shown, fmt, verbose=verbose, no_color=no_color, target_shown=True, quiet=quiet)
    if out:  # after the plan is shown: a plan that cannot be saved says why, and the plan shows where
        write_plan_file(out, whole)
    if out and not quiet:
        again = apply_hint(
            paths,
            out,
            env=env,
            env_file=env_file,
            tenant=tenant,
            realm=realm,
            stack_name=stack_name,
            secrets_dirs=secrets_dirs,
        )
        echo(f"Saved the plan to {out}; run: {again}\n", err=True)
    if plan.errors:
        return EXIT_ERROR
    if detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK
