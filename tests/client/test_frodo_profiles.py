"""Frodo interop for the tenant: FRODO_HOST without a scheme, and Frodo's saved connection profiles
(``~/.frodo/Connections.json``) named by a unique substring, with the service-account key decrypted
as frodo-lib does. ``fixtures/frodo`` was written by Node's crypto following frodo-lib's DataProtection."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path

import pytest

from provisioner.client.frodo import decrypt, find_profile
from provisioner.errors import ConfigurationError
from provisioner.tenant import open_tenant, resolve_target

FIXTURES = Path(__file__).parent / "fixtures" / "frodo"


def frodo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path),
        "FRODO_CONNECTION_PROFILES_PATH": str(FIXTURES / "Connections.json"),
        "FRODO_MASTER_KEY_PATH": str(FIXTURES / "masterkey.key"),
        **extra,
    }


def test_frodo_host_without_a_scheme_is_https(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "FRODO_HOST": "openam-acme-dev.forgeblocks.com/am"}
    target = resolve_target(None, None, environ, ci=True)
    assert target.url == "https://openam-acme-dev.forgeblocks.com" and target.source == "FRODO_HOST"
    assert (
        resolve_target("openam-acme-dev.forgeblocks.com", None, {"HOME": str(tmp_path)}, ci=True).url
        == "https://openam-acme-dev.forgeblocks.com"
    )


def test_node_encrypted_profile_key_decrypts_to_the_jwk(tmp_path: Path) -> None:
    profile = find_profile("acme-dev", frodo_env(tmp_path), required=True)
    assert profile is not None and profile.key == "https://openam-acme-dev.forgeblocks.com/am"
    assert profile.sa_id == "0a3f6c5e-1d2b-4c8e-9f71-2b5d9e0c4a11"
    assert profile.jwk == json.loads((FIXTURES / "service-account.jwk").read_text())
    target = resolve_target("acme-dev", None, frodo_env(tmp_path), ci=True)
    assert target.url == "https://openam-acme-dev.forgeblocks.com" and "Frodo profile" in target.source


@pytest.mark.parametrize(
    "name, message",
    [
        ("acme", "matches several Frodo connection profiles"),
        ("nothing-like-it", "no Frodo connection profile matches 'nothing-like-it'"),
    ],
)
def test_a_profile_name_must_match_exactly_one(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_target(name, None, frodo_env(tmp_path), ci=True)


def test_a_wrong_master_key_is_named_not_a_traceback(tmp_path: Path) -> None:
    environ = frodo_env(tmp_path, FRODO_MASTER_KEY=base64.b64encode(b"x" * 32).decode())
    with pytest.raises(ConfigurationError, match="does not decrypt with Frodo's master key"):
        find_profile("acme-prod", environ, required=True)


def _seal(plain: bytes, master_key: str) -> str:
    """frodo-lib's layout (checked against Node above): salt | nonce | tag | ciphertext, base64."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = secrets.token_bytes(64), secrets.token_bytes(16)
    key = hashlib.scrypt(master_key.encode(), salt=salt, n=16384, r=8, p=1, dklen=32)
    sealed = AESGCM(key).encrypt(nonce, plain, None)
    return base64.b64encode(salt + nonce + sealed[-16:] + sealed[:-16]).decode()


def _encrypt(data: object, master_key: str) -> str:
    return _seal(json.dumps(data).encode(), master_key)


def test_round_trip_of_the_layout() -> None:
    assert decrypt(_encrypt({"a": 1}, "k"), "k") == {"a": 1}


def test_a_profile_signs_in_with_its_service_account(tmp_path: Path) -> None:
    """A Frodo user with a saved profile and nothing else set: `--tenant <substring>` just works."""
    from provisioner.emulator import EmulatorServer

    with EmulatorServer(port=0, state=None) as server:
        master = base64.b64encode(secrets.token_bytes(32)).decode()
        profiles = tmp_path / ".frodo" / "Connections.json"
        profiles.parent.mkdir()
        profiles.write_text(
            json.dumps(
                {
                    f"{server.url}/am": {
                        "svcacctId": server.service_account["id"],
                        "encodedSvcacctJwk": _encrypt(server.service_account["jwk"], master),
                    }
                }
            )
        )
        (tmp_path / ".frodo" / "masterkey.key").write_text(master)
        environ = {"HOME": str(tmp_path), "CI": "true"}
        target = resolve_target(f"127.0.0.1:{server.port}", None, environ, ci=True)
        assert target.url == server.url and target.profile is not None
        with open_tenant(target, environ=environ, state_dir=tmp_path / "s") as tenant:
            assert tenant.client.am("alpha").list("OAuth2Client") == []


def test_a_profile_without_a_service_account_says_so(tmp_path: Path) -> None:
    target = resolve_target("acme-staging", None, frodo_env(tmp_path), ci=True)
    with pytest.raises(ConfigurationError, match="has no service account"):
        with open_tenant(target, environ=frodo_env(tmp_path), state_dir=tmp_path / "s"):
            pass


def test_a_decrypted_key_is_registered_by_its_private_parts_anything_else_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registering a whole JWK text (quotes, braces, spaces) would send every JSON plan down redaction's
    slow path; its private parts are what must never show. What is not a usable key is registered
    whole, and text that is not JSON is refused by name."""
    from provisioner import redact

    registered: list[str] = []
    monkeypatch.setattr(redact, "register", lambda *values: registered.extend(v for v in values if v))
    key = {"kty": "RSA", "n": "modulus", "e": "AQAB", "d": "private-d", "p": "prime-p", "q": "prime-q"}
    assert decrypt(_encrypt(key, "k"), "k") == key
    assert sorted(registered) == ["prime-p", "prime-q", "private-d"]
    registered.clear()
    assert decrypt(_encrypt({"kty": "EC", "d": "ec-d"}, "k"), "k") == {"kty": "EC", "d": "ec-d"}
    assert registered == [json.dumps({"kty": "EC", "d": "ec-d"})]
    registered.clear()
    with pytest.raises(ConfigurationError, match="is not JSON"):
        decrypt(_seal(b"not json {", "k"), "k")
    assert registered == ["not json {"]
