"""Credentials from the environment / dotenv only; the dotenv parser; key-file permissions; JWT claims."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jwt
import pytest

from provisioner import redact
from provisioner.client.auth import BearerAuth, ServiceAccountAuth, token_audience
from provisioner.client.credentials import resolve_credentials
from provisioner.emulator.oauth.keys import generate_rsa_jwk
from provisioner.errors import ConfigurationError

PRIVATE, PUBLIC = generate_rsa_jwk(kid="test-kid", bits=2048)
SA = "449d7e27-7889-47af-a736-83b6bbf97ec5"


def _key_file(tmp_path: Path, mode: int = 0o600, jwk: dict = PRIVATE) -> Path:
    path = tmp_path / "sa.jwk"
    path.write_text(json.dumps(jwk))
    os.chmod(path, mode)
    return path


def test_service_account_from_jwk_json() -> None:
    creds = resolve_credentials({"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK": json.dumps(PRIVATE)})
    assert (creds.kind, creds.sa_id, creds.source) == (
        "service-account",
        SA,
        "AIC_SERVICE_ACCOUNT_ID + AIC_SERVICE_ACCOUNT_JWK",
    )
    assert creds.jwk == PRIVATE
    assert PRIVATE["d"] in redact.registered()
    assert PRIVATE["d"] not in repr(creds)
    assert isinstance(creds.auth("https://t.example.com"), ServiceAccountAuth)


def test_service_account_from_key_file(tmp_path: Path) -> None:
    path = _key_file(tmp_path)
    creds = resolve_credentials({"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK_FILE": str(path)})
    assert creds.source == "AIC_SERVICE_ACCOUNT_ID + AIC_SERVICE_ACCOUNT_JWK_FILE"
    assert creds.jwk == PRIVATE


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _key_file(tmp_path, mode)
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials({"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK_FILE": str(path)})
    assert str(info.value) == (
        f"permissions {mode:04o} for service-account key file '{path}' are too open: it must not be "
        f"accessible by group or others (run: chmod 600 '{path}')"
    )


def test_access_token() -> None:
    creds = resolve_credentials({"AIC_ACCESS_TOKEN": "tok-abcdef123456"})
    assert creds.kind == "token" and creds.source == "AIC_ACCESS_TOKEN"
    assert "tok-abcdef123456" in redact.registered()
    auth = creds.auth("https://t.example.com")
    assert isinstance(auth, BearerAuth)
    assert auth.authorization(None) == "Bearer tok-abcdef123456"  # type: ignore[arg-type]
    assert auth.invalidate("Bearer tok-abcdef123456") is False
    assert "tok-abcdef123456" not in repr(auth)


def test_frodo_fallbacks() -> None:
    creds = resolve_credentials({"FRODO_SA_ID": SA, "FRODO_SA_JWK": json.dumps(PRIVATE)})
    assert creds.source == "FRODO_SA_ID + FRODO_SA_JWK"


def test_aic_variables_win_over_frodo() -> None:
    creds = resolve_credentials(
        {"AIC_ACCESS_TOKEN": "tok-abcdef123456", "FRODO_SA_ID": SA, "FRODO_SA_JWK": json.dumps(PRIVATE)}
    )
    assert creds.kind == "token"


def test_environment_wins_over_dotenv_and_dotenv_is_used() -> None:
    dotenv = {"AIC_ACCESS_TOKEN": "tok-from-dotenv-1234"}
    assert resolve_credentials({}, dotenv).token == "tok-from-dotenv-1234"
    assert resolve_credentials({"AIC_ACCESS_TOKEN": "tok-from-environ-1234"}, dotenv).token == "tok-from-environ-1234"
    assert resolve_credentials({"AIC_ACCESS_TOKEN": ""}, dotenv).token == "tok-from-dotenv-1234"


@pytest.mark.parametrize(
    "environ,message",
    [
        (
            {},
            "no tenant credentials: set AIC_SERVICE_ACCOUNT_ID and AIC_SERVICE_ACCOUNT_JWK_FILE (or "
            "AIC_SERVICE_ACCOUNT_JWK), or AIC_ACCESS_TOKEN, in the environment or the --env-file",
        ),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA},
            "AIC_SERVICE_ACCOUNT_ID is set but neither AIC_SERVICE_ACCOUNT_JWK_FILE nor AIC_SERVICE_ACCOUNT_JWK is",
        ),
        ({"AIC_SERVICE_ACCOUNT_JWK": "{}"}, "AIC_SERVICE_ACCOUNT_JWK is set but AIC_SERVICE_ACCOUNT_ID is missing"),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK": "{}", "AIC_SERVICE_ACCOUNT_JWK_FILE": "/x"},
            "set AIC_SERVICE_ACCOUNT_JWK or AIC_SERVICE_ACCOUNT_JWK_FILE, not both",
        ),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_ACCESS_TOKEN": "tok-abcdef123456"},
            "set either a service account (AIC_SERVICE_ACCOUNT_ID + key) or AIC_ACCESS_TOKEN, not both",
        ),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK": "{not json"},
            "AIC_SERVICE_ACCOUNT_JWK is not valid JSON (line 1, column 2)",
        ),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK": "[1]"},
            "AIC_SERVICE_ACCOUNT_JWK must be a JSON object (a JWK)",
        ),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK": json.dumps(PUBLIC)},
            'the service-account JWK is a public key; the private key (with "d") is needed',
        ),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK": '{"kty":"EC","d":"x"}'},
            "the service-account JWK must be an RSA key (kty RSA), not 'EC'",
        ),
        ({"FRODO_SA_ID": SA}, "FRODO_SA_JWK is missing (Frodo service-account variables must come as a pair)"),
        (
            {"AIC_SERVICE_ACCOUNT_ID": SA, "AIC_SERVICE_ACCOUNT_JWK_FILE": "/nonexistent/sa.jwk"},
            "cannot read service-account key file /nonexistent/sa.jwk: No such file or directory",
        ),
    ],
)
def test_configuration_errors(environ: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials(environ)
    assert str(info.value) == message


def test_dotenv_credentials_come_through_the_one_dotenv_parser(tmp_path: Path) -> None:
    """Credentials in an --env-file are read by the manifest's dotenv parser and used as such."""
    from provisioner.api import read_env_file

    private, _ = generate_rsa_jwk(bits=2048)
    path = tmp_path / "creds.env"
    path.write_text(
        "# comment\nexport AIC_SERVICE_ACCOUNT_ID = sa-from-file   # trailing\n"
        f"AIC_SERVICE_ACCOUNT_JWK='{json.dumps(private)}'\n"
    )
    dotenv = read_env_file(str(path))
    credentials = resolve_credentials({}, dotenv)
    assert credentials.kind == "service-account" and credentials.sa_id == "sa-from-file"
    with pytest.raises(ConfigurationError, match="env file does not exist"):
        read_env_file(str(tmp_path / "missing.env"))


