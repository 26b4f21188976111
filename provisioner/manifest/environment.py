"""Environment files: ``environments/<name>.yaml`` next to the manifests (``--env NAME``)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from provisioner import redact
from provisioner.manifest.cache import parse_yaml
from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import DEFAULT_REALM, Diagnostic, Environment, SecretRef, SourceLocation
from provisioner.manifest.schema import ENVIRONMENT_SCHEMA, validate_document
from provisioner.manifest.secrets import secret_ref
from provisioner.manifest.sources import ENVIRONMENTS_DIR, read_text
from provisioner.manifest.yamldoc import YamlDocument, format_path

if TYPE_CHECKING:
    from provisioner.manifest.cache import ManifestCache

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED_VARS = ("env", "realm")


def environment_file(paths: Sequence[str], name: str) -> tuple[str | None, list[str]]:
    """The environment file for ``name`` and the candidates looked at.

    ``name`` is looked up as ``environments/<name>.yaml`` (or ``.yml``) next to each given path, the
    first found wins. A path to a ``.yaml`` file is also accepted as is.
    """
    if name.endswith((".yaml", ".yml")) and os.sep in name:
        return (name if os.path.isfile(name) else None), [name]
    if not _NAME.fullmatch(name):
        return None, []
    looked: list[str] = []
    for path in paths:
        base = path if os.path.isdir(path) else os.path.dirname(path)
        for suffix in (".yaml", ".yml"):
            candidate = os.path.normpath(os.path.join(base, ENVIRONMENTS_DIR, name + suffix))
            if candidate not in looked:
                looked.append(candidate)
            if os.path.isfile(candidate):
                return candidate, looked
    return None, looked


def available_environments(paths: Sequence[str]) -> list[str]:
    """The names ``--env`` accepts for ``paths``: every ``environments/*.yaml``/``*.yml`` next to them."""
    names: set[str] = set()
    for path in paths:
        base = path if os.path.isdir(path) else os.path.dirname(path)
        folder = os.path.join(base, ENVIRONMENTS_DIR)
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        stems = (os.path.splitext(e)[0] for e in entries if e.endswith((".yaml", ".yml")) and not e.startswith("."))
        names.update(stem for stem in stems if _NAME.fullmatch(stem))
    return sorted(names)


def _verify_with_refs(verify: Any, base: str) -> dict[str, Any]:
    """``verify`` with each test user's password as a :class:`SecretRef`."""
    if not isinstance(verify, dict):
        return {}
    out = dict(verify)
    users = verify.get("testUsers")
    if isinstance(users, list):
        converted = []
        for user in users:
            if isinstance(user, dict):
                user = dict(user)
                if isinstance(user.get("password"), str):
                    redact.register(user["password"])  # a literal is refused, and must not leak either
                ref = secret_ref(user.get("password"), base)
                if ref is not None:
                    user["password"] = ref
            converted.append(user)
        out["testUsers"] = converted
    return out


def secret_refs(environment: Environment, doc: YamlDocument) -> list[tuple[SecretRef, SourceLocation, str]]:
    """Every secret reference in the environment, with where it is written."""
    found = []
    users = environment.verify.get("testUsers")
    for index, user in enumerate(users if isinstance(users, list) else []):
        if isinstance(user, dict) and isinstance(user.get("password"), SecretRef):
            path = ("verify", "testUsers", index, "password")
            found.append((user["password"], doc.locate(path), format_path(path)))
    return found


def load_environment(
    paths: Sequence[str], name: str, limits: Limits = DEFAULT_LIMITS, cache: ManifestCache | None = None
) -> tuple[Environment | None, YamlDocument | None, list[Diagnostic]]:
    """Find, parse and validate the environment ``name``; (environment, its document, diagnostics). The
    parse is taken from ``cache`` when the file is unchanged; validation runs every time."""
    file, looked = environment_file(paths, name)
    if file is None:
        where = SourceLocation(looked[0] if looked else (paths[0] if paths else name), 1, 1)
        if not looked:
            return (
                None,
                None,
                [Diagnostic(where, "", f"invalid environment name {name!r}: use letters, digits, '.', '-' and '_'")],
            )
        existing = available_environments(paths)
        known = (
            f"; environments here: {', '.join(existing)}"
            if existing
            else "; there is no environments/ folder with *.yaml files next to the manifests"
        )
        return (
            None,
            None,
            [Diagnostic(where, "", f"environment '{name}' not found (looked for {', '.join(looked)}){known}")],
        )
    text, diagnostics = read_text(file, limits, what="environment file")
    if text is None:
        return None, None, diagnostics
    docs, diagnostics = parse_yaml(text, file, limits, 2, cache, ENVIRONMENT_SCHEMA)
    docs = [d for d in docs if d.data is not None]
    if diagnostics:
        return None, None, diagnostics
    if len(docs) != 1:
        where = docs[1].start if len(docs) > 1 else SourceLocation(file, 1, 1)
        return None, None, [Diagnostic(where, "", "an environment file holds exactly one YAML document")]
    doc = docs[0]
    if not isinstance(doc.data, dict):
        return (
            None,
            None,
            [Diagnostic(doc.start, "", "an environment file must be a mapping (tenant, realm, vars, verify)")],
        )
    diagnostics = validate_document(doc, ENVIRONMENT_SCHEMA)
    data = doc.data
    raw_vars = data.get("vars")
    variables: dict[str, Any] = raw_vars if isinstance(raw_vars, dict) else {}
    for reserved in RESERVED_VARS:
        if reserved in variables:
            path = ("vars", reserved)
            diagnostics.append(
                Diagnostic(
                    doc.locate(path, key=True),
                    format_path(path),
                    f"'{reserved}' is a reserved variable name (always set by provisioner)",
                )
            )
    raw_realm = data.get("realm")
    realm: str = raw_realm if isinstance(raw_realm, str) else DEFAULT_REALM
    tenant = data.get("tenant") if isinstance(data.get("tenant"), str) else None
    stack = data.get("stack") if isinstance(data.get("stack"), str) else None
    base = os.path.dirname(file)
    env_name = os.path.splitext(os.path.basename(file))[0]
    environment = Environment(
        name=env_name,
        tenant=tenant,
        realm=realm,
        vars=dict(variables),
        verify=_verify_with_refs(data.get("verify"), base),
        location=doc.locations.get((), doc.start),
        stack=stack,
        policy=dict(data["policy"]) if isinstance(data.get("policy"), dict) else {},
    )
    return environment, doc, diagnostics
