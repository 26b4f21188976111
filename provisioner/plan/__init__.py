"""Planning (pure: no I/O): the plan model, diff, order and the versioned JSON form.

``make_plan`` and ``PlanOptions`` are loaded on first use: the kind modules build :class:`Change`
records (``provisioner.plan.model``) and the planner loops over the kinds, so importing the planner
here would make the two packages import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provisioner.plan.model import FORMAT_VERSION, Blocked, Change, FieldChange, Plan, PlanDiagnostic, PlanFormatError

if TYPE_CHECKING:
    from provisioner.plan.diff import PlanOptions, make_plan
    from provisioner.plan.order import address, level


def __getattr__(name: str) -> Any:
    if name in ("PlanOptions", "make_plan"):
        from provisioner.plan import diff

        return getattr(diff, name)
    if name in ("address", "level"):
        from provisioner.plan import order

        return getattr(order, name)
    raise AttributeError(name)


__all__ = [
    "FORMAT_VERSION",
    "Blocked",
    "Change",
    "FieldChange",
    "Plan",
    "PlanDiagnostic",
    "PlanFormatError",
    "PlanOptions",
    "make_plan",
    "address",
    "level",
]
