"""The typed options of the orchestrated runs: plan, apply, destroy and verify (the CLI's options)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadOptions:
    """How manifests given as paths are loaded: ``env`` (``environments/<env>.yaml``), ``env_file`` (the
    dotenv file), ``environ`` (None: the process environment), ``stack_name`` (``--stack``)."""

    env: str | None = None
    env_file: str | None = None
    environ: Mapping[str, str] | None = None
    stack_name: str | None = None


@dataclass(frozen=True)
class PlanRunOptions(LoadOptions):
    """The settings of one plan run: how paths are loaded (:class:`LoadOptions`), and

    ``realm``: put every resource in this realm (``--realm``);
    ``prune``/``max_deletes``: deletes of undeclared owned objects and their cap; ``check_secrets``: probe
    every declared secret live (``--check-secrets``); ``parallelism``: concurrent requests; ``targets``:
    ``--target`` addresses to narrow the plan to (with what they need); ``take_over``: plan objects
    another stack owns as updates that move them to this stack.
    """

    realm: str | None = None
    prune: bool = False
    max_deletes: int = 5
    check_secrets: bool = False
    parallelism: int = 4
    targets: Sequence[str] = ()
    take_over: bool = False


@dataclass(frozen=True)
class RunOptions(PlanRunOptions):
    """The settings of one apply run: a plan run's, and ``enable_features`` (switch on the tenant
    features the manifests need) and ``journal_dir`` (where the run's journal goes; None: no journal)."""

    enable_features: bool = False
    journal_dir: str | os.PathLike[str] | None = None


@dataclass(frozen=True)
class DestroyOptions:
    """The settings of a destroy plan: ``realm`` (``--realm``), the delete cap and concurrent requests."""

    realm: str | None = None
    max_deletes: int = 5
    parallelism: int = 4


@dataclass(frozen=True)
class VerifyOptions(LoadOptions):
    """The settings of one verify run: how paths are loaded (:class:`LoadOptions`); ``realm`` overrides the
    environment's and the manifests'; ``allow_skipped``: a run whose every check was skipped still passes;
    ``access``: also compare the tenant's access map with the manifests'."""

    realm: str | None = None
    allow_skipped: bool = False
    access: bool = False
