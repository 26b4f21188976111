"""Synthetic stacks of a given size: N applications, N AI agents with 2 privileges each, one provider.

The desired state is built once as plain records (:class:`BenchModel`); the YAML writer and the naive
baseline both read those records, so the two always describe the same tenant.

Shape for size N (all in realm ``alpha``):

* ``OAuth2Provider`` ensuring ``client_credentials`` + ``token_exchange``;
* N ``Application`` (template ``service``, 2 or 3 scopes, one owner by ``userName``);
* N ``AIAgent`` (client credentials + token exchange, provider overrides on), agent *i* holding
  privileges on applications *i* and *i+1 mod N* (2N privileges); every third agent's second privilege
  also names a subject group.

With ``secret_env`` every application and agent gets ``clientSecret: {fromEnv: NAME}``: one name for
all, or (the benchmark's default) one variable per client, so every client has its own secret.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REALM = "alpha"
API_VERSION = "provisioner/v1"
DOCS_PER_FILE = 100  # several documents per file keeps the file count low at N=2,500
USER_PASSWORD = "Bench-Passw0rd!"
# Deterministic ids for the privileges the naive baseline writes (reference §7.2: UUIDv5 per pair).
PRIVILEGE_NAMESPACE = uuid.UUID("6f1c2a52-7c55-4d0e-9a49-0c5b1b0f7a11")


@dataclass(frozen=True)
class AppSpec:
    client_id: str
    display_name: str
    description: str
    scopes: tuple[str, ...]
    owner: str  # userName


@dataclass(frozen=True)
class PrivilegeSpec:
    agent: str  # agent client id
    application: str  # application client id
    description: str
    permissions: tuple[str, ...]
    subject_groups: tuple[str, ...] = ()

    @property
    def naive_id(self) -> str:
        return str(uuid.uuid5(PRIVILEGE_NAMESPACE, f"{self.agent}|{self.application}"))


@dataclass(frozen=True)
class AgentSpec:
    client_id: str
    display_name: str
    description: str
    scopes: tuple[str, ...]
    privileges: tuple[PrivilegeSpec, ...]


@dataclass(frozen=True)
class BenchModel:
    """The desired state of one benchmark stack, plus the users and groups to seed."""

    size: int
    apps: tuple[AppSpec, ...]
    agents: tuple[AgentSpec, ...]
    users: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = field(hash=False)
    provider_grants: tuple[str, ...] = ("client_credentials", "token_exchange")

    @property
    def privileges(self) -> tuple[PrivilegeSpec, ...]:
        return tuple(p for a in self.agents for p in a.privileges)

    def without_agents(self, drop: set[str]) -> BenchModel:
        """The same model with some agents (and so their privileges) removed: the prune scenario."""
        return BenchModel(
            self.size,
            self.apps,
            tuple(a for a in self.agents if a.client_id not in drop),
            self.users,
            self.groups,
            self.provider_grants,
        )

    def counts(self) -> dict[str, int]:
        return {
            "applications": len(self.apps),
            "agents": len(self.agents),
            "privileges": len(self.privileges),
            "providers": 1,
            "objects": len(self.apps) + len(self.agents) + len(self.privileges) + 1,
        }

    def seed_payload(self) -> dict[str, Any]:
        """Body for ``POST /_emulator/seed``."""
        return {
            "realm": REALM,
            "users": [{"userName": u, "password": USER_PASSWORD} for u in self.users],
            "groups": [{"_id": g, "members": list(m)} for g, m in sorted(self.groups.items())],
        }


def build_model(size: int) -> BenchModel:
    """The desired state for size N (N >= 2, so that an agent's two privileges name different apps)."""
    if size < 2:
        raise ValueError("the benchmark needs N >= 2")
    width = max(4, len(str(size)))
    n_users = max(3, math.ceil(size / 10))
    n_groups = max(2, math.ceil(size / 50))
    users = tuple(f"bench-user-{i:0{width}d}" for i in range(n_users))
    groups = {
        f"bench-group-{g:0{width}d}": tuple(users[(g * 3 + k) % n_users] for k in range(3)) for g in range(n_groups)
    }
    group_ids = sorted(groups)

    apps = []
    for i in range(size):
        base = f"svc{i}"
        scopes = (f"{base}-read", f"{base}-write") + ((f"{base}-admin",) if i % 3 == 0 else ())
        apps.append(
            AppSpec(
                client_id=f"bench-app-{i:0{width}d}",
                display_name=f"Bench App {i}",
                description=f"Benchmark application {i}",
                scopes=scopes,
                owner=users[i % n_users],
            )
        )
    agents = []
    for i in range(size):
        cid = f"bench-agent-{i:0{width}d}"
        first, second = apps[i], apps[(i + 1) % size]
        privileges = (
            PrivilegeSpec(cid, first.client_id, f"{cid} on {first.client_id}", first.scopes[:1]),
            PrivilegeSpec(
                cid,
                second.client_id,
                f"{cid} on {second.client_id}",
                second.scopes[:2],
                subject_groups=(group_ids[i % n_groups],) if i % 3 == 0 else (),
            ),
        )
        agents.append(
            AgentSpec(
                client_id=cid,
                display_name=f"Bench Agent {i}",
                description=f"Benchmark agent {i}",
                scopes=(f"agent{i}-monitor",),
                privileges=privileges,
            )
        )
    return BenchModel(size, tuple(apps), tuple(agents), users, groups)


# --- YAML -------------------------------------------------------------------------------------------


def provider_doc(model: BenchModel) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "OAuth2Provider",
        "metadata": {"realm": REALM},
        "spec": {"grantTypes": {"ensure": list(model.provider_grants)}},
    }


