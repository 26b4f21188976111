"""The manifest's per-kind semantic rules and agent policies come from the kind declarations."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from provisioner import kinds
from provisioner.kinds import aiagent, application, provider
from provisioner.manifest import load, policy, rules

AGENT = """apiVersion: provisioner/v1
kind: AIAgent
metadata: {name: bot, realm: alpha}
spec:
  scopes: [fr:idm:*]
  grantTypes: [token_exchange]
  applications:
    - application: api
      permissions: [read]
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "agent.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_kinds_declare_their_rules() -> None:
    assert application.unique_names in application.SPEC.rules
    assert set(aiagent.SPEC.rules) == {aiagent.privilege_rules, aiagent.admin_scopes}
    assert provider.grant_rules in provider.SPEC.rules
    assert [s.name for s in kinds.REGISTRY if s.agent_policies] == [aiagent.KIND]


def test_agent_rules_run_from_the_declaration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _write(tmp_path, AGENT)
    found = {d.message for d in load([str(folder)]).diagnostics}
    assert any("platform administration scope" in m for m in found)
    assert any("application 'api' is not declared" in m for m in found)

    # Without the agent kind's declared rules, the manifest checks say nothing of them.
    bare = tuple(dataclasses.replace(s, rules=()) if s.name == aiagent.KIND else s for s in kinds.REGISTRY)
    monkeypatch.setattr(rules, "REGISTRY", bare)
    found = {d.message for d in load([str(folder)]).diagnostics}
    assert not any("platform administration scope" in m or "is not declared" in m for m in found)


def test_agent_policies_follow_the_capability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resources = list(load([str(_write(tmp_path, AGENT))]).stack.resources)
    assert [r.name for r, _, _ in policy.require_agent_owners(resources, True)] == ["bot"]
    monkeypatch.setattr(policy, "_AGENTS", frozenset())
    assert list(policy.require_agent_owners(resources, True)) == []


def test_snapshot_reads_are_the_kinds_declared_reads() -> None:
    from provisioner.kinds.snapshot import ReadScope, build_realm, read_realm_tasks

    class Client:  # the reads are only listed here, never called
        idm = None

        def am(self, realm: str) -> None:
            return None

    declared = [read.name for spec in kinds.REGISTRY for read in spec.reads]
    assert declared == ["provider", "clients", "apps", "agents", "identities", "privileges"]
    assert list(read_realm_tasks(Client(), ReadScope("alpha"))) == declared
    assert list(read_realm_tasks(Client(), ReadScope("alpha", frozenset({"u"}), frozenset({"g"})))) == [
        *declared,
        "users",
        "groups",
    ]
    realm = build_realm(
        "alpha",
        {
            "provider": ({"aiAgentsConfig": {"aiAgentsEnabled": False}}, "7"),
            "clients": [{"_id": "c"}],
            "agents": [],
            "identities": [],
            "apps": [{"_id": "2", "ssoEntities": {"oidcId": "c"}}, {"_id": "1", "ssoEntities": {"oidcId": "c"}}],
        },
    )
    assert (realm.provider_rev, list(realm.clients), realm.apps["c"]["_id"]) == ("7", ["c"], "1")
    assert realm.ai_agents_enabled is False
    assert build_realm("alpha", {"agents": [], "identities": []}).ai_agents_enabled is True
