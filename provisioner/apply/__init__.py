"""Apply: execute a plan through the tenant client (levels, bounded parallelism, preconditions)."""

from __future__ import annotations

from provisioner.apply.executor import ApplyOptions, ApplyRefused, ApplyResult, ChangeResult, check_plan, execute
from provisioner.apply.operations import StaleObject

__all__ = ["ApplyOptions", "ApplyRefused", "ApplyResult", "ChangeResult", "StaleObject", "check_plan", "execute"]