def _secret_name(secret_env: Any, client_id: str) -> str | None:
    """The environment variable holding ``client_id``'s secret: one name for all, or one per client."""
    return secret_env(client_id) if callable(secret_env) else secret_env


def app_doc(app: AppSpec, secret_env: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "displayName": app.display_name,
        "description": app.description,
        "template": "service",
        "owners": [{"userName": app.owner}],
        "scopes": list(app.scopes),
    }
    if secret_env:
        spec["clientSecret"] = {"fromEnv": _secret_name(secret_env, app.client_id)}
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {"name": app.client_id, "realm": REALM},
        "spec": spec,
    }


def agent_doc(agent: AgentSpec, secret_env: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "displayName": agent.display_name,
        "description": agent.description,
        "scopes": list(agent.scopes),
        "grantTypes": ["client_credentials", "token_exchange"],
        "tokenEndpointAuthMethod": "client_secret_post",
        "providerOverrides": {"enabled": True, "clientSideTokens": True, "acceptAudienceInTokenExchange": True},
        "applications": [
            {
                "application": p.application,
                "description": p.description,
                "subjects": [],
                "subjectGroups": list(p.subject_groups),
                "permissions": list(p.permissions),
            }
            for p in agent.privileges
        ],
    }
    if secret_env:
        spec["clientSecret"] = {"fromEnv": _secret_name(secret_env, agent.client_id)}
    return {
        "apiVersion": API_VERSION,
        "kind": "AIAgent",
        "metadata": {"name": agent.client_id, "realm": REALM},
        "spec": spec,
    }


def _write_docs(path: Path, docs: list[dict[str, Any]]) -> None:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False, width=120), encoding="utf-8")


def write_stack(model: BenchModel, directory: Path, *, secret_env: Any = None) -> list[Path]:
    """Write the model's manifests into ``directory`` (replacing earlier ``*.yaml`` files); return them.

    ``secret_env``: None (no secrets), one variable name for every client, or a function from client
    id to variable name (a distinct secret per client, as real stacks have).

    The stack's identity is declared in ``provisioner.yaml`` (``stack: bench``), so that prune sees the
    removed agents as objects of the same stack.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    (directory / "provisioner.yaml").write_text("stack: bench\n", encoding="utf-8")
    files = [directory / "provider.yaml"]
    _write_docs(files[0], [provider_doc(model)])
    for kind, items, render in (("applications", model.apps, app_doc), ("agents", model.agents, agent_doc)):
        for start in range(0, len(items), DOCS_PER_FILE):
            path = directory / f"{kind}-{start // DOCS_PER_FILE:03d}.yaml"
            _write_docs(path, [render(x, secret_env) for x in items[start : start + DOCS_PER_FILE]])
            files.append(path)
    return files


def prune_victims(model: BenchModel, fraction: float = 0.10) -> set[str]:
    """Every tenth agent (at least one): the agents the prune scenario removes from the manifests."""
    count = max(1, math.ceil(len(model.agents) * fraction))
    step = max(1, len(model.agents) // count)
    return {model.agents[i].client_id for i in range(0, len(model.agents), step)[:count]}
