"""Planning (pure: no I/O): the plan model, diff, order and the versioned JSON form."""
from __future__ import annotations

from provisioner.plan.diff import PlanOptions, make_plan
from provisioner.plan.model import (FORMAT_VERSION, Blocked, Change, FieldChange, Plan, PlanDiagnostic,
                                    PlanFormatError)
from provisioner.plan.order import address, level, levels

__all__ = ["FORMAT_VERSION", "Blocked", "Change", "FieldChange", "Plan", "PlanDiagnostic", "PlanFormatError",
           "PlanOptions", "make_plan", "address", "level", "levels"]
