"""Tenant selection: --tenant settles it; AIC_TENANT_URL, the environment file and FRODO_HOST must agree;
else local (not in CI)."""

from __future__ import annotations

import pytest

from provisioner.errors import ConfigurationError, UsageError
from provisioner.tenant import NO_TENANT_IN_CI, Target, resolve_target

URL = "https://openam-acme.forgeblocks.com"


@pytest.mark.parametrize(
    "option,env_tenant,environ,ci,expected",
    [
        (
            "https://a.example.com",
            "https://c.example.com",
            {"AIC_TENANT_URL": "https://b.example.com"},
            True,
            Target("https://a.example.com", "--tenant"),
        ),
        ("local", URL, {"AIC_TENANT_URL": URL}, True, Target(None, "--tenant")),
        ("LOCAL", None, {}, False, Target(None, "--tenant")),
        (
            None,
            "https://b.example.com",
            {"AIC_TENANT_URL": "https://b.example.com/"},
            True,
            Target("https://b.example.com", "AIC_TENANT_URL"),
        ),
        (
            None,
            "https://d.example.com",
            {"FRODO_HOST": "https://d.example.com/am"},
            True,
            Target("https://d.example.com", "environment file"),
        ),
        (None, "local", {}, True, Target(None, "environment file")),
        (None, None, {"FRODO_HOST": "https://d.example.com/am"}, True, Target("https://d.example.com", "FRODO_HOST")),
        (None, None, {}, False, Target(None, "default")),
        ("", "  ", {"AIC_TENANT_URL": ""}, False, Target(None, "default")),
        ("http://127.0.0.1:8080", None, {}, True, Target("http://127.0.0.1:8080", "--tenant")),
        (f"{URL}/am/", None, {}, False, Target(URL, "--tenant")),
    ],
)
def test_resolve_target(option, env_tenant, environ, ci, expected) -> None:
    assert resolve_target(option, env_tenant, environ, ci=ci) == expected


@pytest.mark.parametrize(
    "env_tenant,environ,message",
    [
        (
            "https://c.example.com",
            {"AIC_TENANT_URL": "https://b.example.com/"},
            "the tenant is ambiguous: AIC_TENANT_URL says https://b.example.com but environment file says "
            "https://c.example.com; pass --tenant to choose, or unset one of them",
        ),
        (
            "local",
            {"FRODO_HOST": "https://d.example.com/am"},
            "the tenant is ambiguous: environment file says local but FRODO_HOST says https://d.example.com; "
            "pass --tenant to choose, or unset one of them",
        ),
    ],
)
def test_disagreeing_sources_are_refused(env_tenant, environ, message) -> None:
    with pytest.raises(UsageError) as info:
        resolve_target(None, env_tenant, environ, ci=False)
    assert str(info.value) == message


def test_ci_without_tenant_refuses_local() -> None:
    with pytest.raises(UsageError) as info:
        resolve_target(None, None, {}, ci=True)
    assert (
        str(info.value)
        == NO_TENANT_IN_CI
        == (
            "no tenant configured: pass --tenant URL, set AIC_TENANT_URL or add tenant: to "
            "environments/<env>.yaml; refusing to fall back to the local emulator in CI"
        )
    )


@pytest.mark.parametrize(
    "url,message",
    [
        (
            "http://openam-acme.forgeblocks.com",
            "refusing plain http:// to openam-acme.forgeblocks.com: tenant URLs "
            "must use https:// (http is allowed only for loopback hosts such as the local emulator)",
        ),
        (
            "ftp://x.example.com",
            "tenant URL 'ftp://x.example.com' is not an http(s) URL such as https://openam-acme.forgeblocks.com",
        ),
        ("https://user:pw@x.example.com", "the tenant URL must not carry credentials, a query or a fragment"),
    ],
)
def test_bad_urls_are_refused_early(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_target(url, None, {}, ci=False)
    assert str(info.value) == message
