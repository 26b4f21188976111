"""A faithful local emulator of the AIC tenant APIs the provisioner uses (DESIGN §8).

Layers (moto style): ``routes`` (table) → ``handlers`` (thin) → ``backend`` (state and rules, no
HTTP) → ``store`` (SQLite). Failures are ``errors`` classes, rendered in one place
(``wire.error_response``). The realm OAuth runtime lives in ``oauth/`` and reads the tenant through
``backend.view.TenantView``.
"""

from .server import EmulatorServer

__all__ = ["EmulatorServer"]