@pytest.mark.parametrize(
    "url,aud",
    [
        ("https://openam-acme.forgeblocks.com", "https://openam-acme.forgeblocks.com:443/am/oauth2/access_token"),
        ("https://openam-acme.forgeblocks.com/", "https://openam-acme.forgeblocks.com:443/am/oauth2/access_token"),
        ("https://t.example.com:8443", "https://t.example.com:8443/am/oauth2/access_token"),
        ("http://127.0.0.1:51234", "http://127.0.0.1:51234/am/oauth2/access_token"),
    ],
)
def test_token_audience(url: str, aud: str) -> None:
    assert token_audience(url) == aud


def test_assertion_claims() -> None:
    auth = ServiceAccountAuth(SA, PRIVATE, "https://openam-acme.forgeblocks.com", clock=lambda: 1_700_000_000.0)
    token = auth.assertion()
    assert token in redact.registered()
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": "test-kid", "typ": "JWT"}
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(PUBLIC))
    claims = jwt.decode(token, public, algorithms=["RS256"], audience=auth.audience, options={"verify_exp": False})
    assert claims["iss"] == claims["sub"] == SA
    assert claims["aud"] == "https://openam-acme.forgeblocks.com:443/am/oauth2/access_token"
    assert claims["exp"] == 1_700_000_180
    assert (
        len(claims["jti"]) == 36
        and claims["jti"] != jwt.decode(auth.assertion(), options={"verify_signature": False})["jti"]
    )
