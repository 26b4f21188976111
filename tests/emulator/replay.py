"""Replay recorded HAR exchanges with real tenants against the emulator and compare the shapes.

For one HAR file: infer from the recording every object that existed before it started (an agent
read, listed, updated or deleted before the recording created it; a user a relationship points at; a
script updated in place), seed those into a fresh emulator (users and groups through the control
plane, everything else through the API), replay every exchange in order, and compare the status and
the JSON body keys at every depth. List items are matched by ``_id``; values are not compared (they
are tenant data: revisions, timestamps, tenant settings).

Used by ``test_replay.py`` for the shared recordings and for files written by ``--record``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from tests.support import admin_token

AGENT_ITEM = re.compile(
    r"^/am/json/realms/root/realms/(?P<realm>[^/]+)/realm-config/agents/"
    r"(?P<kind>[^/?]+)/(?P<id>[^/?]+)$"
)
AGENT_LIST = re.compile(r"^/am/json/realms/root/realms/(?P<realm>[^/]+)/realm-config/agents(?:/(?P<kind>[^/?]+))?$")
SCRIPT = re.compile(r"^/am/json/realms/root/realms/(?P<realm>[^/]+)/scripts/(?P<id>[^/?]+)$")
IDM_ITEM = re.compile(r"^/openidm/managed/(?P<realm>[^_/]+)_(?P<kind>[^/]+)/(?P<id>[^/?]+)$")
IDM_QUERY = re.compile(r"^/openidm/managed/(?P<realm>[^_/]+)_(?P<kind>[^/]+)$")
REF = re.compile(r"^managed/(?P<realm>[^_/]+)_(?P<kind>user|group|application)/(?P<id>[^/]+)$")
# Authentication is the replayer's own: recorded credentials are expired or redacted, so the token
# endpoints (admin token, realm OAuth runtime) are not replayed.
NOT_REPLAYED = re.compile(r"^/am/oauth2/")
FORWARDED = ("accept-api-version", "content-type", "if-match", "if-none-match", "x-requested-with")
AGENT_KEYS = ("_id", "_rev", "_type")
IDM_READ_ONLY = (
    "_rev",
    "agentID",
    "agentOAuth2ClientId",
    "resourceData",
    "subjectIDs",
    "privileges",
    "aiagentprivileges",
    "ownerOfApp",
    "groups",
)
SEED_SECRET = "replay-seeded-secret-0123456789"  # loopback emulator only, never a real credential


@dataclass(frozen=True)
class Difference:
    """One shape difference: ``where`` is ``<entry index> <METHOD> <path>``, ``path`` a JSON path."""

    where: str
    path: str
    problem: str  # "status 200 != 404", "missing", "extra", "type", "missing item", "extra item"

    def __str__(self) -> str:
        return f"{self.where}: {self.path or '<body>'}: {self.problem}"


@dataclass
class Replay:
    name: str
    recorded: str  # startedDateTime of the first entry
    exchanges: int = 0
    skipped: int = 0
    differences: list[Difference] = field(default_factory=list)
    per_exchange: list[bool] = field(default_factory=list)  # True: matched key for key

    @property
    def matched(self) -> int:
        return sum(self.per_exchange)


def load_har(path: Path) -> dict[str, Any]:
    """A HAR 1.2 document; ValueError saying what is wrong otherwise."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict) or log.get("version") != "1.2" or not isinstance(log.get("entries"), list):
        raise ValueError(f"{path.name}: not a HAR 1.2 file (log.version, log.entries)")
    for index, entry in enumerate(log["entries"]):
        if not isinstance(entry.get("request"), dict) or not isinstance(entry.get("response"), dict):
            raise ValueError(f"{path.name}: entry {index} lacks request/response")
    return doc


def tenant_version(started: str) -> str:
    """The emulator's ``am.tenantVersion`` closest to a recording date (older files: the oldest modelled)."""
    return "2026-07" if started[:7] >= "2026-07" else "2026-05"


def body_of(message: dict[str, Any], key: str) -> Any:
    text = (message.get(key) or {}).get("text")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _path_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path, parts.query


# -- seeding -----------------------------------------------------------------------------------------


@dataclass
class Seeds:
    agents: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (realm, kind, id)
    refs: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (realm, kind, id)
    scripts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    identities: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (realm, uid)
    privileges: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (realm, id)


def _walk_refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("_ref")
        if isinstance(ref, str):
            yield ref
        for inner in value.values():
            yield from _walk_refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk_refs(inner)


