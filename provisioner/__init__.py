"""provisioner: infrastructure-as-code for Ping Advanced Identity Cloud tenants."""
from __future__ import annotations

__version__ = "0.1.0"
