"""Files: manifest YAML text, the schema comment, ``secrets.env.example``, and writing without clobbering."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provisioner.errors import UsageError
from provisioner.export.build import ExportResult

SCHEMA_FILE = "manifest.schema.json"
SECRETS_FILE = "secrets.env.example"
_JINJA = ("{{", "{%", "{#")


@dataclass(frozen=True)
class OutputFile:
    """A file to write: ``path`` relative to the output folder, and its text."""

    path: str
    text: str


class _Dumper(yaml.SafeDumper):
    """Safe YAML; block style for mappings of mappings, flow style for short leaf lists and maps."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


class _Block(dict):
    """A mapping always written in block style (``metadata``, ``spec``)."""


_Dumper.add_representer(
    _Block, lambda dumper, value: dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)
)


def dump(document: Mapping[str, Any]) -> str:
    """YAML text: keys in the given (stable) order; top-level sections in block style, short leaf
    collections (``scopes: [a, b]``, ``clientSecret: {fromEnv: X}``) in flow style."""
    top = {k: _Block(v) if isinstance(v, Mapping) else v for k, v in document.items()}
    return yaml.dump(top, Dumper=_Dumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)


def manifest_text(document: Mapping[str, Any], schema_ref: str) -> str:
    """One manifest file: the yaml-language-server comment, then the document.

    The loader renders every file with Jinja2 first, so a value containing ``{{``/``{%``/``{#`` is kept
    literal with a ``{% raw %}`` block inside YAML comments (so editors still parse the file and the
    line numbers stay those of the YAML).
    """
    body = dump(document)
    header = f"# yaml-language-server: $schema={schema_ref}"
    if any(marker in body for marker in _JINJA):
        if "endraw" in body:
            raise UsageError(
                f"{document.get('kind')} {document.get('metadata')}: a value contains "
                f"'endraw', which cannot be kept literal in a manifest"
            )
        return f"{header}\n# {{% raw %}}\n{body}# {{% endraw %}}\n"
    return f"{header}\n{body}"


def secrets_text(result: ExportResult) -> str:
    """``secrets.env.example``: every secret variable with an empty value and what it is for."""
    lines = [
        f"# Client secrets of the objects exported by `provisioner export` (realm {result.realm}).",
        "# The tenant never returns a client secret: set each variable to the secret the client uses today",
        "# (in your CI secret store, or in a copy of this file passed with --env-file that is never committed).",
    ]
    for name, key in result.secrets:
        lines.append(f"# {key}")
        lines.append(f"{name}=")
    return "\n".join(lines) + "\n"


def find_schema(out_dir: str) -> str | None:
    """``schemas/manifest.schema.json`` in the nearest folder at or above ``out_dir`` (a checkout), if any."""
    current = Path(out_dir).resolve()
    for folder in (current, *current.parents):
        candidate = folder / "schemas" / SCHEMA_FILE
        if candidate.is_file():
            return str(candidate)
    return None


def schema_ref(schema: str, out_dir: str, relpath: str) -> str:
    """The ``$schema`` value for the file ``relpath``: a URL as is, a path relative to the file."""
    if "://" in schema:
        return schema
    folder = os.path.dirname(os.path.join(os.path.abspath(out_dir), relpath))
    return os.path.relpath(os.path.abspath(schema), folder).replace(os.sep, "/")


def stack_file_text(stack: str, marked: bool = True) -> str:
    """``provisioner.yaml``: the exported stack's identity (``--stack``), declared once. ``marked``:
    export marked the objects already (import-frodo writes nothing to a tenant)."""
    note = (
        "The objects exported with --stack carry it already."
        if marked
        else "apply writes it on each object it creates or updates."
    )
    return (
        "# The stack's identity: the name written on every object it creates; prune deletes only objects\n"
        f"# carrying it. {note}\nstack: {stack}\n"
    )


def output_files(
    result: ExportResult, out_dir: str, schema: str | None, stack: str | None = None, marked: bool = True
) -> list[OutputFile]:
    """Every file to write. Without a schema in a parent ``schemas/`` folder (and no ``--schema``),
    the combined schema is written to ``schemas/manifest.schema.json`` in the output folder. With
    ``stack`` (``--stack``), ``provisioner.yaml`` declares it."""
    files: list[OutputFile] = []
    if schema is None:
        schema = find_schema(out_dir)
    if schema is None:
        from provisioner.manifest.schema import bundled_schema

        files.append(
            OutputFile(f"schemas/{SCHEMA_FILE}", json.dumps(bundled_schema(), indent=2, ensure_ascii=False) + "\n")
        )
        schema = os.path.join(os.path.abspath(out_dir), "schemas", SCHEMA_FILE)
    for doc in result.documents:
        files.append(OutputFile(doc.path, manifest_text(doc.document, schema_ref(schema, out_dir, doc.path))))
    if result.secrets:
        files.append(OutputFile(SECRETS_FILE, secrets_text(result)))
    if stack:
        files.append(OutputFile("provisioner.yaml", stack_file_text(stack, marked)))
    return files


def existing(out_dir: str, files: Iterable[OutputFile]) -> list[str]:
    """The files that are already there (relative paths)."""
    return [f.path for f in files if os.path.lexists(os.path.join(out_dir, f.path))]


def check_overwrite(out_dir: str, files: Sequence[OutputFile], force: bool) -> None:
    """Refuse, before writing anything, when a file exists and ``force`` is not given."""
    if force:
        return
    present = existing(out_dir, files)
    if present:
        shown = ", ".join(os.path.join(out_dir, p) for p in present[:10])
        more = f" and {len(present) - 10} more" if len(present) > 10 else ""
        raise UsageError(
            f"{len(present)} file(s) already exist: {shown}{more}; nothing was written (pass --force to overwrite them)"
        )


def write_files(out_dir: str, files: Sequence[OutputFile]) -> list[str]:
    """Write ``files`` under ``out_dir`` (folders created); returns the paths written."""
    written = []
    for item in files:
        path = os.path.join(out_dir, item.path)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(item.text)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    return written


__all__ = [
    "OutputFile",
    "SECRETS_FILE",
    "check_overwrite",
    "dump",
    "existing",
    "find_schema",
    "manifest_text",
    "output_files",
    "schema_ref",
    "secrets_text",
    "write_files",
]
