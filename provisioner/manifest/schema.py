"""The JSON Schemas: loading them (installed or from the checkout), validating, readable errors.

The schemas are the single description of the manifest vocabulary: editors use them through
``# yaml-language-server: $schema=...`` and validate uses them here. Each jsonschema error is turned
into a :class:`Diagnostic` at the exact node (or key, for unknown fields) with a message written for
people, e.g. ``unknown field 'scope' (did you mean 'scopes'?)``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema is imported only for an invalid document's messages (start-up cost)
    import jsonschema
    from referencing import Registry

from provisioner.kinds import REGISTRY
from provisioner.manifest.model import Diagnostic
from provisioner.manifest.schema_check import Check, compile_schema
from provisioner.manifest.yamldoc import DocPath, YamlDocument, format_path

SCHEMA_FILES = (
    "definitions.schema.json",
    "oauth2provider.schema.json",
    "application.schema.json",
    "aiagent.schema.json",
    "environment.schema.json",
    "stack.schema.json",
    "manifest.schema.json",
)
#: Kind → the JSON Schema of its documents (from the kind declarations).
KIND_SCHEMAS = {spec.name: str(spec.schema) for spec in REGISTRY if spec.manifest and spec.schema}
ENVIRONMENT_SCHEMA = "environment.schema.json"
STACK_SCHEMA = "stack.schema.json"
COMBINED_SCHEMA = "manifest.schema.json"

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_CHECKOUT_DIR = os.path.join(os.path.dirname(_PACKAGE_DIR), "schemas")


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.loads(handle.read())


@functools.cache
def schema_documents() -> dict[str, dict[str, Any]]:
    """Every schema file by name: from the installed package, else from the source checkout (both read
    with ``os.path``: neither pathlib nor importlib.resources is imported to start a ``validate``)."""
    for folder in (os.path.join(_PACKAGE_DIR, "_schemas"), _CHECKOUT_DIR):  # the wheel's package, a checkout
        if os.path.isfile(os.path.join(folder, SCHEMA_FILES[0])):
            return {name: _read_json(os.path.join(folder, name)) for name in SCHEMA_FILES}
    from importlib import resources  # anything else (e.g. a zipped install); imported only here: slow
    from pathlib import Path

    try:
        root: Any = resources.files("provisioner._schemas")
        if not root.joinpath(SCHEMA_FILES[0]).is_file():
            raise FileNotFoundError(SCHEMA_FILES[0])
    except (ModuleNotFoundError, FileNotFoundError):
        # Running from a checkout (or an editable install made before the mapping existed).
        root = Path(_CHECKOUT_DIR)
    return {name: json.loads(root.joinpath(name).read_text(encoding="utf-8")) for name in SCHEMA_FILES}


@functools.cache
def _registry() -> Registry:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    # Schemas refer to each other by file name (relative refs, no $id), which is also what editors
    # resolve against the schema file's own location.
    pairs = [
        (name, Resource.from_contents(doc, default_specification=DRAFT202012))
        for name, doc in schema_documents().items()
    ]
    return Registry().with_resources(pairs)


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator for one schema file, with the other files resolvable."""
    import jsonschema

    schema = schema_documents()[name]
    return jsonschema.Draft202012Validator(schema, registry=_registry())


@functools.cache
def quick_check(name: str) -> Check | None:
    """The compiled yes/no check of one schema file (None when it cannot be compiled)."""
    return compile_schema(schema_documents(), name)


def bundled_schema() -> dict[str, Any]:
    """The combined manifest schema as one self-contained document (all refs local).

    Every file's ``$defs`` is merged into one ``$defs`` and each kind schema becomes
    ``#/$defs/<Kind>``; the names are unique across files by construction.
    """
    docs = copy.deepcopy(schema_documents())
    files_to_defs = {fname: f"#/$defs/{kind}" for kind, fname in KIND_SCHEMAS.items()}
    merged: dict[str, Any] = {}
    for fname in ("definitions.schema.json", *KIND_SCHEMAS.values()):
        doc = docs[fname]
        for key, value in doc.pop("$defs", {}).items():
            if key in merged:  # pragma: no cover - guarded by a test on the shipped files
                raise ValueError(f"schema definition {key!r} is defined twice")
            merged[key] = value
        if fname in files_to_defs:
            doc.pop("$schema", None)
            merged[files_to_defs[fname].rsplit("/", 1)[1]] = doc
    root = docs[COMBINED_SCHEMA]
    root["$defs"] = merged

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str):
                target, _, fragment = ref.partition("#")
                if target in files_to_defs:
                    out["$ref"] = files_to_defs[target] + fragment
                elif target:
                    out["$ref"] = "#" + fragment
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    return rewrite(root)


# --- error messages ------------------------------------------------------------------------------

