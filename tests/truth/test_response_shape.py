"""Item 7: a 200 that is not what the API returns is an error naming the request, never data."""

from __future__ import annotations

import pytest

from tests.core.conftest import bot_args
from tests.truth.conftest import Tenant, faults

AGENTS = r"/realm-config/agents/AIAgent$"
CLIENTS = r"/realm-config/agents/OAuth2Client\?"
APPS = r"/openidm/managed/alpha_application\?"


@pytest.mark.parametrize(
    "rule, needle",
    [
        (
            {"path": AGENTS.rstrip("$") + r"\?", "raw": '{"result": [{"_id": "bot-traffic-analyzer-agent", "core'},
            "not JSON",
        ),
        ({"path": CLIENTS, "raw": "<html><body>502 Bad Gateway</body></html>"}, "not JSON"),
        ({"path": CLIENTS, "body": []}, "a JSON array"),
        ({"path": CLIENTS, "body": {}}, "no 'result' array"),
        ({"path": CLIENTS, "body": {"result": None}}, "'result': null"),
        ({"path": APPS, "body": {"result": None}}, "'result': null"),
        ({"path": APPS, "body": {"result": ["x"]}}, "result[0] that is not an object"),
    ],
)
def test_malformed_200_is_an_error_naming_the_request(tenant: Tenant, cli, rule: dict, needle: str) -> None:
    faults(tenant, {**rule, "method": "GET", "action": "respond"})
    code, out, err = cli("plan", *bot_args(tenant), "--stack", "bot")
    assert code == 1, out + err
    assert "Internal error" not in err and "Traceback" not in err
    assert needle in err
    assert "GET /" in err and "answered 200" in err
    assert "Plan:" not in out and "No changes" not in out  # never planned as an empty tenant


def test_malformed_write_echo_is_reported_not_crashed(tenant: Tenant, cli) -> None:
    faults(
        tenant,
        {
            "path": r"/openidm/managed/alpha_application/",
            "method": "PUT",
            "action": "respond",
            "handle": True,
            "raw": '{"_id": "trunc',
        },
    )
    code, out, err = cli("apply", *bot_args(tenant), "--stack", "bot", "--auto-approve")
    assert code == 1, out + err
    assert "Internal error" not in out + err
    assert "PUT /openidm/managed/alpha_application/" in out + err and "not JSON" in out + err
