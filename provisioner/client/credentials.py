"""Admin credentials, ONLY from the environment or a dotenv mapping (never from CLI arguments).

``AIC_SERVICE_ACCOUNT_ID`` + ``AIC_SERVICE_ACCOUNT_JWK`` (JSON) or ``AIC_SERVICE_ACCOUNT_JWK_FILE``, or
``AIC_ACCESS_TOKEN``; Frodo's ``FRODO_SA_ID`` + ``FRODO_SA_JWK`` as a fallback. The process environment
wins over the dotenv file, variable by variable. Every secret is registered with redact when read.

Also home of a tiny dotenv parser (:func:`parse_dotenv`), as no shared one existed when this was written.
"""
from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import redact
from provisioner.errors import ConfigurationError
from provisioner.client.auth import Auth, BearerAuth, ServiceAccountAuth, load_private_jwk
from provisioner.client.tokencache import TokenCache

SA_ID = "AIC_SERVICE_ACCOUNT_ID"
SA_JWK = "AIC_SERVICE_ACCOUNT_JWK"
SA_JWK_FILE = "AIC_SERVICE_ACCOUNT_JWK_FILE"
ACCESS_TOKEN = "AIC_ACCESS_TOKEN"
FRODO_SA_ID = "FRODO_SA_ID"
FRODO_SA_JWK = "FRODO_SA_JWK"

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


@dataclass(frozen=True)
class Credentials:
    """Resolved admin credentials; ``source`` names the variables used (safe to print)."""

    kind: str  # "service-account" | "token"
    source: str
    sa_id: str | None = None
    jwk: Mapping[str, Any] | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def auth(self, tenant_url: str, cache: "TokenCache | None" = None) -> Auth:
        """The :class:`~.auth.Auth` for ``tenant_url`` (service-account tokens shared through ``cache``)."""
        if self.kind == "token":
            assert self.token is not None
            return BearerAuth(self.token)
        assert self.sa_id is not None and self.jwk is not None
        return ServiceAccountAuth(self.sa_id, self.jwk, tenant_url, cache=cache)


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse dotenv text: ``KEY=value``, ``export KEY=value``, ``#`` comments, single quotes (literal),
    double quotes (``\\n``, ``\\"``, ``\\\\`` escapes), quoted values spanning lines."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _LINE.match(lines[i])
        i += 1
        if not match:
            continue  # blank lines, comments and junk are ignored, as other dotenv readers do
        key, raw = match.group(1), match.group(2)
        if raw[:1] in ("'", '"'):
            quote = raw[0]
            value = raw[1:]
            while not _closes(value, quote) and i < len(lines):
                value += "\n" + lines[i]
                i += 1
            end = _closing_index(value, quote)
            value = value[:end] if end >= 0 else value
            if quote == '"':
                value = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value)
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        out[key] = value
    return out


def _closing_index(value: str, quote: str) -> int:
    escaped = False
    for index, char in enumerate(value):
        if quote == '"' and char == "\\" and not escaped:
            escaped = True
            continue
        if char == quote and not escaped:
            return index
        escaped = False
    return -1


def _closes(value: str, quote: str) -> bool:
    return _closing_index(value, quote) >= 0


def load_dotenv(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read and parse a dotenv file; every value is registered with redact (it may be a secret)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read env file {os.fspath(path)}: {exc.strerror}") from None
    values = parse_dotenv(text)
    redact.register(*(v for v in values.values() if len(v) >= 8))
    return values


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
    """Parse a JWK given as JSON text; the message never shows the content."""
    redact.register(text.strip())
    try:
        jwk = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(jwk, dict):
        raise ConfigurationError(f"{source} must be a JSON object (a JWK)")
    load_private_jwk(jwk)  # registers the private parts, refuses public or non-RSA keys
    return jwk


def read_jwk_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a private JWK file after checking that only its owner can read it."""
    check_private_file(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
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
        return Credentials("service-account", f"{FRODO_SA_ID} + {FRODO_SA_JWK}", frodo_id,
                           parse_jwk(frodo_jwk, FRODO_SA_JWK))
    raise ConfigurationError(
        f"no tenant credentials: set {SA_ID} and {SA_JWK_FILE} (or {SA_JWK}), or {ACCESS_TOKEN}, "
        "in the environment or the --env-file"
    )
