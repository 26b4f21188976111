"""Frodo's saved connection profiles (``frodo conn save``), read the way frodo-lib reads them.

The file is ``$FRODO_CONNECTION_PROFILES_PATH``, else ``~/.frodo/Connections.json``: a JSON object
keyed by the tenant URL (e.g. ``https://openam-acme-dev.forgeblocks.com/am``), each value holding among
others ``svcacctId`` and ``encodedSvcacctJwk``. A profile is chosen, as Frodo does, by a substring of
its key that matches exactly one profile (``--tenant acme-dev``).

``encodedSvcacctJwk`` is encrypted by frodo-lib's DataProtection: base64 of
``salt (64 bytes) | nonce (16) | GCM tag (16) | ciphertext``, AES-256-GCM with the key
``scrypt(master key text, salt, N=16384, r=8, p=1, 32 bytes)`` over the JSON of the JWK. The master key
is ``$FRODO_MASTER_KEY``, else the file ``$FRODO_MASTER_KEY_PATH``, else ``~/.frodo/masterkey.key``.
A profile saved with a clear-text ``svcacctJwk`` (before Frodo converted it) is read as well.
Profiles with only a user name and password cannot be used: provisioner signs in with a service
account only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner import redact
from provisioner.errors import ConfigurationError

PROFILES_PATH = "FRODO_CONNECTION_PROFILES_PATH"
MASTER_KEY = "FRODO_MASTER_KEY"
MASTER_KEY_PATH = "FRODO_MASTER_KEY_PATH"


@dataclass(frozen=True)
class FrodoProfile:
    """A matched profile: the tenant URL as saved, and its service account when it has one."""

    key: str
    url: str
    source: str
    sa_id: str | None = None
    jwk: Mapping[str, Any] | None = field(default=None, repr=False)


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or os.path.expanduser("~"))


def profiles_path(environ: Mapping[str, str]) -> Path:
    value = environ.get(PROFILES_PATH)
    return Path(value).expanduser() if value else _home(environ) / ".frodo" / "Connections.json"


def _master_key(environ: Mapping[str, str]) -> str:
    if environ.get(MASTER_KEY):
        return environ[MASTER_KEY]
    path = (
        Path(environ[MASTER_KEY_PATH]).expanduser()
        if environ.get(MASTER_KEY_PATH)
        else (_home(environ) / ".frodo" / "masterkey.key")
    )
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"the Frodo profile's key is encrypted, and Frodo's master key {path} cannot be "
            f"read ({exc.strerror}); set {MASTER_KEY} or {MASTER_KEY_PATH}"
        ) from None


def decrypt(encoded: str, master_key: str) -> Any:
    """frodo-lib DataProtection.decrypt: the JSON value that was encrypted."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.b64decode(encoded, validate=False)
    except ValueError:
        raise ConfigurationError("the Frodo profile's encrypted value is not base64") from None
    if len(raw) <= 96:
        raise ConfigurationError("the Frodo profile's encrypted value is too short")
    salt, nonce, tag, ciphertext = raw[:64], raw[64:80], raw[80:96], raw[96:]
    key = hashlib.scrypt(master_key.encode("utf-8"), salt=salt, n=16384, r=8, p=1, dklen=32)
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext + tag, None)
    except InvalidTag:
        raise ConfigurationError(
            "the Frodo profile's service-account key does not decrypt with Frodo's master key "
            f"(is {MASTER_KEY} or {MASTER_KEY_PATH} the one Frodo used?)"
        ) from None
    text = plain.decode("utf-8")
    try:
        jwk = json.loads(text)
    except ValueError:
        redact.register(text)
        raise ConfigurationError("the Frodo profile's decrypted service-account key is not JSON") from None
    if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and isinstance(jwk.get("d"), str):
        from provisioner.client.auth import check_private_jwk

        check_private_jwk(jwk)  # registers its private parts: any text holding the key holds them
    else:
        redact.register(text)  # not a usable key: nothing in it can be told apart
    return jwk


def find_profile(name: str, environ: Mapping[str, str], *, required: bool) -> FrodoProfile | None:
    """The one profile whose key contains ``name`` (an exact key wins). ``None`` when there is no
    profiles file or no match and ``required`` is false; a ConfigurationError otherwise."""
    path = profiles_path(environ)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigurationError(
                f"{name!r} is not a URL, and there is no Frodo connection profiles file ({path}) to look it up in"
            ) from None
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read Frodo's connection profiles {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"Frodo's connection profiles {path} is not a JSON object")
    exact = [k for k in data if k.rstrip("/") == name.rstrip("/")]
    hits = exact or [k for k in data if name in k]
    if not hits:
        if required:
            raise ConfigurationError(
                f"no Frodo connection profile matches {name!r} (in {path}); profiles: "
                f"{', '.join(sorted(data)) or 'none'}"
            )
        return None
    if len(hits) > 1:
        if not required:
            return None
        raise ConfigurationError(
            f"{name!r} matches several Frodo connection profiles: {', '.join(sorted(hits))}; "
            "give a substring that identifies one"
        )
    key = hits[0]
    entry = data[key] if isinstance(data[key], dict) else {}
    sa_id = entry.get("svcacctId") if isinstance(entry.get("svcacctId"), str) else None
    jwk: Any = None
    if isinstance(entry.get("encodedSvcacctJwk"), str):
        jwk = decrypt(entry["encodedSvcacctJwk"], _master_key(environ))
    elif entry.get("svcacctJwk") is not None:
        jwk = entry["svcacctJwk"]
    if isinstance(jwk, str):
        jwk = json.loads(jwk)
    if jwk is not None and not isinstance(jwk, dict):
        raise ConfigurationError(f"the Frodo profile {key} holds a service-account key that is not a JWK")
    return FrodoProfile(key=key, url=key, source=f"Frodo connection profile {key} ({path})", sa_id=sa_id, jwk=jwk)