def _agent_kind(item: dict[str, Any], listed: str | None) -> str:
    if listed:
        return listed
    return "AIAgent" if "aiAgentIdentityUid" in item or "aiAgentIdentityAttributes" in item else "OAuth2Client"


def infer_seeds(entries: list[dict[str, Any]]) -> Seeds:
    """Every object the recording shows as existing before it started (see the module docstring)."""
    seeds = Seeds()
    seen: set[tuple[str, ...]] = set()  # objects whose state before the recording is settled
    referenced: list[tuple[str, str, str]] = []  # (realm, kind, id) of users, groups, applications

    def first_sight(key: tuple[str, ...]) -> bool:
        if key in seen:
            return False
        seen.add(key)
        return True

    for entry in entries:
        request, response = entry["request"], entry["response"]
        method, status = request["method"].upper(), int(response["status"])
        path, query = _path_query(request["url"])
        path = unquote(path)
        sent, got = body_of(request, "postData"), body_of(response, "content")
        for ref in (*_walk_refs(sent), *_walk_refs(got)):
            if found := REF.match(ref):
                referenced.append((found["realm"], found["kind"], found["id"]))
        if (found := AGENT_ITEM.match(path)) and found["kind"] not in ("",):
            key = (found["realm"], found["kind"], found["id"])
            if first_sight(("am",) + key) and status == 200 and isinstance(got, dict):
                seeds.agents[key] = got
        elif (found := AGENT_LIST.match(path)) and method == "GET" and status == 200 and isinstance(got, dict):
            if "_fields=" in query:  # a plan's list of only the compared fields: no seed, a whole read gives it
                continue
            for item in got.get("result") or []:
                if isinstance(item, dict) and isinstance(item.get("_id"), str):
                    key = (found["realm"], _agent_kind(item, found["kind"]), item["_id"])
                    if first_sight(("am",) + key):
                        seeds.agents[key] = item
        elif found := SCRIPT.match(path):
            key2 = (found["realm"], found["id"])
            if first_sight(("script",) + key2) and status == 200 and method in ("PUT", "GET", "DELETE"):
                seeds.scripts[key2] = sent if method == "PUT" and isinstance(sent, dict) else got
        elif (found := IDM_QUERY.match(path)) and method == "POST" and status == 201 and isinstance(got, dict):
            first_sight(("idm", found["realm"], found["kind"], str(got.get("_id"))))  # created by the recording
        elif (found := IDM_QUERY.match(path)) and method == "GET" and status == 200 and isinstance(got, dict):
            for item in got.get("result") or []:
                if isinstance(item, dict) and isinstance(item.get("_id"), str):
                    _idm_sight(seeds, first_sight, found["realm"], found["kind"], item)
        elif found := IDM_ITEM.match(path):
            if status == 200 and isinstance(got, dict):
                _idm_sight(seeds, first_sight, found["realm"], found["kind"], got)
            else:  # created (201) or shown absent (404) by the recording: not seeded
                first_sight(("idm", found["realm"], found["kind"], found["id"]))
    # An object only ever seen as a relationship target existed (parallel reads may show a reference
    # before the object's own listing, which then gives the richer seed).
    for key in referenced:
        if first_sight(("idm", *key)):
            seeds.refs[key] = {}
    return seeds


def _idm_sight(seeds: Seeds, first_sight: Any, realm: str, kind: str, item: dict[str, Any]) -> None:
    if kind == "aiagent":
        if first_sight(("idm", realm, kind, item["_id"])):
            seeds.identities[(realm, item["_id"])] = item
    elif kind == "aiagentprivilege":
        if first_sight(("idm", realm, kind, item["_id"])):
            seeds.privileges[(realm, item["_id"])] = _with_references(realm, item)
    elif kind in ("user", "group", "application") and first_sight(("idm", realm, kind, item["_id"])):
        seeds.refs[(realm, kind, item["_id"])] = item


def _with_references(realm: str, item: dict[str, Any]) -> dict[str, Any]:
    """A privilege as a plan reads it (without ``agent`` and ``resource``, whose flattenings
    ``agentID`` and ``resourceData`` carry the ids) with its references back: the seed needs them."""
    out = dict(item)
    if "agent" not in out and isinstance(item.get("agentID"), str):
        collection = f"managed/{realm}_aiagent"
        out["agent"] = {"_ref": f"{collection}/{item['agentID']}", "_refResourceCollection": collection}
    data = item.get("resourceData")
    if "resource" not in out and isinstance(data, dict) and data.get("_ref"):
        out["resource"] = {key: data[key] for key in ("_ref", "_refResourceCollection") if key in data}
    return out


