"""Hostile and random input: validate and plan never crash; invalid manifests never reach the network.

Also the ``--verbose`` trace: one line per HTTP request, and never a credential.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import leakcheck
from tests.core.conftest import Tenant, bot_args, demo_secrets

FUZZ_SECRET = "fuzz-secret-value-0123"


def seeded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- generators ----------------------------------------------------------------------------------------

YAML_BITS = [
    "apiVersion: provisioner/v1\n",
    "kind: Application\n",
    "kind: AIAgent\n",
    "kind: OAuth2Provider\n",
    "metadata: {name: app-1, realm: alpha}\n",
    "metadata:\n  name: x\n",
    "spec:\n",
    "  scopes: [a, b]\n",
    "  scopes: 5\n",
    "  applications:\n    - application: app-1\n",
    "---\n",
    "&a [*a]\n",
    "*b\n",
    "{{ x }}\n",
    "{% for i in range(3) %}a{% endfor %}\n",
    "!!python/object:os.system\n",
    "key: !!binary x\n",
    "- - - -\n",
    "  clientSecret: {fromEnv: FUZZ_SECRET}\n",
    "  clientSecret: {fromFile: /etc/passwd}\n",
    "\t\n",
    ": :\n",
    "? complex\n",
    "%YAML 1.1\n",
    "<<: *a\n",
    "a: 1\na: 2\n",
    "\x00",
    "\ufeff",
    "'\n",
    '"unterminated\n',
    "spec: {grantTypes: {ensure: [client_credentials]}}\n",
    "  permissions: [read]\n",
]

yaml_texts = st.one_of(
    st.lists(st.sampled_from(YAML_BITS), max_size=12).map("".join),
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=20)), max_size=8).map("".join),
)

names = st.one_of(
    st.sampled_from(["app-1", "agent-1", "x", "", "bad name", "a" * 300, "ü", "app_1", None, 5]), st.text(max_size=12)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["read", "write", "client_credentials", "token_exchange"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
SPEC_KEYS = [
    "displayName",
    "description",
    "template",
    "owners",
    "clientSecret",
    "scopes",
    "defaultScopes",
    "grantTypes",
    "tokenEndpointAuthMethod",
    "redirectUris",
    "accessTokenLifetime",
    "clientType",
    "providerOverrides",
    "applications",
    "acceptAudienceInTokenExchange",
    "unknownField",
]
GOOD = {
    "displayName": st.text(min_size=1, max_size=20),
    "description": st.text(max_size=20),
    "template": st.sampled_from(["service", "web", "native", "other"]),
    "clientSecret": st.just({"fromEnv": "FUZZ_SECRET"}),
    "scopes": st.lists(st.sampled_from(["read", "write", "search"]), min_size=1, max_size=3, unique=True),
    "grantTypes": st.sampled_from([["client_credentials"], ["client_credentials", "token_exchange"]]),
    "tokenEndpointAuthMethod": st.sampled_from(["client_secret_basic", "client_secret_post"]),
    "accessTokenLifetime": st.integers(-1, 100000),
    "applications": st.lists(
        st.fixed_dictionaries(
            {
                "application": st.sampled_from(["app-1", "app-2"]),
                "permissions": st.lists(st.sampled_from(["read", "write", "nope"]), max_size=2),
            }
        ),
        max_size=2,
    ),
}


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    """A manifest document: mostly well-formed, with a random share of wrong keys, types and values."""
    clean = draw(st.booleans())  # half the documents use only well-typed values
    kind = draw(st.sampled_from(["Application", "AIAgent", "OAuth2Provider"] + ([] if clean else ["Other", None])))
    spec: dict[str, Any] = {}
    keys = [k for k in SPEC_KEYS if k in GOOD] if clean else SPEC_KEYS
    for key in draw(st.lists(st.sampled_from(keys), max_size=6, unique=True)):
        good = GOOD.get(key)
        spec[key] = draw(good if good is not None and (clean or draw(st.booleans())) else values)
    if clean:
        name = draw(st.sampled_from(["app-1", "app-2", "agent-1"]))
        return {
            "apiVersion": "provisioner/v1",
            "kind": kind,
            "metadata": {"name": name, "realm": "alpha"},
            "spec": spec,
        }
    doc: dict[str, Any] = {
        "apiVersion": draw(st.sampled_from(["provisioner/v1", "provisioner/v1", "v2", None])),
        "kind": kind,
        "metadata": {
            "name": draw(st.one_of(st.sampled_from(["app-1", "app-2", "agent-1"]), names)),
            "realm": draw(st.sampled_from(["alpha", "alpha", "bravo", "", None])),
        },
        "spec": spec,
    }
    for key in draw(st.lists(st.sampled_from(["apiVersion", "kind", "metadata", "spec"]), max_size=1)):
        doc[key] = draw(values)
    return doc


def _dump(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


# -- the checks ------------------------------------------------------------------------------------------


def _no_crash(code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (code, out, err)
    assert "Internal error" not in out + err and "Traceback" not in out + err, err


def _validate_and_plan(tenant: Tenant, cli: Any, path: Path) -> None:
    code, out, err = cli("validate", str(path))
    _no_crash(code, out, err)
    tenant.reset_stats()
    plan_code, out, err = cli("plan", str(path), "--tenant", tenant.url, "--stack", "fuzz")
    _no_crash(plan_code, out, err)
    if code == 1:  # invalid: stopped before any network call
        assert plan_code == 1 and tenant.stats()["total"] == 0, out + err
    else:
        assert out.startswith(f"Target: {tenant.url}"), out + err  # planned normally (no resources: no reads)


@pytest.fixture
def fuzz_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUZZ_SECRET", FUZZ_SECRET)
    leakcheck.add_secret(FUZZ_SECRET)


def test_random_yaml_text_never_crashes(tenant: Tenant, cli: Any, tmp_path: Path, fuzz_env: None) -> None:
    path = tmp_path / "fuzz.yaml"

    @seeded(300)
    @given(text=yaml_texts)
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _validate_and_plan(tenant, cli, path)

    check()


def test_random_manifest_structures_never_crash(tenant: Tenant, cli: Any, tmp_path: Path, fuzz_env: None) -> None:
    path = tmp_path / "fuzz.yaml"
    seen = {"valid": 0, "invalid": 0}

    @seeded(150)
    @given(docs=st.lists(documents(), min_size=1, max_size=3))
    def check(docs: list[dict[str, Any]]) -> None:
        path.write_text(_dump(docs), encoding="utf-8")
        code, out, err = cli("validate", str(path))
        _no_crash(code, out, err)
        seen["valid" if code == 0 else "invalid"] += 1
        tenant.reset_stats()
        plan_code, out, err = cli("plan", str(path), "--tenant", tenant.url, "--stack", "fuzz")
        _no_crash(plan_code, out, err)
        if code == 1:
            assert plan_code == 1 and tenant.stats()["total"] == 0, out + err
        else:
            assert out.startswith(f"Target: {tenant.url}"), out + err  # planned normally (no resources: no reads)

    check()
    assert seen["valid"] >= 5 and seen["invalid"] >= 5, seen  # both paths were really exercised


# -- the --verbose trace ---------------------------------------------------------------------------------

TRACE_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD) /\S* -> (\d{3}|\([^)]*\)) \d+ms attempt \d+")


def test_verbose_plan_traces_each_request_without_credentials(
    tenant: Tenant, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONER_TOKEN_CACHE", "off")  # so the plan signs in (and traces that) itself
    assert cli("apply", *bot_args(tenant), "--auto-approve")[0] == 0
    tenant.reset_stats()
    code, out, err = cli("plan", *bot_args(tenant), "-v")
    assert code == 0, out + err
    stats = tenant.stats()
    trace = [line for line in err.splitlines() if TRACE_LINE.match(line)]
    api_lines = [line for line in trace if not line.startswith("POST /am/oauth2/")]
    assert len(api_lines) == stats["total"], (err, stats)  # one line per admin API request
    assert any(line.startswith("POST /am/oauth2/access_token -> 200") for line in trace)  # the sign-in
    assert any(line.startswith("GET /openidm/managed/alpha_application -> 200") for line in trace), err
    for word in (
        "Authorization",
        "authorization",
        "Bearer",
        "client_secret",
        "userpassword",
        "assertion",
        "eyJ",
    ):  # eyJ: the start of every JWT (assertions and access tokens)
        assert word not in out + err, word
    assert not any(value in out + err for value in demo_secrets().values())


def test_tokens_are_registered_for_redaction(tenant: Tenant, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The admin access token is registered with the redaction layer when it is obtained, so the
    # session-end leak check looks for it in every output and file, and it never shows in the trace.
    from provisioner import redact

    monkeypatch.setenv("PROVISIONER_TOKEN_CACHE", "off")
    before = set(redact.registered())
    code, out, err = cli("plan", *bot_args(tenant), "-v")
    assert code == 0, out + err
    tokens = [v for v in set(redact.registered()) - before if v.startswith("eyJ")]
    assert tokens, "the access token was not registered with the redaction layer"
    assert not any(token in out + err for token in tokens)
