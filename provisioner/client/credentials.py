"""Admin credentials, ONLY from the environment or a dotenv mapping (never from CLI arguments).

``AIC_SERVICE_ACCOUNT_ID`` + ``AIC_SERVICE_ACCOUNT_JWK`` (JSON) or ``AIC_SERVICE_ACCOUNT_JWK_FILE``, or
``AIC_ACCESS_TOKEN``; Frodo's ``FRODO_SA_ID`` + ``FRODO_SA_JWK`` as a fallback. The process environment
wins over the dotenv file, variable by variable. Every secret is registered with redact when read.

"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import redact
from provisioner.client.auth import Auth, BearerAuth, ServiceAccountAuth, check_private_jwk
from provisioner.client.tokencache import MemoryTokenCache, TokenCache
from provisioner.errors import ConfigurationError

SA_ID = "AIC_SERVICE_ACCOUNT_ID"
SA_JWK = "AIC_SERVICE_ACCOUNT_JWK"
SA_JWK_FILE = "AIC_SERVICE_ACCOUNT_JWK_FILE"
ACCESS_TOKEN = "AIC_ACCESS_TOKEN"
FRODO_SA_ID = "FRODO_SA_ID"
FRODO_SA_JWK = "FRODO_SA_JWK"


@dataclass(frozen=True)
class Credentials:
    """Resolved admin credentials; ``source`` names the variables used (safe to print)."""

    kind: str  # "service-account" | "token"
    source: str
    sa_id: str | None = None
    jwk: Mapping[str, Any] | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def auth(self, tenant_url: str, cache: TokenCache | MemoryTokenCache | None = None) -> Auth:
        """The :class:`~.auth.Auth` for ``tenant_url`` (service-account tokens shared through ``cache``)."""
        if self.kind == "token":
            assert self.token is not None
            return BearerAuth(self.token)
        assert self.sa_id is not None and self.jwk is not None
        return ServiceAccountAuth(self.sa_id, self.jwk, tenant_url, cache=cache)


def check_private_file(path: str | os.PathLike[str], what: str = "service-account key") -> None:
    """Refuse a key file that group or others can read (like ssh)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} file {os.fspath(path)}: {exc.strerror}") from None
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"permissions {stat.S_IMODE(mode):04o} for {what} file '{os.fspath(path)}' are too open: "
            f"it must not be accessible by group or others (run: chmod 600 '{os.fspath(path)}')"
        )


def parse_jwk(text: str, source: str) -> dict[str, Any]:
    """Parse a JWK given as JSON text; the message never shows the content.

    The private parts of a key are registered for redaction (any text holding the key holds them); a
    text that is not such a key is registered whole, since nothing else in it can be told apart."""
    try:
        jwk = json.loads(text)
    except json.JSONDecodeError as exc:
        redact.register(text.strip())
        raise ConfigurationError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(jwk, dict):
        redact.register(text.strip())
        raise ConfigurationError(f"{source} must be a JSON object (a JWK)")
    try:
        check_private_jwk(jwk)  # registers the private parts, refuses public or non-RSA keys (signing builds the key)
    except Exception:
        redact.register(text.strip())
        raise
    return jwk


def read_jwk_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a private JWK file after checking that only its owner can read it."""
    from provisioner import safefile

    check_private_file(path)
    try:
        text = safefile.read_bytes(path, 64 * 1024, what="service-account key file").decode("utf-8")
    except safefile.FileRefused as exc:
        raise ConfigurationError(str(exc)) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"service-account key file {os.fspath(path)} is not valid UTF-8") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read service-account key file {os.fspath(path)}: {exc.strerror}") from None
    return parse_jwk(text, f"service-account key file {os.fspath(path)}")


def resolve_credentials(environ: Mapping[str, str], dotenv: Mapping[str, str] | None = None) -> Credentials:
    """Find the admin credentials; a clear :class:`ConfigurationError` when missing or inconsistent."""

    def get(name: str) -> str | None:
        value = environ.get(name)
        if value is None or not value.strip():
            value = (dotenv or {}).get(name)
        return value.strip() if value and value.strip() else None

    sa_id, jwk_text, jwk_file, token = get(SA_ID), get(SA_JWK), get(SA_JWK_FILE), get(ACCESS_TOKEN)
    if token:
        redact.register(token)
    if jwk_text and jwk_file:
        raise ConfigurationError(f"set {SA_JWK} or {SA_JWK_FILE}, not both")
    if token and (sa_id or jwk_text or jwk_file):
        raise ConfigurationError(f"set either a service account ({SA_ID} + key) or {ACCESS_TOKEN}, not both")
    if sa_id or jwk_text or jwk_file:
        if not sa_id:
            raise ConfigurationError(f"{SA_JWK_FILE if jwk_file else SA_JWK} is set but {SA_ID} is missing")
        if jwk_file:
            return Credentials("service-account", f"{SA_ID} + {SA_JWK_FILE}", sa_id, read_jwk_file(jwk_file))
        if jwk_text:
            return Credentials("service-account", f"{SA_ID} + {SA_JWK}", sa_id, parse_jwk(jwk_text, SA_JWK))
        raise ConfigurationError(f"{SA_ID} is set but neither {SA_JWK_FILE} nor {SA_JWK} is")
    if token:
        return Credentials("token", ACCESS_TOKEN, token=token)
    frodo_id, frodo_jwk = get(FRODO_SA_ID), get(FRODO_SA_JWK)
    if frodo_id or frodo_jwk:
        if not (frodo_id and frodo_jwk):
            missing = FRODO_SA_JWK if frodo_id else FRODO_SA_ID
            raise ConfigurationError(f"{missing} is missing (Frodo service-account variables must come as a pair)")
        return Credentials(
            "service-account", f"{FRODO_SA_ID} + {FRODO_SA_JWK}", frodo_id, parse_jwk(frodo_jwk, FRODO_SA_JWK)
        )
    raise ConfigurationError(
        f"no tenant credentials: set {SA_ID} and {SA_JWK_FILE} (or {SA_JWK}), or {ACCESS_TOKEN}, "
        "in the environment or the --env-file"
    )