class Emulator:
    """A reset emulator reached over its socket with an admin token."""

    def __init__(self, url: str, service_account: dict[str, Any]) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        requests.post(self.url + "/_emulator/reset", timeout=10).raise_for_status()
        self.session.headers["Authorization"] = "Bearer " + admin_token(self.url, service_account)

    def control(self, method: str, name: str, body: Any) -> Any:
        response = requests.request(method, f"{self.url}/_emulator/{name}", json=body, timeout=10)
        if response.status_code >= 300:
            raise AssertionError(f"control {name}: {response.status_code} {response.text}")
        return response.json()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        expect: Iterable[int] = (200, 201),
    ) -> requests.Response:
        response = self.session.request(method, self.url + path, json=body, headers=headers or {}, timeout=30)
        if response.status_code not in tuple(expect):
            raise AssertionError(f"seed {method} {path}: {response.status_code} {response.text}")
        return response


def _strip_agent(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in AGENT_KEYS}


def _with_secret(body: dict[str, Any], listed: dict[str, Any]) -> dict[str, Any]:
    """A seeded OAuth2Client gets a secret unless the recording shows it without one (list form
    ``userpassword: null``); the secret never comes back, so the value is irrelevant."""
    core = listed.get("coreOAuth2ClientConfig")
    if isinstance(core, dict) and "userpassword" in core:
        return body
    out = dict(body)
    group = dict(out.get("coreOAuth2ClientConfig") or {})
    group["userpassword"] = SEED_SECRET
    out["coreOAuth2ClientConfig"] = group
    return out


