"""Item 9: a whole-object replace is never built from an incomplete read.

The path: an AM update is read-modify-write of the object's *list* representation, read once per
level (or taken from the run's own snapshot); its ``_rev`` is all the staleness check compares. A
list answer whose item lacks fields (a partial or malformed read) but carries the unchanged ``_rev``
passed that check, and the body built from it held only what the read held: the PUT replaced the
agent with its managed fields alone (groups, clientType, status, responseTypes and the stack marker
gone), after which plan said "No changes" and prune could not see it. The fault is injected exactly
there: the apply's list read of AIAgent answers with the stripped item.
"""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.support import admin_token
from tests.truth.conftest import DEMO_ENV, Tenant, faults

AGENT = "bot-traffic-analyzer-agent"
LIST = "/am/json/realms/root/realms/alpha/realm-config/agents/AIAgent"
HEADERS = {"Accept-API-Version": "protocol=2.1,resource=2.0"}


def _agent_list(tenant: Tenant) -> dict:
    token = admin_token(tenant.url, tenant.server.service_account)
    response = requests.get(
        tenant.url + LIST,
        params={"_queryFilter": "true"},
        headers={**HEADERS, "Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _stripped(item: dict) -> dict:
    """The item with only what a manifest manages (and its unchanged ``_rev``): an incomplete read."""
    core, advanced = item["coreOAuth2ClientConfig"], item["advancedOAuth2ClientConfig"]
    return {
        "_id": item["_id"],
        "_rev": item["_rev"],
        "coreOAuth2ClientConfig": {k: core[k] for k in ("scopes", "accessTokenLifetime")},
        "advancedOAuth2ClientConfig": {k: advanced[k] for k in ("grantTypes", "tokenEndpointAuthMethod")},
        "overrideOAuth2ClientConfig": item["overrideOAuth2ClientConfig"],
    }


def test_update_built_from_an_incomplete_read_is_refused(tenant: Tenant, cli, bot_copy: Path, tmp_path: Path) -> None:
    base = ["--tenant", tenant.url, "--env-file", str(DEMO_ENV)]
    assert cli("apply", str(bot_copy), *base, "--auto-approve")[0] == 0
    agent = bot_copy / "agent.yaml"
    agent.write_text(agent.read_text().replace("scopes: [monitor-system]", "scopes: [monitor-system, alerts]"))
    plan_file = tmp_path / "p.json"
    assert cli("plan", str(bot_copy), *base, "--out", str(plan_file))[0] == 0

    listing = _agent_list(tenant)
    before = next(i for i in listing["result"] if i["_id"] == AGENT)
    partial = {**listing, "result": [_stripped(i) if i["_id"] == AGENT else i for i in listing["result"]]}
    faults(
        tenant,
        {"path": r"/realm-config/agents/AIAgent\?", "method": "GET", "action": "respond", "body": partial, "count": 1},
    )
    code, out, err = cli("apply", str(bot_copy), *base, "--plan", str(plan_file), "--auto-approve")
    fired = requests.get(tenant.url + "/_emulator/faults", timeout=10).json()["rules"][0]["fired"]
    faults(tenant)
    assert fired == 1  # the apply's own read got the incomplete answer
    assert code == 1, out + err
    assert f"refusing to replace AIAgent alpha/{AGENT}: the document built for the PUT lacks fields" in out + err
    assert "coreOpenIDClientConfig, coreUmaClientConfig, signEncOAuth2ClientConfig" in out + err

    after = next(i for i in _agent_list(tenant)["result"] if i["_id"] == AGENT)
    assert after == before  # nothing lost: the object was not written at all
    # Run again (the hint): a complete read, the update goes through, every field kept.
    code, out, err = cli("apply", str(bot_copy), *base, "--auto-approve")
    assert code == 0, out + err
    final = next(i for i in _agent_list(tenant)["result"] if i["_id"] == AGENT)
    assert final["coreOAuth2ClientConfig"]["scopes"] == ["monitor-system", "alerts"]
    for group, values in before.items():
        if isinstance(values, dict):  # no managed object lost a field (list-only null keys are not fields)
            assert {k for k, v in values.items() if v is not None} <= set(final[group]), group
    assert "provisioner.stack=bot-traffic-analyzer" in json.dumps(final)