_ARTICLE_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def describe_value(value: Any) -> str:
    """How a YAML value is named in messages ('a string', 'a list', 'an empty value')."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` (one level is all our schemas use) to describe the expected shape."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target, _, fragment = ref.partition("#")
    # A local ref ("#/$defs/x") may live in any file; definition names are unique across files.
    candidates = [target] if target else list(schema_documents())
    for name in candidates:
        node: Any = schema_documents().get(name, {})
        for part in [p for p in fragment.split("/") if p]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _expected(schema: dict[str, Any]) -> str:
    schema = _resolve(schema)
    if schema.get("title") == "Secret reference":
        return "a secret reference {fromEnv: NAME} or {fromFile: PATH}"
    kind = schema.get("type")
    if kind == "array":
        items = _resolve(schema.get("items", {}))
        item_type = items.get("type")
        if item_type == "string":
            return "a list of strings"
        if item_type == "object":
            return "a list of mappings"
        return "a list"
    if isinstance(kind, str):
        return _ARTICLE_TYPES.get(kind, kind)
    return "a different value"


def _quote(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown) if ("'" in shown or not shown.isprintable()) else f"'{shown}'"
    if isinstance(value, dict) and isinstance(value.get("userName"), str) and len(value) == 1:
        return f"{{userName: {value['userName']}}}"
    return json.dumps(value) if isinstance(value, (int, float, bool)) or value is None else describe_value(value)


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib  # only to suggest a name for a wrong one

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_secret_path(path: DocPath) -> bool:
    # Never echo what the author wrote where a secret belongs: it may be the secret itself.
    return any(part in ("clientSecret", "password") for part in path if isinstance(part, str))


def _messages(error: jsonschema.ValidationError) -> Iterator[tuple[DocPath, bool, str]]:
    """(path, point at key?, message) for one jsonschema error."""
    path: DocPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    keyword = error.validator
    title = _resolve(schema).get("title", "")
    secret = _is_secret_path(path)

    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(allowed)):
            hint = _did_you_mean(key, allowed) or (f" (allowed: {', '.join(allowed)})" if len(allowed) <= 6 else "")
            yield path + (key,), True, f"unknown field '{key}'{hint}"
        return
    if keyword == "required" and isinstance(instance, dict):
        for key in schema.get("required", []):
            if key not in instance:
                hint = (
                    f" ({schema_documents()['definitions.schema.json']['$defs']['apiVersion']['const']})"
                    if key == "apiVersion"
                    else ""
                )
                yield path, False, f"missing required field '{key}'{hint}"
        return
    if keyword == "type":
        if title == "Secret reference" and isinstance(instance, str):
            yield path, False, ("a literal secret is not allowed; use {fromEnv: NAME} or {fromFile: PATH}")
            return
        yield path, False, f"expected {_expected(schema)}, got {describe_value(instance)}"
        return
    if keyword == "enum":
        allowed = [str(v) for v in schema.get("enum", [])]
        hint = _did_you_mean(str(instance), allowed) if isinstance(instance, str) else ""
        if title == "Grant type":
            listed = ", ".join(v for v in allowed if ":" not in v) + ", or a full URN"
            head = f"unknown grant type {_quote(instance)}"
        else:
            listed = ", ".join(allowed)
            head = f"{_quote(instance)} is not allowed"
        # A suggestion is enough; the full list only when we cannot guess.
        yield path, False, head + (hint or f" (expected one of: {listed})")
        return
    if keyword == "const":
        yield path, False, f"must be '{schema.get('const')}', got {_quote(instance)}"
        return
    if keyword == "pattern":
        if title == "Client ID":
            return  # reported by rules.check_client_ids, which can name the offending character
        shown = "this value" if secret else _quote(instance)
        if title == "Scope":
            yield path, False, f"invalid scope {shown}: scopes are printable ASCII without spaces, '\"' or '\\'"
        elif title == "Realm":
            yield path, False, f"invalid realm {shown}: use letters, digits, '-' and '_'"
        elif path and path[-1] == "fromEnv":
            yield path, False, f"invalid environment variable name {shown}"
        elif title == "Tenant":
            yield path, False, f"invalid tenant {shown}: expected 'local' or an https:// URL"
        elif title == "Redirect URI":
            yield (
                path,
                False,
                f"invalid redirect URI {shown}: expected an absolute URI such as https://app.example.com/callback",
            )
        elif error.validator_value and path and path[-1] not in ("vars",):
            yield path, False, f"invalid value {shown}"
        return
    if keyword == "propertyNames":
        yield path, False, f"invalid variable name {_quote(instance)}: use letters, digits and '_'"
        return
    if keyword == "uniqueItems" and isinstance(instance, list):
        seen: list[Any] = []
        for index, item in enumerate(instance):
            if item in seen:
                yield path + (index,), False, f"duplicate entry {_quote(item)}"
            else:
                seen.append(item)
        return
    if keyword == "minLength":
        yield path, False, "must not be empty"
        return
    if keyword == "maxLength":
        yield path, False, f"is too long (at most {schema.get('maxLength')} characters)"
        return
    if keyword in ("minimum", "maximum"):
        bound = "at least" if keyword == "minimum" else "at most"
        yield path, False, f"must be {bound} {error.validator_value}, got {_quote(instance)}"
        return
    if keyword in ("minProperties", "maxProperties"):
        names = sorted(schema.get("properties", {}))
        if title == "Secret reference":
            yield path, False, "expected exactly one of 'fromEnv' or 'fromFile'"
        else:
            yield path, False, f"set exactly one of {' or '.join(repr(n) for n in names)}"
        return
    # Anything our schemas do not use yet: jsonschema's own text, without echoing secrets.
    yield path, False, "invalid value" if secret else error.message


def validate_document(doc: YamlDocument, schema_name: str) -> list[Diagnostic]:
    """Validate one document against one schema file; one diagnostic per problem, located."""
    check = quick_check(schema_name)
    if check is not None and check(doc.data):
        return []  # valid: jsonschema would report nothing (it runs, for the messages, otherwise)
    out: list[Diagnostic] = []
    for error in validator(schema_name).iter_errors(doc.data):
        for path, at_key, message in _messages(error):
            out.append(Diagnostic(doc.locate(path, key=at_key), format_path(path), message))
    return out
