"""``--stack NAME``: adopt exported objects into a stack by writing the core's ownership marker.

The marker is the ``advancedOAuth2ClientConfig.customProperties`` entry ``provisioner.stack=<name>``
(:func:`provisioner.kinds.oauth2client.set_markers`), the one prune looks for. Writing it is a
whole-document PUT of the AM client (read-modify-write like apply's updates): the object is re-read
first and left alone when it moved since the export read it. Objects already owned by another stack
are never re-marked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioner.errors import ProvisionerError
from provisioner.export.build import ExportResult
from provisioner.kinds import spec_of
from provisioner.kinds.common import writable_client_doc
from provisioner.kinds.oauth2client import set_markers, stack_of
from provisioner.kinds.reverse import Note
from provisioner.kinds.snapshot import RealmSnapshot
from provisioner.plan.order import address


@dataclass(frozen=True)
class Mark:
    """One AM client or agent to mark as owned by a stack."""

    kind: str
    realm: str
    key: str
    rev: str | None

    @property
    def address(self) -> str:
        return address(self.kind, self.realm, self.key)

    @property
    def am_kind(self) -> str:
        spec = spec_of(self.kind)
        assert spec is not None and spec.am_kind is not None
        return spec.am_kind


def _observed(snap: RealmSnapshot, kind: str, key: str) -> Any:
    spec = spec_of(kind)
    return spec.am_docs(snap).get(key) if spec is not None and spec.am_docs is not None else None


def marks_needed(snap: RealmSnapshot, result: ExportResult, stack: str) -> tuple[list[Mark], list[Note]]:
    """The exported applications and agents that do not carry ``provisioner.stack=<stack>`` yet."""
    marks, notes = [], []
    for doc in result.documents:
        spec = spec_of(doc.kind)
        if spec is None or not spec.prunable:
            continue
        observed = _observed(snap, doc.kind, doc.key)
        owner = stack_of(observed)
        if owner == stack:
            continue
        if owner is not None:
            notes.append(
                Note(
                    doc.address,
                    f"owned by stack {owner!r}; not re-marked for stack {stack!r} (remove it from that stack first)",
                )
            )
            continue
        rev = observed.get("_rev") if observed else None
        marks.append(Mark(doc.kind, doc.realm, doc.key, str(rev) if rev is not None else None))
    return marks, notes


class MarkFailed(ProvisionerError):
    """Some objects could not be marked; the message says which, and which were marked."""


def apply_marks(
    client: Any, snap: RealmSnapshot, marks: list[Mark], stack: str, progress: Callable[[str], None]
) -> None:
    """Write the stack marker on each of ``marks`` (one re-read and one PUT each)."""
    failed: list[str] = []
    for mark in marks:
        try:
            _mark_one(client, snap, mark, stack)
        except ProvisionerError as exc:
            failed.append(f"{mark.address}: {exc}")
            continue
        progress(f"marked {mark.address} as owned by stack {stack!r}")
    if failed:
        raise MarkFailed(
            "could not mark " + "; ".join(failed) + "; the files were written, run export with "
            "--stack again (with --force) to retry"
        )


def _mark_one(client: Any, snap: RealmSnapshot, mark: Mark, stack: str) -> None:
    am = client.am(mark.realm)
    current = am.find(mark.am_kind, mark.key)
    if current is None:
        raise ProvisionerError("it was deleted since the export read it; not marked")
    if mark.rev is not None and str(current.get("_rev")) != mark.rev:
        raise ProvisionerError("it changed since the export read it; not marked")
    body = writable_client_doc(current)
    set_markers(body, stack=stack)
    spec = spec_of(mark.kind)
    if spec is not None and spec.before_put is not None:
        spec.before_put(snap, mark.key, current, body)
    am.put(mark.am_kind, mark.key, body)


__all__ = ["Mark", "MarkFailed", "apply_marks", "marks_needed"]
