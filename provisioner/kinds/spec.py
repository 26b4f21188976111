"""``KindSpec``: everything the rest of the tool needs to know about one kind, in one declaration.

Each kind module (``provider``, ``application``, ``aiagent``, ``privilege``) exports one ``SPEC``; the
registry in :mod:`provisioner.kinds` lists them in dependency order. Plan, order, snapshot reads, stale
checks, apply, prune, export and the manifest model loop over the registry instead of naming kinds.
See ``docs/architecture.md`` ("Adding a kind").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from provisioner.kinds.fields import Field

#: ``observed(realm snapshot, key, change ids)`` → ``{"am": {"id", "rev"}|None, "idm": ...}``.
Observe = Callable[[Any, str, Any], dict[str, Any]]
#: A manifest ``spec`` → the userNames and the group ids it references (read into the snapshot).
References = Callable[[Mapping[str, Any]], tuple[set[str], set[str]]]
#: One apply step: ``step(apply context, change)``.
Step = Callable[[Any, Any], None]
#: A manifest finding: ``(resource, document path, message, "error"|"warning")``.
Finding = tuple[Any, str, str, str]
#: A semantic rule of the kind: ``rule(every loaded resource, complete)`` → its findings. ``complete`` is
#: False when some document could not be loaded (a reference may point into it).
Rule = Callable[[Sequence[Any], bool], Iterable[Finding]]
#: Export of one object: ``export(export context, key, address)`` → ``(notes, spec, secret variable)``; the
#: spec is None when no document is written for it (the notes say why).
Export = Callable[[Any, str, str], tuple[list[Any], dict[str, Any] | None, str | None]]
#: ``before_put(realm snapshot, key, current AM document, body)``: fix up a whole-document PUT body that
#: changes nothing of the kind's own (``export --stack`` writing the ownership marker).
BeforePut = Callable[[Any, str, Mapping[str, Any], dict[str, Any]], None]


@dataclass(frozen=True)
class ExportCandidates:
    """What ``export`` can write of one kind in a realm.

    ``keys``: the objects it can write, sorted. ``refused``: key → why ``--select`` cannot name it (an
    object that looks like one of the kind but is not). ``skipped``: notes on what an export without
    ``--select`` leaves out; ``notes``: notes given in any case (the kind's feature is off).
    """

    keys: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


#: ``export_select(realm snapshot)`` → the kind's :class:`ExportCandidates`.
ExportSelect = Callable[[Any], ExportCandidates]
#: ``export_users(realm snapshot, key)`` → the user ids an exported object names (owners, subjects).
ExportUsers = Callable[[Any, str], set[str]]
#: ``frodo(realm snapshot, keys, meta)`` → ``(file name, document)`` of Frodo's export file for the kind.
FrodoFile = Callable[[Any, Sequence[str], Mapping[str, Any]], tuple[str, dict[str, Any]]]


def _no_users(snap: Any, subject: Any) -> set[str]:
    return set()


def _no_deletes(snap: Any, record: Mapping[str, Any], reason: str) -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True, eq=False)  # a declaration: compared by identity (and cheaper to define)
class ImageHooks:
    """Undo's before-images of one kind (:mod:`provisioner.kinds.images` runs them).

    ``capture(realm snapshot, change, names, notes, record)``: the manifest spec that puts the object back
    as the snapshot shows it (None: it did not exist); it may add fields to the journal ``record``
    (``secretChanged``, the ids a delete needs). ``names``: user id → userName; ``notes``: what cannot be
    restored. ``users(realm snapshot, change)``: the user ids that image names (resolved before capture);
    ``touched_users(realm snapshot, record)``: the user ids the touched object names now.
    ``created_deletes(realm snapshot, record, reason)``: the delete changes (``Change`` fields) of an object
    the run created that exists now. A kind declared inside another (``KindSpec.owns``) is restored as an
    entry of its parent's ``entry_field`` list, keyed by the entry's ``entry_key``; ``parent_key(record)``
    is its parent's key.
    """

    capture: Callable[[Any, Any, Mapping[str, str], list[str], dict[str, Any]], dict[str, Any] | None]
    users: Callable[[Any, Any], set[str]] = _no_users
    touched_users: Callable[[Any, Mapping[str, Any]], set[str]] = _no_users
    created_deletes: Callable[[Any, Mapping[str, Any], str], list[dict[str, Any]]] = _no_deletes
    entry_field: str | None = None
    entry_key: str | None = None
    parent_key: Callable[[Mapping[str, Any]], str] | None = None


@dataclass(frozen=True, eq=False)  # a declaration: compared by identity (and cheaper to define)
class SnapshotRead:
    """One read of a kind's objects in a realm: ``read(tenant client, realm)`` → the raw answer, kept in the
    realm's read results under ``name``. ``optional``: the type may be absent (a not-found answer reads as
    None), as the AI-agent types are while the feature is off. ``plan_read``: a cheaper read with only
    what planning compares (e.g. AM lists with ``_fields``), used by plans; everything that keeps or
    writes back whole documents (export, apply's own re-reads, undo) uses ``read``."""

    name: str
    read: Callable[[Any, str], Any]
    optional: bool = False
    plan_read: Callable[[Any, str], Any] | None = None


def max_rank() -> int:
    from provisioner.kinds import REGISTRY

    return max(spec.rank for spec in REGISTRY)


def no_references(spec: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    return set(), set()


@dataclass(frozen=True, eq=False, repr=False)  # a declaration: compared by identity, shown by name
class KindSpec:
    """One kind's declaration.

    ``rank``: creates and updates run in rank order, deletes in reverse. ``manifest``: declared by a
    manifest document of this kind (``AgentPrivilege`` is declared inside its agent). ``keyed_by_realm``:
    a singleton per realm (its key is the realm; its address is ``<Kind> <realm>``). ``am_kind``: the AM
    collection holding its AM half, and ``am_docs`` the snapshot's documents of it by key (re-read in one
    list before a level that updates them). ``prunable``: objects carry the ``provisioner.stack`` marker
    and prune deletes them when undeclared; ``prune_deletes`` makes the delete changes, ``dangling``
    warns about unmanaged objects a delete leaves pointing at nothing.
    ``has_secret``: declares a ``clientSecret``. ``feature``: a tenant feature the kind needs
    (``"ai_agents"``). ``fields``: the field table (manifest field → remote paths). ``plain``: the spec
    keys copied as they are into ``desired``. ``steps``: apply steps per action, as ``(level, step)``.
    ``plan(context, resource)``: the changes of one declared resource (a kind declared inside another,
    like privileges inside their agent, is planned by its parent).
    ``export_folder``: where ``export`` writes documents of the kind (their spec keys in ``field_order``);
    ``export``: the reverse mapping of one of its objects to a manifest spec (a singleton is exported once
    per realm, other kinds for the keys the export selected).
    ``export_select``: which of the realm's objects are of the kind (and, for ``--select``, why the others
    that look like it are not); ``export_noun``: what ``--select`` calls one (``"application"``);
    ``export_users``: the user ids an exported object names; ``frodo``: its Frodo export file.
    ``before_put``: what a marker-only PUT of its AM document must refresh first. ``schema``: the JSON
    Schema file of its manifest documents.
    ``reads`` / ``assemble``: the kind's snapshot reads (one request each per realm, run in parallel) and
    the :class:`~provisioner.kinds.snapshot.RealmSnapshot` fields it builds from the realm's read results.
    ``images``: undo's before-images of its objects (:class:`ImageHooks`; None: undo cannot restore them).
    ``verify``: its part in ``provisioner verify``: ``"agent"`` (the flows run as it: its own token, then a
    token exchange per ``applications`` entry) or ``"audience"`` (a client the agents exchange into; its
    scopes, secret and token endpoint auth method serve the on-behalf-of flow); None: not verified.
    ``rules``: the offline semantic rules about this kind's documents (``manifest/rules.py`` runs them
    over every loaded resource). ``agent_policies``: the agent-only environment policies
    (``requireAgentOwners``, ``requireSubjectsOnBehalfOf``) apply to its documents.
    """

    name: str
    rank: int
    fields: tuple[Field, ...] = ()
    manifest: bool = True
    keyed_by_realm: bool = False
    am_kind: str | None = None
    am_docs: Callable[[Any], Mapping[str, Mapping[str, Any]]] | None = None
    prunable: bool = False
    prune_deletes: Callable[[Any, str, str, str], list[Any]] | None = None
    dangling: Callable[[Any, Any, set[str]], list[str]] | None = None
    has_secret: bool = False
    feature: str | None = None
    observed: Observe | None = None
    references: References = no_references
    steps: Mapping[str, tuple[tuple[int, Step], ...]] = field(default_factory=dict)
    plan: Callable[[Any, Any], list[Any]] | None = None
    #: The kind declared inside this one (its objects are keyed ``<this key>/...``), if any.
    owns: str | None = None
    export_folder: str | None = None
    export: Export | None = None
    export_select: ExportSelect | None = None
    export_noun: str = ""
    export_users: ExportUsers | None = None
    frodo: FrodoFile | None = None
    before_put: BeforePut | None = None
    schema: str | None = None
    reads: tuple[SnapshotRead, ...] = ()
    assemble: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    images: ImageHooks | None = None
    verify: str | None = None
    rules: tuple[Rule, ...] = ()
    agent_policies: bool = False

    @cached_property
    def plain(self) -> tuple[str, ...]:
        """Manifest fields copied into ``desired`` as written (no resolution, not nested)."""
        return tuple(
            f.name
            for f in self.fields
            if f.manifest and not f.sensitive and "." not in f.name and not any(t.compare == "refs" for t in f.targets)
        )

    @property
    def delete_rank(self) -> int:
        """Deletes run in reverse rank order, after every create and update."""
        return 2 * max_rank() - self.rank

    @property
    def field_order(self) -> tuple[str, ...]:
        """The top-level spec keys of the field table, in order (export writes them in this order)."""
        return tuple(dict.fromkeys(f.name.split(".")[0] for f in self.fields if f.manifest))

    def __repr__(self) -> str:
        return f"KindSpec({self.name!r})"

    def address(self, realm: str, key: str) -> str:
        return f"{self.name} {realm}" if self.keyed_by_realm else f"{self.name} {realm}/{key}"
