"""Table-driven: every malformed manifest in corpus/ gives exactly the expected diagnostics.

Each case has one defect. The real CLI runs (``provisioner.cli.main``) from inside corpus/, so file
names in messages are as the user typed them. Cases about secrets resolve them; the others pass
--skip-secrets so that only their own defect shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.cli import main

CORPUS = Path(__file__).parent / "corpus"
SKIP = ["--skip-secrets"]
STRICT = ["--skip-secrets", "--strict"]

CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "yaml-syntax-error.yaml",
        SKIP,
        [
            "yaml-syntax-error.yaml:9:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence)"
        ],
    ),
    (
        "unknown-kind.yaml",
        SKIP,
        [
            "unknown-kind.yaml:2:7: kind: unknown kind 'Agent' (did you mean 'AIAgent'?); expected one of: "
            "OAuth2Provider, Application, AIAgent"
        ],
    ),
    (
        "unknown-field.yaml",
        SKIP,
        ["unknown-field.yaml:8:3: spec.scope: unknown field 'scope' (did you mean 'scopes'?)"],
    ),
    ("wrong-type.yaml", SKIP, ["wrong-type.yaml:8:11: spec.scopes: expected a list of strings, got a string"]),
    (
        "dangling-application.yaml",
        SKIP,
        [
            "dangling-application.yaml:10:20: spec.applications[0].application: application 'logs-api' is not "
            "declared in these manifests; declare it, or set 'existing: true' if it already exists in the tenant"
        ],
    ),
    (
        "privilege-in-other-realm.yaml",
        SKIP,
        [
            "privilege-in-other-realm.yaml:20:20: spec.applications[0].application: application 'logs-api' is "
            "not declared in these manifests in realm 'alpha' (it is declared in realm 'bravo')"
        ],
    ),
    (
        "permission-outside-scopes.yaml",
        SKIP,
        [
            "permission-outside-scopes.yaml:20:32: spec.applications[0].permissions[1]: permission 'logs-delete' "
            "is not a scope of application 'logs-api' (its scopes: logs-read, logs-search)"
        ],
    ),
    (
        "undefined-variable.yaml",
        SKIP,
        [
            "undefined-variable.yaml:6:28: undefined template variable 'suffix' (no --env given: variables come "
            "from environments/NAME.yaml)"
        ],
    ),
    (
        "template-syntax-error.yaml",
        SKIP,
        [
            "template-syntax-error.yaml:7:1: template syntax error: expected token 'end of print statement', "
            "got 'template'"
        ],
    ),
    (
        "missing-secret.yaml",
        [],
        [
            "missing-secret.yaml:9:17: spec.clientSecret: secret {fromEnv: CORPUS_MISSING_SECRET} is not set: "
            "define CORPUS_MISSING_SECRET in the environment (or pass --env-file FILE)"
        ],
    ),
    (
        "missing-secret-file.yaml",
        [],
        [
            "missing-secret-file.yaml:9:17: spec.clientSecret: secret {fromFile: no-such-secret.txt}: file "
            "no-such-secret.txt does not exist"
        ],
    ),
    (
        "literal-secret.yaml",
        SKIP,
        [
            "literal-secret.yaml:9:17: spec.clientSecret: a literal secret is not allowed; use {fromEnv: NAME} "
            "or {fromFile: PATH}"
        ],
    ),
    (
        "secret-both-sources.yaml",
        SKIP,
        ["secret-both-sources.yaml:9:17: spec.clientSecret: expected exactly one of 'fromEnv' or 'fromFile'"],
    ),
    (
        "duplicate-client-id",
        SKIP,
        [
            "duplicate-client-id/one.yaml:4:9: metadata.name: duplicate client ID 'logs-api' in realm 'alpha' "
            "(also declared as AIAgent at duplicate-client-id/two.yaml:4:9)",
            "duplicate-client-id/two.yaml:4:9: metadata.name: duplicate client ID 'logs-api' in realm 'alpha' "
            "(also declared as Application at duplicate-client-id/one.yaml:4:9)",
        ],
    ),
    (
        "duplicate-provider",
        SKIP,
        [
            "duplicate-provider/a.yaml:3:19: metadata.realm: duplicate OAuth2Provider for realm 'alpha' "
            "(also declared at duplicate-provider/b.yaml:3:19)",
            "duplicate-provider/b.yaml:3:19: metadata.realm: duplicate OAuth2Provider for realm 'alpha' "
            "(also declared at duplicate-provider/a.yaml:3:19)",
        ],
    ),
    (
        "duplicate-mapping-key.yaml",
        SKIP,
        ["duplicate-mapping-key.yaml:9:3: spec.template: duplicate key 'template' (first defined on line 7)"],
    ),
    (
        "bad-client-id-chars.yaml",
        SKIP,
        [
            "bad-client-id-chars.yaml:4:9: metadata.name: client ID 'logs.api' contains '.'; client IDs may only "
            "use A-Z, a-z, 0-9, '-' and '_'"
        ],
    ),
    (
        "lookalike-client-id.yaml",
        SKIP,
        [
            "lookalike-client-id.yaml:4:9: metadata.name: client ID 'l\\u043egs-api' contains the non-ASCII "
            "character U+043E (CYRILLIC SMALL LETTER O); client IDs may only use A-Z, a-z, 0-9, '-' and '_'"
        ],
    ),
    (
        "override-without-enabled.yaml",
        SKIP,
        [
            "override-without-enabled.yaml:17:41: spec.providerOverrides.clientSideTokens: has no effect unless "
            "providerOverrides.enabled is true",
            "override-without-enabled.yaml:17:78: spec.providerOverrides.acceptAudienceInTokenExchange: has no "
            "effect unless providerOverrides.enabled is true",
        ],
    ),
    (
        "exact-provider-without-token-exchange.yaml",
        SKIP,
        [
            "exact-provider-without-token-exchange.yaml:22:36: spec.grantTypes[1]: grant type 'token_exchange' is "
            "not allowed in realm 'alpha': the OAuth2Provider at exact-provider-without-token-exchange.yaml:1:1 "
            "sets grantTypes.exact without it"
        ],
    ),
    (
        "duplicate-privilege-application.yaml",
        SKIP,
        [
            "duplicate-privilege-application.yaml:21:20: spec.applications[1].application: application "
            "'logs-api' is listed twice in this agent's applications (first on line 19)"
        ],
    ),
    (
        "bad-grant-type.yaml",
        SKIP,
        [
            "bad-grant-type.yaml:15:36: spec.grantTypes[1]: unknown grant type 'token-exchange' (did you mean "
            "'token_exchange'?)"
        ],
    ),
    (
        "duplicate-grant-alias.yaml",
        SKIP,
        [
            "duplicate-grant-alias.yaml:9:32: spec.grantTypes[1]: grant type 'token_exchange' is listed twice "
            "(as an alias and as its URN)"
        ],
    ),
    (
        "missing-api-version.yaml",
        SKIP,
        ["missing-api-version.yaml:1:1: missing required field 'apiVersion' (provisioner/v1)"],
    ),
    (
        "wrong-api-version.yaml",
        SKIP,
        ["wrong-api-version.yaml:1:13: apiVersion: must be 'provisioner/v1', got 'provisioner/v2'"],
    ),
    ("missing-metadata-name.yaml", SKIP, ["missing-metadata-name.yaml:4:3: metadata: missing required field 'name'"]),
    (
        "not-a-mapping.yaml",
        SKIP,
        [
            "not-a-mapping.yaml:1:1: a manifest document must be a mapping with apiVersion, kind, metadata and "
            "spec; got a list"
        ],
    ),
    ("alias-bomb.yaml", SKIP, ["alias-bomb.yaml:5:32: document expands to more than 20000 nodes (too many aliases?)"]),
    ("too-deep.yaml", SKIP, ["too-deep.yaml:5:47: nesting is deeper than 32 levels"]),
    (
        "binary-file.yaml",
        SKIP,
        ["binary-file.yaml:2:14: binary manifest file: contains a NUL byte; manifests are UTF-8 text"],
    ),
    ("not-utf8.yaml", SKIP, ["not-utf8.yaml:6:28: manifest file is not valid UTF-8 (byte 0xe9)"]),
    (
        "control-character.yaml",
        SKIP,
        ["control-character.yaml:6:20: invalid character U+0007: control characters are not allowed"],
    ),
    (
        "merge-key.yaml",
        SKIP,
        ["merge-key.yaml:7:3: spec: YAML merge keys ('<<') are not supported; write the fields out"],
    ),
    (
        "unsupported-tag.yaml",
        SKIP,
        ["unsupported-tag.yaml:6:16: spec.displayName: unsupported YAML tag '!!python/object:os.system'"],
    ),
    (
        "bad-scope.yaml",
        SKIP,
        [
            "bad-scope.yaml:8:23: spec.scopes[1]: invalid scope 'logs search': scopes are printable ASCII "
            "without spaces, '\"' or '\\'"
        ],
    ),
    ("scopes-not-unique.yaml", SKIP, ["scopes-not-unique.yaml:8:23: spec.scopes[1]: duplicate entry 'logs-read'"]),
    ("bad-enum.yaml", SKIP, ["bad-enum.yaml:7:13: spec.template: 'servce' is not allowed (did you mean 'service'?)"]),
    (
        "negative-lifetime.yaml",
        SKIP,
        ["negative-lifetime.yaml:9:24: spec.accessTokenLifetime: must be at least 0, got -1"],
    ),
    (
        "bad-redirect-uri.yaml",
        SKIP,
        [
            "bad-redirect-uri.yaml:9:18: spec.redirectUris[0]: invalid redirect URI '/callback': expected an "
            "absolute URI such as https://app.example.com/callback"
        ],
    ),
    (
        "provider-both-modes.yaml",
        SKIP,
        ["provider-both-modes.yaml:6:5: spec.grantTypes: set exactly one of 'ensure' or 'exact'"],
    ),
    # lint rules: warnings, errors under --strict
    (
        "lint-empty-permissions.yaml",
        STRICT,
        [
            "lint-empty-permissions.yaml:19:7: spec.applications[0]: no permissions: the agent may obtain every "
            "scope of application 'logs-api'; list the scopes it needs in 'permissions'"
        ],
    ),
    (
        "lint-absent-permissions.yaml",
        STRICT,
        [
            "lint-absent-permissions.yaml:19:7: spec.applications[0]: no permissions: the agent may obtain every "
            "scope of application 'logs-api'; list the scopes it needs in 'permissions'"
        ],
    ),
    (
        "lint-password-grant.yaml",
        STRICT,
        [
            "lint-password-grant.yaml:9:16: spec.grantTypes[0]: grant type 'password' (Resource Owner Password "
            "Credentials) is deprecated by the OAuth 2.0 Security Best Current Practice; prefer "
            "authorization_code or token_exchange"
        ],
    ),
    (
        "lint-implicit-grant.yaml",
        STRICT,
        [
            "lint-implicit-grant.yaml:9:16: spec.grantTypes[0]: grant type 'implicit' is deprecated by the OAuth "
            "2.0 Security Best Current Practice; prefer authorization_code with PKCE"
        ],
    ),
    (
        "lint-fr-scope.yaml",
        STRICT,
        [
            "lint-fr-scope.yaml:15:21: spec.scopes[1]: scope 'fr:idm:*' is a platform administration scope; AI "
            "agents should not hold fr:* scopes"
        ],
    ),
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_the_corpus_is_covered_by_the_table() -> None:
    on_disk = sorted(p.name for p in CORPUS.iterdir())
    assert on_disk == sorted(name for name, _, _ in CASES)
    assert len(CASES) >= 30


@pytest.mark.parametrize(("case", "options", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_defect_is_reported_exactly(
    case: str,
    options: list[str],
    expected: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CORPUS)
    code, lines, err = run(capsys, case, *options)
    assert code == 1
    assert err == ""
    assert lines[:-1] == expected
    assert "invalid" in lines[-1]


@pytest.mark.parametrize("case", [c[0] for c in CASES if c[0].startswith("lint-")])
def test_lint_rules_are_warnings_without_strict(
    case: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CORPUS)
    code, lines, _ = run(capsys, case, "--skip-secrets")
    assert code == 0
    assert len(lines) == 2 and ": warning: " in lines[0]
    assert lines[-1].endswith("valid (1 warning)")


def test_a_file_with_three_defects_reports_all_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "three.yaml").write_text(
        "apiVersion: provisioner/v1\n"
        "kind: AIAgent\n"
        "metadata: {name: my.agent}\n"
        "spec:\n"
        "  scope: [a]\n"
        "  applications:\n"
        "    - application: nowhere\n"
        "      permissions: [a]\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    code, lines, _ = run(capsys, "three.yaml", "--skip-secrets")
    assert code == 1
    assert lines == [
        "three.yaml:3:18: metadata.name: client ID 'my.agent' contains '.'; client IDs may only use A-Z, "
        "a-z, 0-9, '-' and '_'",
        "three.yaml:5:3: spec.scope: unknown field 'scope' (did you mean 'scopes'?)",
        "three.yaml:7:20: spec.applications[0].application: application 'nowhere' is not declared in these "
        "manifests; declare it, or set 'existing: true' if it already exists in the tenant",
        "1 resource in 1 file: invalid: 3 errors",
    ]
