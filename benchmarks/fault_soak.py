"""Fault soak: random stacks applied against the emulator under random fault injection, many times.

    python benchmarks/fault_soak.py --iterations 200 --fault-rate 0.25 --seed 1

Each iteration generates a random stack (1-4 applications with random scopes, 1-4 agents with
privileges over a subset of those applications), applies it with faults on until an apply succeeds,
then applies a modified version of it (after setting unmanaged fields by raw REST) the same way, and
checks, with faults off: the plan is empty, there are no duplicate objects or privileges, and the
unmanaged fields survived. It prints: runs, requests and faults injected (from the emulator's fault
counters and stats), the histogram of attempts needed, and failures (which must be 0).

The same functions drive ``tests/reliability/test_fault_convergence.py`` (few examples, seeded).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from provisioner import api  # noqa: E402
from provisioner.client.retry import RetryPolicy  # noqa: E402
from provisioner.errors import ProvisionerError  # noqa: E402

REALM = "alpha"
APP_SCOPES = ("read", "write", "search", "admin", "audit", "export")
AGENT_SCOPES = ("monitor", "act", "plan", "report")
#: The emulated admin API (AM config and IDM); token endpoints stay clean (a token POST is never retried).
API_PATHS = r"^/(am/json|openidm)/"
#: Faults are spread evenly over these five kinds.
FAULT_KINDS: tuple[dict[str, Any], ...] = (
    {"action": "status", "status": 500},
    {"action": "status", "status": 503},
    {"action": "status", "status": 429, "retryAfter": 0.01},
    {"action": "drop-before"},
    {"action": "drop-after"},
)
#: Short backoff for the emulator: the policy is the production one with the waits scaled down.
FAST_RETRY = RetryPolicy(max_attempts=5, base=0.005, cap=0.05, budget_seconds=60.0)
UNMANAGED_URI = "https://unmanaged.example/callback"
UNMANAGED_PROPERTY = "owner-team=reliability"


# -- stacks --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppSpec:
    name: str
    scopes: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Grant:
    application: str
    permissions: tuple[str, ...]  # empty = every scope of the application


@dataclass(frozen=True)
class AgentSpec:
    name: str
    scopes: tuple[str, ...]
    description: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class StackSpec:
    apps: tuple[AppSpec, ...]
    agents: tuple[AgentSpec, ...]

    def secret_names(self) -> list[str]:
        return [secret_env(a.name) for a in self.apps] + [secret_env(a.name) for a in self.agents]


def secret_env(name: str) -> str:
    return "SOAK_" + name.upper().replace("-", "_") + "_SECRET"


def random_stack(rng: random.Random) -> StackSpec:
    """A random stack from ``rng`` (the soak's generator; the tests draw the same shape with hypothesis)."""
    apps = tuple(
        AppSpec(
            f"soak-app-{i}", tuple(sorted(rng.sample(APP_SCOPES, rng.randint(1, 4)))), f"app {i} v{rng.randint(1, 9)}"
        )
        for i in range(rng.randint(1, 4))
    )
    agents = []
    for j in range(rng.randint(1, 4)):
        chosen = rng.sample(apps, rng.randint(1, len(apps)))
        grants = tuple(
            Grant(a.name, tuple(sorted(rng.sample(a.scopes, rng.randint(0, len(a.scopes))))))
            for a in sorted(chosen, key=lambda a: a.name)
        )
        agents.append(
            AgentSpec(
                f"soak-agent-{j}",
                tuple(sorted(rng.sample(AGENT_SCOPES, rng.randint(1, 3)))),
                f"agent {j} v{rng.randint(1, 9)}",
                grants,
            )
        )
    return StackSpec(apps, tuple(agents))


def mutate(spec: StackSpec, rng: random.Random) -> StackSpec:
    """The same objects with new scopes, descriptions and permissions (same applications per agent)."""
    apps = tuple(
        AppSpec(a.name, tuple(sorted(rng.sample(APP_SCOPES, rng.randint(1, 4)))), a.description + "'")
        for a in spec.apps
    )
    by_name = {a.name: a for a in apps}
    agents = tuple(
        AgentSpec(
            g.name,
            tuple(sorted(rng.sample(AGENT_SCOPES, rng.randint(1, 3)))),
            g.description + "'",
            tuple(
                Grant(
                    x.application,
                    tuple(
                        sorted(
                            rng.sample(
                                by_name[x.application].scopes, rng.randint(0, len(by_name[x.application].scopes))
                            )
                        )
                    ),
                )
                for x in g.grants
            ),
        )
        for g in spec.agents
    )
    return StackSpec(apps, agents)


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def manifest_text(spec: StackSpec) -> str:
    """The stack as one multi-document manifest (secrets as ``{fromEnv: ...}`` references)."""
    docs = [
        f"apiVersion: provisioner/v1\nkind: OAuth2Provider\nmetadata: {{realm: {REALM}}}\n"
        f"spec:\n  grantTypes: {{ensure: [client_credentials, token_exchange]}}\n"
    ]
    for app in spec.apps:
        docs.append(
            f"apiVersion: provisioner/v1\nkind: Application\nmetadata: {{name: {app.name}, realm: {REALM}}}\n"
            f'spec:\n  displayName: {app.name}\n  description: "{app.description}"\n  template: service\n'
            f"  clientSecret: {{fromEnv: {secret_env(app.name)}}}\n  scopes: {_list(app.scopes)}\n"
        )
    for agent in spec.agents:
        grants = "".join(
            f"    - application: {g.application}\n      permissions: {_list(g.permissions)}\n" for g in agent.grants
        )
        docs.append(
            f"apiVersion: provisioner/v1\nkind: AIAgent\nmetadata: {{name: {agent.name}, realm: {REALM}}}\n"
            f'spec:\n  displayName: {agent.name}\n  description: "{agent.description}"\n'
            f"  clientSecret: {{fromEnv: {secret_env(agent.name)}}}\n  scopes: {_list(agent.scopes)}\n"
            f"  grantTypes: [client_credentials, token_exchange]\n"
            f"  tokenEndpointAuthMethod: client_secret_post\n  applications:\n{grants}"
        )
    return "---\n".join(docs)


def write_stack(spec: StackSpec, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "provisioner.yaml").write_text("stack: soak\n", encoding="utf-8")
    path = directory / "stack.yaml"
    path.write_text(manifest_text(spec), encoding="utf-8")
    return path


def secret_values(spec: StackSpec, rng: random.Random) -> dict[str, str]:
    return {name: f"soak-{rng.getrandbits(64):016x}-secret" for name in spec.secret_names()}


# -- faults ------------------------------------------------------------------------------------------


def fault_rules(rate: float, seed: int) -> list[dict[str, Any]]:
    """Rules that fail ``rate`` of the admin API requests, spread evenly over :data:`FAULT_KINDS`.

    The emulator fires the first matching rule; rule ``i`` is reached only when the ones before it did
    not fire, so its probability is conditional: ``share / (1 - i * share)``.
    """
    share = rate / len(FAULT_KINDS)
    return [
        {"path": API_PATHS, "probability": min(1.0, share / (1 - i * share)), "seed": seed * 10 + i, **kind}
        for i, kind in enumerate(FAULT_KINDS)
    ]


class Emulator:
    """The control plane of a running emulator."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = requests.request(method, self.url + "/_emulator/" + path, timeout=10, **kw)
        response.raise_for_status()
        return response.json() if response.content else None

    def faults(self, rules: list[dict[str, Any]]) -> None:
        self._call("PUT", "faults", json=rules)

    def fired(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for rule in self._call("GET", "faults").get("rules", []):
            counts[rule["action"] if rule["action"] != "status" else str(rule.get("status"))] += rule["fired"]
        return counts

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._call("POST", "reset")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")  # type: ignore[no-any-return]


# -- the loop ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One stack's result: attempts per phase, faults fired and requests seen, problems found."""

    attempts: list[int] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def apply_until_ok(
    url: str,
    paths: Sequence[str],
    environ: Mapping[str, str],
    *,
    max_attempts: int,
    retry: RetryPolicy = FAST_RETRY,
    progress: Callable[[str], None] = lambda line: None,
    journal_dir: str | None = None,
) -> tuple[int | None, list[str]]:
    """Apply until a run succeeds: ``(attempts, errors of the failed runs)``; attempts ``None`` = gave up.

    One client for all attempts (signing in is not what is under test, and the token endpoint is not
    faulted); every attempt re-reads the tenant and re-plans, exactly like running apply again.
    """
    errors: list[str] = []
    with api.tenant(url, environ=environ, retry=retry) as opened:
        for attempt in range(1, max_attempts + 1):
            try:
                result = api.apply(list(paths), opened, environ=environ, progress=progress, journal_dir=journal_dir)
            except ProvisionerError as exc:  # reads gave up, or the plan was refused: try again
                errors.append(f"attempt {attempt}: {str(exc).splitlines()[0]}")
                continue
            if result.ok:
                return attempt, errors
            errors.append(f"attempt {attempt}: " + "; ".join(r.error for r in result.by_status("failed")))
    return None, errors


def _am_list(client: Any, kind: str) -> list[dict[str, Any]]:
    body = (
        client.request(
            "GET", f"/am/json/realms/root/realms/{REALM}/realm-config/agents/{kind}", params={"_queryFilter": "true"}
        ).body
        or {}
    )
    return list(body.get("result") or [])


def set_unmanaged(url: str, environ: Mapping[str, str], spec: StackSpec) -> None:
    """By raw REST: a redirect URI and a custom property on every application's AM client."""
    from provisioner.kinds.common import writable_client_doc

    with api.tenant(url, environ=environ) as opened:
        client = opened.client
        for doc in _am_list(client, "OAuth2Client"):
            if doc.get("_id") not in {a.name for a in spec.apps}:
                continue
            body = writable_client_doc(doc)
            body["coreOAuth2ClientConfig"]["redirectionUris"] = [UNMANAGED_URI]
            body["advancedOAuth2ClientConfig"].setdefault("customProperties", []).insert(0, UNMANAGED_PROPERTY)
            client.am(REALM).put("OAuth2Client", str(doc["_id"]), body)


def _paths(doc: Mapping[str, Any]) -> set[str]:
    return {f"{group}.{key}" for group, values in doc.items() if isinstance(values, dict) for key in values}


#: Fields every client carries from its create on (the six groups' core defaults and the stack marker).
_EXPECTED_PATHS = {
    "coreOAuth2ClientConfig.clientType",
    "coreOAuth2ClientConfig.status",
    "advancedOAuth2ClientConfig.responseTypes",
    "advancedOAuth2ClientConfig.customProperties",
    "signEncOAuth2ClientConfig.tokenEndpointAuthSigningAlgorithm",
    "coreOpenIDClientConfig.claims",
    "coreUmaClientConfig.claimsRedirectionUris",
}


def check_tenant(
    url: str, environ: Mapping[str, str], paths: Sequence[str], spec: StackSpec, unmanaged: bool
) -> list[str]:
    """Faults off: plan empty, one object per key and one privilege per (agent, app), unmanaged intact."""
    problems: list[str] = []
    with api.tenant(url, environ=environ) as opened:
        plan = api.plan(list(paths), opened, environ=environ)
        if plan.has_changes or plan.errors:
            problems.append(
                "plan not empty: " + ", ".join(f"{c.action} {c.address}" for c in plan.changes if c.action != "no-op")
            )
        client = opened.client
        clients = Counter(str(d.get("_id")) for d in _am_list(client, "OAuth2Client"))
        agents = Counter(str(d.get("_id")) for d in _am_list(client, "AIAgent"))
        records = Counter(
            str((r.get("ssoEntities") or {}).get("oidcId"))
            for r in client.idm.query(f"{REALM}_application", "true", ("_id", "ssoEntities"))
        )
        identities = Counter(
            str(r.get("oauth2ClientId"))
            for r in client.idm.query(f"{REALM}_aiagent", "true", ("_id", "oauth2ClientId"))
        )
        privileges = Counter(
            (str(p.get("agentOAuth2ClientId")), str((p.get("resourceData") or {}).get("ssoEntities", {}).get("oidcId")))
            for p in client.idm.query(
                f"{REALM}_aiagentprivilege", "true", ("_id", "agentOAuth2ClientId", "resourceData")
            )
        )
        for app in spec.apps:
            if clients[app.name] != 1 or records[app.name] != 1:
                problems.append(f"{app.name}: {clients[app.name]} AM clients, {records[app.name]} IDM apps")
        for agent in spec.agents:
            if agents[agent.name] != 1 or identities[agent.name] != 1:
                problems.append(f"{agent.name}: {agents[agent.name]} AM agents, {identities[agent.name]} identities")
            for grant in agent.grants:
                if privileges[(agent.name, grant.application)] != 1:
                    problems.append(
                        f"{agent.name}->{grant.application}: {privileges[(agent.name, grant.application)]} privileges"
                    )
        if sum(privileges.values()) != sum(len(a.grants) for a in spec.agents):
            problems.append(f"{sum(privileges.values())} privileges in total")
        # No managed object lost a field: every AM client and agent still has every group and key that a
        # fresh create gives it (a whole-object replace built from an incomplete read would drop them).
        for kind in ("OAuth2Client", "AIAgent"):
            for doc in _am_list(client, kind):
                lost = sorted(_EXPECTED_PATHS - _paths(doc))
                if lost:
                    problems.append(f"{kind} {doc.get('_id')}: lost fields {', '.join(lost[:6])}")
        if unmanaged:
            for doc in _am_list(client, "OAuth2Client"):
                if doc.get("_id") not in {a.name for a in spec.apps}:
                    continue
                uris = doc.get("coreOAuth2ClientConfig", {}).get("redirectionUris")
                props = doc.get("advancedOAuth2ClientConfig", {}).get("customProperties") or []
                if uris != [UNMANAGED_URI] or UNMANAGED_PROPERTY not in props:
                    problems.append(f"{doc.get('_id')}: unmanaged fields lost ({uris}, {props})")
    return problems


def run_stack(
    url: str,
    workdir: Path,
    spec: StackSpec,
    changed: StackSpec,
    environ: Mapping[str, str],
    *,
    fault_rate: float,
    seed: int,
    max_attempts: int,
    progress: Callable[[str], None] = lambda line: None,
    journal_dir: str | None = None,
) -> Outcome:
    """Both phases for one stack against a freshly reset emulator."""
    emulator = Emulator(url)
    emulator.reset()
    requests.patch(url + "/_emulator/config", json={"sa.sessionLimitMode": "off"}, timeout=10)
    outcome = Outcome()
    for phase, (stack, unmanaged) in enumerate(((spec, False), (changed, True))):
        paths = [str(write_stack(stack, workdir / f"phase{phase}"))]
        if unmanaged:
            set_unmanaged(url, environ, spec)
        emulator.faults(fault_rules(fault_rate, seed * 2 + phase))
        before = emulator.stats()["total"]
        attempts, errors = apply_until_ok(
            url, paths, environ, max_attempts=max_attempts, progress=progress, journal_dir=journal_dir
        )
        outcome.requests += emulator.stats()["total"] - before
        outcome.faults += emulator.fired()
        emulator.clear_faults()
        outcome.errors += errors
        if attempts is None:
            outcome.problems.append(f"phase {phase}: no successful apply in {max_attempts} attempts")
            outcome.attempts.append(max_attempts + 1)
            break
        outcome.attempts.append(attempts)
        outcome.problems += [f"phase {phase}: {p}" for p in check_tenant(url, environ, paths, stack, unmanaged)]
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-attempts", type=int, default=8)
    parser.add_argument("--verbose", action="store_true", help="print each failed attempt's cause")
    args = parser.parse_args(argv)

    import tempfile

    from provisioner.emulator import EmulatorServer

    rng = random.Random(args.seed)
    histogram: Counter[int] = Counter()
    faults: Counter[str] = Counter()
    total_requests = failures = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fault-soak-") as tmp, EmulatorServer(port=0) as server:
        keyfile = Path(tmp) / "sa.jwk.json"
        import json

        keyfile.write_text(json.dumps(server.service_account["jwk"]))
        keyfile.chmod(0o600)
        for i in range(args.iterations):
            spec = random_stack(rng)
            changed = mutate(spec, rng)
            environ = {
                **os.environ,
                "AIC_SERVICE_ACCOUNT_ID": server.service_account["id"],
                "AIC_SERVICE_ACCOUNT_JWK_FILE": str(keyfile),
                **secret_values(spec, rng),
            }
            outcome = run_stack(
                server.url,
                Path(tmp) / f"it{i}",
                spec,
                changed,
                environ,
                fault_rate=args.fault_rate,
                seed=args.seed * 100_003 + i,
                max_attempts=args.max_attempts,
            )
            histogram.update(outcome.attempts)
            faults += outcome.faults
            total_requests += outcome.requests
            if outcome.problems:
                failures += 1
                print(f"iteration {i}: FAILED: {'; '.join(outcome.problems)}", file=sys.stderr)
            if args.verbose:
                for error in outcome.errors:
                    print(f"iteration {i}: {error}", file=sys.stderr)
    injected = sum(faults.values())
    print(
        f"runs: {args.iterations} stacks, {sum(histogram.values())} apply phases "
        f"(seed {args.seed}, fault rate {args.fault_rate:.2f}, {time.monotonic() - started:.0f}s)"
    )
    print(
        f"requests: {total_requests} admin API requests, faults injected: {injected} "
        f"({injected / max(1, total_requests):.1%}): " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
    )
    print("attempts needed: " + ", ".join(f"{k}: {v}" for k, v in sorted(histogram.items())))
    print(f"failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
