"""The error tree and the process exit codes.

Every expected failure is a ``ProvisionerError``; the CLI's single error boundary turns it into a
message on stderr and its ``exit_code``. Anything else is a bug (exit 3).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # user error, invalid input, failed apply/verify, tenant error
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes present
EXIT_BUG = 3  # unexpected exception (a bug in provisioner)
EXIT_INTERRUPTED = 130  # Ctrl-C


class ProvisionerError(Exception):
    """An expected failure with a message fit for the user."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ProvisionerError):
    """Bad command-line usage or configuration (missing tenant, bad option combination)."""


class ValidationFailed(ProvisionerError):
    """Manifests failed validation; the diagnostics were already reported."""


class ConfigurationError(ProvisionerError):
    """Credentials or tenant configuration missing or unusable."""
