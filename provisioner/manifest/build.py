"""From a parsed document to a :class:`Resource`: envelope checks, schema, normalisation.

Normalisation is deliberately small and defaults-free (field ownership: an absent key is not
managed): grant type aliases become AM values and secret references become :class:`SecretRef`.
Everything else stays exactly as written.
"""

from __future__ import annotations

import os
from typing import Any

from provisioner import grants, redact
from provisioner.kinds import spec_of
from provisioner.manifest.model import API_VERSION, KINDS, Diagnostic, Resource, SecretRef
from provisioner.manifest.schema import KIND_SCHEMAS, describe_value, validate_document
from provisioner.manifest.secrets import secret_ref
from provisioner.manifest.yamldoc import YamlDocument, format_path

_SECRET_FIELDS = ("clientSecret",)


def _canonical_list(values: Any) -> Any:
    if not isinstance(values, list):
        return values
    # Unknown names stay as written: the schema already reported them.
    return [grants.canonical(v) or v if isinstance(v, str) else v for v in values]


def normalize_spec(kind: str, spec: dict[str, Any], base: str) -> dict[str, Any]:
    """The spec with grant types as AM values and secret refs as :class:`SecretRef`."""
    out = dict(spec)
    grants = out.get("grantTypes")
    if isinstance(grants, dict):  # {ensure|exact: [...]} (the provider's modes)
        out["grantTypes"] = {mode: _canonical_list(v) for mode, v in grants.items()}
    elif "grantTypes" in out:
        out["grantTypes"] = _canonical_list(grants)
    for name in _SECRET_FIELDS:
        if name in out:
            value = out[name]
            if isinstance(value, str):
                redact.register(value)  # a literal secret is an error, but still must not leak
            ref = secret_ref(value, base)
            if ref is not None:
                out[name] = ref
    return out


def _envelope(doc: YamlDocument) -> tuple[str | None, list[Diagnostic]]:
    """The document's kind when it is one we know, plus problems with the envelope."""
    data = doc.data
    where = doc.locations.get((), doc.start)
    if not isinstance(data, dict):
        return None, [
            Diagnostic(
                where,
                "",
                "a manifest document must be a mapping with apiVersion, kind, "
                f"metadata and spec; got {describe_value(data)}",
            )
        ]
    kind = data.get("kind")
    if "kind" not in data:
        problems = [Diagnostic(where, "", "missing required field 'kind' (one of: " + ", ".join(KINDS) + ")")]
        if "apiVersion" not in data:
            problems.append(Diagnostic(where, "", f"missing required field 'apiVersion' ({API_VERSION})"))
        return None, problems
    if kind not in KINDS:
        hint = ""
        if isinstance(kind, str):
            import difflib  # only to suggest a name for a wrong one

            close = difflib.get_close_matches(kind, KINDS, n=1, cutoff=0.6)
            lowered = {k.lower(): k for k in KINDS}
            if close or kind.lower() in lowered:
                hint = f" (did you mean '{close[0] if close else lowered[kind.lower()]}'?)"
        shown = f"'{kind}'" if isinstance(kind, str) else describe_value(kind)
        return None, [
            Diagnostic(
                doc.locate(("kind",)), "kind", f"unknown kind {shown}{hint}; expected one of: {', '.join(KINDS)}"
            )
        ]
    return kind, []


def build_resource(doc: YamlDocument, default_realm: str) -> tuple[Resource | None, list[Diagnostic]]:
    """Validate one document and turn it into a Resource (None when it has no usable identity).

    A resource is still built when the schema reports problems, so that cross-document rules can
    run and report everything at once; callers only use the stack when there is no error.
    """
    kind, diagnostics = _envelope(doc)
    if kind is None:
        return None, diagnostics
    diagnostics += validate_document(doc, KIND_SCHEMAS[kind])
    data = doc.data
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    raw_realm = metadata.get("realm")
    realm: str = raw_realm if isinstance(raw_realm, str) and raw_realm else default_realm
    name = realm if spec_of(kind).keyed_by_realm else metadata.get("name")  # type: ignore[union-attr]
    if not isinstance(name, str) or not name:
        return None, diagnostics
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    base = os.path.dirname(doc.start.file)
    field_locations = {format_path(path): loc for path, loc in doc.locations.items() if path}
    resource = Resource(
        kind=kind,
        name=name,
        realm=realm,
        spec=normalize_spec(kind, spec, base),
        location=doc.locations.get((), doc.start),
        field_locations=field_locations,
    )
    return resource, diagnostics


def secret_refs(resource: Resource) -> list[tuple[SecretRef, str]]:
    """Every secret reference in a resource's spec with its document path."""
    return [
        (resource.spec[name], f"spec.{name}")
        for name in _SECRET_FIELDS
        if isinstance(resource.spec.get(name), SecretRef)
    ]
