"""Adoption: read a realm and write minimal, schema-valid manifests for what is already there.

    from provisioner import api
    from provisioner.export import ExportOptions, export_realm
    with api.tenant("local") as t:
        result, snapshot = export_realm(t.client, ExportOptions(realm="alpha"))
        for doc in result.documents: ...

Modules: ``build`` (pure: selection and documents; each kind's ``export`` hook maps one object with
:mod:`provisioner.kinds.reverse`, observed documents → manifest values, defaults elided), ``read`` (the
snapshot plus one user query), ``write`` (YAML files, ``secrets.env.example``, no clobbering), ``mark``
(``--stack``: the ownership marker).
"""

from __future__ import annotations

from typing import Any

from provisioner.export.build import KINDS, ExportedDocument, ExportOptions, ExportResult, build, parse_kinds, select
from provisioner.export.read import read_realm, user_names
from provisioner.kinds.snapshot import RealmSnapshot


def export_realm(client: Any, options: ExportOptions, parallelism: int = 4) -> tuple[ExportResult, RealmSnapshot]:
    """Read ``options.realm`` and build the documents to export (nothing is written anywhere)."""
    snap = read_realm(client, options.realm, parallelism)
    selection = select(snap, options)
    ids = selection.user_ids(snap)
    users = user_names(client, options.realm, ids) if ids else {}
    return build(snap, selection, users, options), snap


__all__ = [
    "KINDS",
    "ExportOptions",
    "ExportResult",
    "ExportedDocument",
    "build",
    "export_realm",
    "parse_kinds",
    "select",
]
