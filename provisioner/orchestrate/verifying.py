"""Verifying a run: the declared OAuth flows against the tenant and, on request, its access map."""

from __future__ import annotations

import dataclasses
from typing import Any

from provisioner.orchestrate.options import VerifyOptions


def verify_run(stack: Any, secrets: Any, tenant: Any, o: VerifyOptions) -> Any:
    """The :class:`~provisioner.verify.VerifyReport` of the stack's flows (and, with ``o.access``, the
    access-map checks after them)."""
    from provisioner.verify import run_verify

    report = run_verify(stack, secrets, tenant, realm=o.realm, allow_skipped=o.allow_skipped)
    if o.access:
        from provisioner.verify.access import access_checks

        report = dataclasses.replace(report, checks=report.checks + tuple(access_checks(stack, tenant.client, o.realm)))
    return report
