"""Opening the tenant a run talks to (``--tenant`` semantics: URL, ``local`` or a Frodo profile)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from provisioner.orchestrate.loading import read_env_file


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
    """Resolve ``target`` (with the environment file's tenant and the process environment) and open it.

    For ``local``, an ``emulator-seed.yaml`` beside ``paths`` seeds the emulator. ``record``: write every
    HTTP exchange to this HAR file (secrets redacted) when the tenant closes.
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
