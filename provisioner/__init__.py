"""provisioner: infrastructure-as-code for Ping Advanced Identity Cloud tenants."""

from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):  # lazy re-exports: importing the package stays cheap
    if name in ("load", "plan", "apply"):
        from provisioner import api

        return getattr(api, name)
    raise AttributeError(f"module 'provisioner' has no attribute {name!r}")
