"""Replay the recorded exchanges with real tenants against the emulator (see ``replay.py``).

Every recording must match on status and on body keys at every depth. The only tolerated
differences are in ``VERSION_SKEW`` below: fields that today's tenant has and a 2023 recording lacks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.emulator import EmulatorServer

from .replay import infer_seeds, load_har, replay

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "recordings"

# (recording file glob, JSON path glob, problem, reason). Version skew only: a field or item that
# today's tenant returns and an older (2023) tenant did not. Nothing from a 2026 recording belongs here.
_EXPORT = "OAuth2ClientOps_*exportOAuth2Client*"
VERSION_SKEW: tuple[tuple[str, str, str, str], ...] = (
    (_EXPORT, "aiAgentsConfig", "extra", "the provider's AI agents section arrived with AI agents (2026)"),
    (_EXPORT, "advancedOIDCConfig.minMaxAge", "extra", "provider setting added after 2023"),
    (_EXPORT, "advancedOIDCConfig.jwtSigningKidHeaderMappings", "extra", "provider setting added after 2023"),
    (
        _EXPORT,
        "advancedOAuth2Config.includeClientIdClaimInStatelessTokens",
        "extra",
        "provider setting added after 2023",
    ),
    (
        _EXPORT,
        "advancedOAuth2Config.acceptAudienceParametersInTokenExchangeRequests",
        "extra",
        "token-exchange audience switch added for AI agents (2026)",
    ),
    (_EXPORT, "advancedOAuth2Config.enableApplicationContext", "extra", "provider setting added after 2023"),
    (
        _EXPORT,
        "clientDynamicRegistrationConfig.dynamicClientRegistrationScript",
        "extra",
        "DCR script hook added after 2023",
    ),
    (
        _EXPORT,
        "deviceCodeConfig.realmAllowUnauthorisedAccessToUserCodeForm",
        "extra",
        "device-flow setting added after 2023",
    ),
    *(
        (created, path, "extra", reason)
        for created in ("OAuth2ClientOps_*putOAuth2Client_*", "OAuth2ClientOps_*importOAuth2Client_*")
        for path, reason in (
            ("overrideOAuth2ClientConfig.enableApplicationContext", "client override added after 2023"),
            (
                "overrideOAuth2ClientConfig.acceptAudienceParametersInTokenExchangeRequests",
                "token-exchange audience override added for AI agents (2026)",
            ),
            (
                "advancedOAuth2ClientConfig.allowedResourceServerAudienceValues",
                "client default added after 2023 (§4.2)",
            ),
            ("advancedOAuth2ClientConfig.acceptedJwtIssuers", "client default added after 2023 (§4.2)"),
            ("advancedOAuth2ClientConfig.introspectionPolicySets", "client default added after 2023 (§4.2)"),
            ("advancedOAuth2ClientConfig.treeName", "client default added after 2023 (§4.2)"),
            ("coreOAuth2ClientConfig.secretLabelIdentifier", "ESV-mapped client secret labels arrived after 2023"),
        )
    ),
    (
        "OAuth2ClientOps_*putOAuth2Client_*",
        "overrideOAuth2ClientConfig.useForceAuthnForMaxAge",
        "extra",
        "client override added after 2023-04 (the 2023-09 import already has it)",
    ),
    (
        "ServiceAccountOps_*",
        "result[[]_id=aiagent[]]",
        "extra item",
        "the AI agents feature did not exist on 2023 tenants",
    ),
)


def recordings() -> list[Path]:
    if not RECORDINGS.is_dir():
        return []
    return sorted(RECORDINGS.glob("*.har"))


needs_recordings = pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason=f"no recordings folder at {RECORDINGS} (the shared reference is not checked out)"
)


@pytest.fixture(scope="module")
def replay_server():
    with EmulatorServer() as running:
        yield running


def _exchange(method: str, url: str, status: int, body: object, sent: object = None) -> dict[str, object]:
    request: dict[str, object] = {"method": method, "url": "https://tenant.example" + url, "headers": []}
    if sent is not None:
        request["postData"] = {"mimeType": "application/json", "text": json.dumps(sent)}
    return {"request": request, "response": {"status": status, "content": {"text": json.dumps(body)}}}


def test_seeds_do_not_depend_on_the_order_of_parallel_reads() -> None:
    app = {"_id": "app-1", "name": "Logs API", "templateName": "service", "ssoEntities": {"oidcId": "logs"}}
    ref = {"_ref": "managed/alpha_application/app-1", "_refResourceId": "app-1"}
    privilege = {"_id": "priv-1", "resource": ref, "subjects": [{"_ref": "managed/alpha_user/u-1"}]}
    privileges = _exchange(
        "GET", "/openidm/managed/alpha_aiagentprivilege?_queryFilter=true", 200, {"result": [privilege]}
    )
    apps = _exchange("GET", "/openidm/managed/alpha_application?_queryFilter=true", 200, {"result": [app]})
    for entries in ([privileges, apps], [apps, privileges]):
        seeds = infer_seeds(entries)
        assert seeds.refs[("alpha", "application", "app-1")] == app
        assert seeds.refs[("alpha", "user", "u-1")] == {}
        assert seeds.privileges[("alpha", "priv-1")] == privilege
    created = _exchange("PUT", "/openidm/managed/alpha_application/app-1", 201, app, app)
    assert ("alpha", "application", "app-1") not in infer_seeds([created, privileges]).refs
    missing = _exchange("GET", "/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent/a1", 404, {})
    listed = _exchange(
        "GET",
        "/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent?_queryFilter=true",
        200,
        {"result": [{"_id": "a1"}, {"_id": "a2"}]},
    )
    assert set(infer_seeds([missing, listed]).agents) == {("alpha", "AIAgent", "a2")}


@needs_recordings
def test_the_recordings_are_there_and_are_har() -> None:
    files = recordings()
    assert len(files) >= 19
    for path in files:
        entries = load_har(path)["log"]["entries"]
        assert entries, path.name


@needs_recordings
@pytest.mark.parametrize("har", recordings(), ids=lambda p: p.name.split("__")[0] + "/" + p.name[-24:-4])
def test_recording_replays_key_for_key(har: Path, replay_server: EmulatorServer) -> None:
    result = replay(har, replay_server.url, replay_server.service_account, VERSION_SKEW)
    assert result.exchanges > 0
    assert not result.differences, "\n".join(str(d) for d in result.differences)


@needs_recordings
def test_the_allow_list_is_version_skew_from_2023_only_and_every_entry_is_used(replay_server: EmulatorServer) -> None:
    from fnmatch import fnmatchcase

    from .replay import replay as run

    dated = {path.name: load_har(path)["log"]["entries"][0]["startedDateTime"] for path in recordings()}
    used: set[int] = set()
    for index, (file_glob, _path_glob, problem, reason) in enumerate(VERSION_SKEW):
        matching = [name for name in dated if fnmatchcase(name, file_glob)]
        assert matching, f"allow-list entry {index} names no recording"
        assert all(dated[name] < "2024" for name in matching), f"entry {index} covers a recent recording"
        assert problem in ("extra", "extra item"), "only fields the older tenant lacked are version skew"
        assert reason and "\n" not in reason
    # without the allow-list, each entry must account for at least one real difference
    for name in sorted({n for f, _, _, _ in VERSION_SKEW for n in dated if fnmatchcase(n, f)}):
        for diff in run(RECORDINGS / name, replay_server.url, replay_server.service_account).differences:
            for index, (file_glob, path_glob, problem, _) in enumerate(VERSION_SKEW):
                if fnmatchcase(name, file_glob) and fnmatchcase(diff.path, path_glob) and diff.problem == problem:
                    used.add(index)
    assert used == set(range(len(VERSION_SKEW))), f"stale allow-list entries: {set(range(len(VERSION_SKEW))) - used}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "given_har" in metafunc.fixturenames:
        files = [Path(name) for name in metafunc.config.getoption("--har")]
        params = [pytest.param(p, id=p.name) for p in files] or [
            pytest.param(None, id="none", marks=pytest.mark.skip(reason="no --har FILE.har given to replay"))
        ]
        metafunc.parametrize("given_har", params)


def test_given_har_replays_key_for_key(given_har: Path, replay_server: EmulatorServer) -> None:
    """``pytest tests/emulator/test_replay.py --har FILE.har``: a recording of your own, key for key."""
    result = replay(given_har, replay_server.url, replay_server.service_account, VERSION_SKEW)
    assert not result.differences, "\n".join(str(d) for d in result.differences)
