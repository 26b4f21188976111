"""Which objects to export and the manifest documents for them (pure, over a :class:`RealmSnapshot`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import UsageError
from provisioner.export.reverse import CLIENT_ID, Note, has_secret_marker
from provisioner.kinds import REGISTRY, aiagent, application, spec_of
from provisioner.kinds.snapshot import RealmSnapshot
from provisioner.manifest.model import API_VERSION
from provisioner.plan.order import address

#: The kinds export writes (those with an export folder), in dependency order.
KINDS = tuple(spec.name for spec in REGISTRY if spec.export_folder)
FOLDERS = {spec.name: str(spec.export_folder) for spec in REGISTRY if spec.export_folder}
GRANT_MODES = ("ensure", "exact")


@dataclass(frozen=True)
class ExportOptions:
    """What to export from one realm."""

    realm: str = "alpha"
    kinds: tuple[str, ...] = KINDS
    select: tuple[str, ...] = ()
    provider_grant_types: str = "ensure"


@dataclass(frozen=True)
class ExportedDocument:
    """One manifest document and the file it goes to (relative to the output folder)."""

    kind: str
    key: str
    realm: str
    path: str
    document: Mapping[str, Any]
    secret_env: str | None = None

    @property
    def address(self) -> str:
        return address(self.kind, self.realm, self.key)


@dataclass(frozen=True)
class Selection:
    """The keys to export per kind (singletons are exported per realm, not selected), and what was skipped
    (as notes)."""

    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def applications(self) -> tuple[str, ...]:
        return tuple(self.keys.get(application.KIND, ()))

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(self.keys.get(aiagent.KIND, ()))


@dataclass(frozen=True)
class ExportContext:
    """What a kind's ``export`` hook reads: the realm, the users by id, the keys selected per kind (an agent's
    privileges name only exported applications) and the provider grant mode."""

    snap: RealmSnapshot
    users: Mapping[str, str]
    selected: Mapping[str, frozenset[str]]
    provider_grant_types: str


@dataclass(frozen=True)
class ExportResult:
    """The documents to write, the secret variables they reference, and the notes for the user."""

    realm: str
    documents: tuple[ExportedDocument, ...]
    notes: tuple[Note, ...]

    @property
    def secrets(self) -> list[tuple[str, str]]:
        """``(variable, client id)`` for every exported secret reference, sorted by variable."""
        return sorted((d.secret_env, d.key) for d in self.documents if d.secret_env)


def parse_kinds(text: str | None) -> tuple[str, ...]:
    """``"Application,aiagent"`` → the kind names in dependency order (case-insensitive)."""
    if not text:
        return KINDS
    known = {k.lower(): k for k in KINDS}
    wanted, unknown = set(), []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() in known:
            wanted.add(known[part.lower()])
        else:
            unknown.append(part)
    if unknown or not wanted:
        raise UsageError(
            f"--kinds: unknown kind(s) {', '.join(repr(u) for u in unknown) or '(none given)'}; "
            f"expected a comma-separated list of {', '.join(KINDS)}"
        )
    return tuple(k for k in KINDS if k in wanted)


def select(snap: RealmSnapshot, options: ExportOptions) -> Selection:
    """The custom applications and agents to export, honouring ``--kinds`` and ``--select``.

    An application is an AM ``OAuth2Client`` with an IDM application record (``ssoEntities.oidcId``);
    other OAuth2 clients (platform clients, agents of other kinds) are not custom applications.
    """
    notes: list[Note] = []
    apps = sorted(k for k in snap.clients if k in snap.apps and k not in snap.agents)
    agents = sorted(snap.agents)
    plain_clients = sorted(k for k in snap.clients if k not in snap.apps and k not in snap.agents)
    orphans = sorted(k for k in snap.apps if k not in snap.clients)
    chosen = set(options.select)
    if chosen:
        unknown = sorted(chosen - set(apps) - set(agents))
        if unknown:
            reasons = []
            for key in unknown:
                if key in plain_clients:
                    reasons.append(
                        f"{key!r} (an OAuth2 client without an IDM application record: not a custom application)"
                    )
                elif key in orphans:
                    reasons.append(f"{key!r} (an IDM application record without its OAuth2 client)")
                else:
                    reasons.append(f"{key!r} (no application or AI agent with this client ID)")
            raise UsageError(
                f"--select: cannot export {', '.join(reasons)} in realm {snap.realm!r}; nothing was written"
            )
        apps = [k for k in apps if k in chosen]
        agents = [k for k in agents if k in chosen]
    else:
        if plain_clients and application.KIND in options.kinds:
            notes.append(
                Note(
                    "",
                    f"skipped {len(plain_clients)} OAuth2 client(s) without an IDM application "
                    f"record (not custom applications): {', '.join(plain_clients)}",
                )
            )
        if orphans and application.KIND in options.kinds:
            notes.append(
                Note(
                    "",
                    f"skipped {len(orphans)} IDM application record(s) without their OAuth2 client: "
                    f"{', '.join(orphans)}",
                )
            )
    if aiagent.KIND in options.kinds and not snap.ai_agents_enabled:
        notes.append(Note("", f"the AI agents feature is off in realm {snap.realm!r}: no agents exported"))
    for key in [*apps, *agents]:
        if not CLIENT_ID.match(key):
            notes.append(
                Note(key, "client ID uses characters manifests do not allow (letters, digits, '-', '_'); skipped")
            )
    apps = [k for k in apps if CLIENT_ID.match(k)] if application.KIND in options.kinds else []
    agents = [k for k in agents if CLIENT_ID.match(k)] if aiagent.KIND in options.kinds else []
    return Selection({application.KIND: tuple(apps), aiagent.KIND: tuple(agents)}, tuple(notes))


def _unique_names(
    keys: list[tuple[str, str]], name_of: Mapping[tuple[str, str], str | None]
) -> dict[tuple[str, str], str]:
    """Secret variable per ``(client id, kind)``; a clash (``a-b`` / ``a_b``) gets ``_2``, ``_3`` in key order."""
    out: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for key in sorted(keys):
        base = name_of.get(key)
        if not base:
            continue
        name, n = base, 2
        while name in used:
            name = f"{base.removesuffix('_SECRET')}_{n}_SECRET"
            n += 1
        used.add(name)
        out[key] = name
    return out


def _document(kind: str, realm: str, key: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    spec_ = spec_of(kind)
    metadata = {"realm": realm} if spec_ is not None and spec_.keyed_by_realm else {"name": key, "realm": realm}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": dict(spec)}


def _am_doc(snap: RealmSnapshot, kind: str, key: str) -> Mapping[str, Any] | None:
    spec = spec_of(kind)
    return spec.am_docs(snap).get(key) if spec is not None and spec.am_docs is not None else None


def build(snap: RealmSnapshot, selection: Selection, users: Mapping[str, str], options: ExportOptions) -> ExportResult:
    """The documents for ``selection``; ``users`` maps user id → userName."""
    realm = snap.realm
    notes = list(selection.notes)
    docs: list[ExportedDocument] = []
    context = ExportContext(
        snap, users, {kind: frozenset(keys) for kind, keys in selection.keys.items()}, options.provider_grant_types
    )
    specs: list[tuple[str, str, dict[str, Any], str | None]] = []
    for kind_spec in REGISTRY:
        if kind_spec.export is None or kind_spec.name not in options.kinds:
            continue
        keys = (realm,) if kind_spec.keyed_by_realm else selection.keys.get(kind_spec.name, ())
        for key in keys:
            kind_notes, spec, secret = kind_spec.export(context, key, address(kind_spec.name, realm, key))
            notes.extend(kind_notes)
            if spec is not None:
                specs.append((kind_spec.name, key, spec, secret))
    names = _unique_names(
        [(key, kind) for kind, key, _, _ in specs], {(key, kind): secret for kind, key, _, secret in specs}
    )
    for kind, key, spec, _ in specs:
        name = names.get((key, kind))
        if name and "clientSecret" in spec:
            spec["clientSecret"] = {"fromEnv": name}
        docs.append(
            ExportedDocument(
                kind=kind,
                key=key,
                realm=realm,
                path=f"{FOLDERS[kind]}/{key}.yaml",
                document=_document(kind, realm, key, spec),
                secret_env=name,
            )
        )
    unmarked = sorted(
        key
        for kind, key, spec, _ in specs
        if "clientSecret" in spec and not has_secret_marker(_am_doc(snap, kind, key))
    )
    if unmarked:
        notes.append(
            Note(
                "",
                f"{len(unmarked)} client(s) carry no provisioner secret marker ({', '.join(unmarked)}): "
                f"plan proves their secrets live at the tenant's introspect endpoint "
                f"(one request each) until an apply records a marker",
            )
        )
    return ExportResult(realm, tuple(docs), tuple(notes))


__all__ = [
    "ExportContext",
    "ExportOptions",
    "ExportResult",
    "ExportedDocument",
    "FOLDERS",
    "GRANT_MODES",
    "KINDS",
    "Selection",
    "build",
    "parse_kinds",
    "select",
]
