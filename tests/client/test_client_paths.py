"""Path building and the one quoting helper."""

from __future__ import annotations

import pytest

from provisioner.client import paths
from provisioner.client.idm import managed


@pytest.mark.parametrize(
    "value,expected",
    [
        ("orders-api", "orders-api"),
        ("d4e78146-e92e-408d-8b88-e95de6272f3a", "d4e78146-e92e-408d-8b88-e95de6272f3a"),
        ("a b", "a%20b"),
        ("a/b", "a%2Fb"),
        ("x?y#z", "x%3Fy%23z"),
        ("50%", "50%25"),
        ("é", "%C3%A9"),
        ("a.b_c~d", "a.b_c~d"),
        (42, "42"),
    ],
)
def test_quote(value: object, expected: str) -> None:
    assert paths.quote(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_quote_refuses_dot_and_empty_segments(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid path parameter"):
        paths.quote(bad)


def test_am_paths() -> None:
    assert paths.am("alpha") == "/am/json/realms/root/realms/alpha"
    assert (
        paths.am("alpha", "realm-config", "agents", "AIAgent", "my agent")
        == "/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/my%20agent"
    )
    assert paths.am("/alpha/sub", "realm-config") == "/am/json/realms/root/realms/alpha/realms/sub/realm-config"
    assert paths.am("root", "realm-config") == "/am/json/realms/root/realm-config"
    assert paths.oauth("alpha", "access_token") == "/am/oauth2/realms/root/realms/alpha/access_token"


def test_idm_paths() -> None:
    assert paths.managed("alpha_aiagent", "u/1") == "/openidm/managed/alpha_aiagent/u%2F1"
    assert paths.managed("managed/alpha_user") == "/openidm/managed/alpha_user"
    assert paths.managed("alpha_aiagent", "id", "privileges") == "/openidm/managed/alpha_aiagent/id/privileges"
    assert paths.join("environment", "aiagent") == "/environment/aiagent"


@pytest.mark.parametrize(
    "path,version",
    [
        ("/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent", "protocol=2.1,resource=2.0"),
        ("/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/x", "protocol=2.1,resource=2.0"),
        ("/am/json/realms/root/realms/alpha/realm-config/agents/OAuth2Client/x", "protocol=2.1,resource=1.0"),
        ("/am/json/realms/root/realms/alpha/realm-config/agents/AIAgentish", "protocol=2.1,resource=1.0"),
        ("/am/json/realms/root/realms/alpha/realm-config/agents", "protocol=2.1,resource=1.0"),
        ("/am/json/realms/root/realms/alpha/realm-config/services/oauth-oidc", "protocol=2.1,resource=1.0"),
        ("/am/oauth2/access_token", None),
        ("/openidm/managed/alpha_aiagent", None),
        ("/environment/aiagent", None),
        ("/feature", None),
    ],
)
def test_api_version(path: str, version: str | None) -> None:
    assert paths.api_version(path) == version


@pytest.mark.parametrize(
    "host,loopback",
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("LOCALHOST", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.evil.com", False),
        ("", False),
        (None, False),
        ("128.0.0.1", False),
    ],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert paths.is_loopback(host) is loopback


def test_managed_names() -> None:
    assert managed("alpha", "aiagent") == "alpha_aiagent"
    assert managed("/bravo", "application") == "bravo_application"
    with pytest.raises(ValueError):
        managed("alpha", "x/y")
