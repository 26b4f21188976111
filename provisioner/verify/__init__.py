"""``verify``: prove the configured OAuth flows work end to end against the tenant.

``run_verify(stack, secrets, tenant)`` runs the autonomous and on-behalf-of flows of every AIAgent with
an application privilege, checks the claims, probes least privilege, and returns a
:class:`VerifyReport`; :mod:`.render` turns it into a table, JSON or JUnit XML.
"""

from provisioner.verify.model import FAIL, PASS, SKIP, Check, VerifyReport
from provisioner.verify.render import render_json, render_junit, render_table
from provisioner.verify.runner import run_verify

__all__ = ["Check", "VerifyReport", "PASS", "FAIL", "SKIP", "run_verify", "render_table", "render_json", "render_junit"]