def seed(emulator: Emulator, seeds: Seeds) -> None:
    """Create the seeded objects: users/groups by the control plane, the rest through the API."""
    by_realm: dict[str, dict[str, list[Any]]] = {}
    for (realm, kind, oid), item in sorted(seeds.refs.items()):
        if kind in ("user", "group"):
            bucket = by_realm.setdefault(realm, {"users": [], "groups": []})
            if kind == "user":
                bucket["users"].append(
                    {
                        "_id": oid,
                        "userName": item.get("userName") or f"replay-{oid[:8]}",
                        "givenName": "Replay",
                        "sn": "User",
                        "mail": f"{oid[:8]}@replay.invalid",
                    }
                )
            else:
                bucket["groups"].append({"_id": oid, "members": []})
    for realm, bucket in by_realm.items():
        emulator.control("POST", "seed", {"realm": realm, **bucket})
    for (realm, kind, oid), item in sorted(seeds.refs.items()):
        if kind == "application":
            body = {k: v for k, v in item.items() if k not in IDM_READ_ONLY and k != "_id"}
            body.setdefault("name", f"replay-{oid[:8]}")
            emulator.call("PUT", f"/openidm/managed/{realm}_application/{oid}", body)
    for (realm, kind, client_id), doc in sorted(seeds.agents.items()):
        body = _strip_agent(doc)
        if kind == "OAuth2Client":
            body = _with_secret(body, doc)
        identity = seeds.identities.get((realm, _plain(doc.get("aiAgentIdentityUid")) or ""))
        if kind == "AIAgent" and identity is not None and "aiAgentIdentityAttributes" not in body:
            body["aiAgentIdentityAttributes"] = {
                k: identity[k] for k in ("_id", "name", "description") if k in identity
            }
        path = f"/am/json/realms/root/realms/{realm}/realm-config/agents/{kind}/{client_id}"
        version = {
            "Accept-API-Version": "protocol=2.1,resource=2.0" if kind == "AIAgent" else "protocol=2.1,resource=1.0"
        }
        emulator.call("PUT", path, body, version, expect=(201,))
        # PUT on an existing agent stores exactly what it is given: the recorded field set, not the
        # create defaults of the emulated tenant version.
        emulator.call("PUT", path, body, version, expect=(200,))
    for (realm, uid), identity in sorted(seeds.identities.items()):
        owners = identity.get("owners")
        if isinstance(owners, list) and owners:
            emulator.call(
                "PATCH",
                f"/openidm/managed/{realm}_aiagent/{uid}",
                [
                    {
                        "operation": "replace",
                        "field": "/owners",
                        "value": [{"_ref": o["_ref"]} for o in owners if isinstance(o, dict) and "_ref" in o],
                    }
                ],
            )
    for (realm, oid), privilege in sorted(seeds.privileges.items()):
        body = {k: v for k, v in privilege.items() if k not in IDM_READ_ONLY and k != "_id"}
        for name in ("agent", "resource", "subjects", "subjectGroups"):
            value = body.get(name)
            if isinstance(value, dict):
                body[name] = {"_ref": value["_ref"]}
            elif isinstance(value, list):
                body[name] = [{"_ref": v["_ref"]} for v in value if isinstance(v, dict) and "_ref" in v]
        emulator.call("PUT", f"/openidm/managed/{realm}_aiagentprivilege/{oid}", body, expect=(201,))
    for (realm, oid), script in sorted(seeds.scripts.items()):
        body = {k: v for k, v in (script or {}).items() if k != "_id"}
        emulator.call(
            "PUT",
            f"/am/json/realms/root/realms/{realm}/scripts/{oid}",
            body,
            {"Accept-API-Version": "protocol=2.0,resource=1.0"},
            expect=(201,),
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and set(value) <= {"inherited", "value"}:
        return value.get("value")
    return value


# -- comparison --------------------------------------------------------------------------------------


def compare(recorded: Any, actual: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(JSON path, problem) for every key-level difference; values themselves are not compared."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key in recorded:
            if key not in actual:
                yield f"{path}.{key}" if path else key, "missing"
        for key in actual:
            if key not in recorded:
                yield f"{path}.{key}" if path else key, "extra"
        for key in recorded:
            if key in actual:
                yield from compare(recorded[key], actual[key], f"{path}.{key}" if path else key)
    elif isinstance(recorded, list) and isinstance(actual, list):
        if all(isinstance(i, dict) and "_id" in i for i in recorded + actual) and (recorded or actual):
            mine = {str(i["_id"]): i for i in actual}
            theirs = {str(i["_id"]): i for i in recorded}
            for oid, item in theirs.items():
                if oid not in mine:
                    yield f"{path}[_id={oid}]", "missing item"
                else:
                    yield from compare(item, mine[oid], f"{path}[_id={oid}]")
            for oid in mine:
                if oid not in theirs:
                    yield f"{path}[_id={oid}]", "extra item"
        else:
            for index, (a, b) in enumerate(zip(recorded, actual)):
                yield from compare(a, b, f"{path}[{index}]")
    elif _shape(recorded) != _shape(actual):
        yield path, f"type {_shape(recorded)} != {_shape(actual)}"


def _shape(value: Any) -> str:
    return (
        "object"
        if isinstance(value, dict)
        else "array"
        if isinstance(value, list)
        else "null"
        if value is None
        else "scalar"
    )


def replay(
    har_path: Path, url: str, service_account: dict[str, Any], allowed: Iterable[tuple[str, str, str, str]] = ()
) -> Replay:
    """Seed, replay and compare one HAR file; differences matching ``allowed`` are not reported.

    ``allowed``: ``(file glob, JSON path glob, problem, reason)``.
    """
    doc = load_har(har_path)
    entries = doc["log"]["entries"]
    started = entries[0].get("startedDateTime", "") if entries else ""
    result = Replay(har_path.name, started)
    emulator = Emulator(url, service_account)
    emulator.control("PATCH", "config", {"am.tenantVersion": tenant_version(started)})
    seed(emulator, infer_seeds(entries))
    rules = [(f, p, problem) for f, p, problem, _ in allowed if fnmatchcase(har_path.name, f)]
    for index, entry in enumerate(entries):
        request, response = entry["request"], entry["response"]
        path, query = _path_query(request["url"])
        if NOT_REPLAYED.match(path):
            result.skipped += 1
            continue
        headers = {h["name"]: h["value"] for h in request.get("headers") or [] if h["name"].lower() in FORWARDED}
        text = (request.get("postData") or {}).get("text")
        target = emulator.url + path + ("?" + query if query else "")
        got = emulator.session.request(
            request["method"], target, data=text.encode() if text else None, headers=headers, timeout=30
        )
        where = f"#{index} {request['method']} {path}"
        found: list[Difference] = []
        if got.status_code != int(response["status"]):
            found.append(Difference(where, "", f"status {response['status']} != {got.status_code}"))
        else:
            actual = got.json() if got.content else None
            for json_path, problem in compare(body_of(response, "content"), actual):
                if not any(fnmatchcase(json_path, p) and problem == prob for _, p, prob in rules):
                    found.append(Difference(where, json_path, problem))
        result.exchanges += 1
        result.per_exchange.append(not found)
        result.differences.extend(found)
    return result
