"""A cache of parsed and validated manifest files, like mypy's and ruff's caches.

Parsing YAML with locations and checking the schema is most of what loading costs (about 1 ms per
document); a stack's files rarely change between two commands. So a manifest file that loaded
**cleanly** (no diagnostic of any severity) leaves its resources here, and the next load
of the same bytes takes them back instead of parsing again. Rules across documents, environment
policies and secret resolution always run: only the per-file work is cached.

What an entry holds: the resources of one file as the loader built them from the file's text (kind,
name, realm, spec, locations), with secret *references* (``{fromEnv: NAME}``, ``{fromFile: PATH}``)
and never a secret value (a literal secret is an error, and files with errors are not cached; secrets
are resolved after loading, every time).

When an entry is used: its key matches, and its HMAC verifies. The key is a hash of the cache format,
the provisioner version, the bytes of the loader's code and of the JSON Schemas, the file's path as
given, the default realm, the limits, the file's bytes and, for a template, the text it renders to
with the environment's variables: any change to any of them is a miss. The
HMAC key is a random per-user secret kept beside the token cache (``$XDG_CACHE_HOME/provisioner`` or
``~/.cache/provisioner``, mode 0600), so an entry written by anyone else (a cache folder committed to a
repository, another user) is never trusted. A corrupt, foreign or unreadable entry is ignored and
rewritten; a cache that cannot be written is skipped silently.

Where: ``.provisioner/cache/manifests/`` in the working directory (folders 0700, files 0600, written
atomically; the folder holds a ``.gitignore`` of ``*``), one entry per manifest path.

The files that are not manifests (``provisioner.yaml``, ``environments/*.yaml``) are read on every load
too; their parsed YAML documents (values and locations, when the parse gave no diagnostic) are kept the
same way in ``.provisioner/cache/documents/`` (:func:`parse_yaml`), keyed by the code, the path, the
bytes and the limits. What they say is validated again every time. So a load whose files are all
unchanged never imports PyYAML.
``PROVISIONER_CACHE=off`` (or ``--no-cache``) turns it off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import Mapping
from typing import Literal

from provisioner.manifest import cache_entries as entries
from provisioner.manifest.limits import Limits
from provisioner.manifest.model import Diagnostic, Resource
from provisioner.manifest.yamldoc import YamlDocument

ENV_VAR = "PROVISIONER_CACHE"
_OFF = ("0", "off", "false", "no", "none")
FORMAT = "2"
CACHE_DIR = os.path.join(".provisioner", "cache", "manifests")
#: Beside ``manifests/``: the parsed YAML of the stack file and environment files (:func:`parse_yaml`).
DOCUMENTS_DIR = "documents"
KEY_FILE = "manifest-cache.key"

_disabled = False


def disable() -> None:
    """Turn the cache off for this process (``--no-cache``)."""
    global _disabled
    _disabled = True


def enabled(environ: Mapping[str, str]) -> bool:
    return not _disabled and (environ.get(ENV_VAR) or "").strip().lower() not in _OFF


_code_digest: str | None = None


def code_digest() -> str:
    """A hash of everything that decides what a file loads to: the provisioner version, the loader's and
    the kinds' code, and the JSON Schemas."""
    global _code_digest
    if _code_digest is None:
        from provisioner import __version__
        from provisioner.manifest import schema

        package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
        files = sorted(
            [
                *(
                    os.path.join(package, folder, name)
                    for folder in ("manifest", "kinds")
                    for name in _modules(package, folder)
                ),
                os.path.join(package, "grants.py"),
                os.path.join(package, "redact.py"),
            ]
        )
        digest = hashlib.sha256(f"{FORMAT}\0{__version__}\0".encode())
        for path in files:
            with open(path, "rb") as handle:
                digest.update(os.path.basename(path).encode() + b"\0" + handle.read() + b"\0")
        for name, document in sorted(schema.schema_documents().items()):
            digest.update(name.encode() + b"\0" + json.dumps(document, sort_keys=True).encode() + b"\0")
        _code_digest = digest.hexdigest()
    return _code_digest


def _modules(package: str, folder: str) -> list[str]:
    return [name for name in os.listdir(os.path.join(package, folder)) if name.endswith(".py")]


def _private_dir(path: str, readable: bool = False) -> bool:
    """``path`` is a folder of ours that nobody else can write into (created 0700 when missing); with
    ``readable``, others may read it (the working directory's ``.provisioner``: the journal's folder).

    Paths here are strings (``os.path``): ``pathlib`` (and ``urllib.parse``, which it imports) is not
    needed to start a ``validate``."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
    except OSError:
        return False
    if os.name == "nt":
        return True
    return (
        stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & (0o022 if readable else 0o077)
    )


def _mac_key(environ: Mapping[str, str]) -> bytes | None:
    """The per-user HMAC key (created on first use, 0600 in a 0700 folder); None when unavailable."""
    from provisioner.client.tokencache import user_cache_folder

    folder = user_cache_folder(environ)
    if not _private_dir(folder):
        return None
    path = os.path.join(folder, KEY_FILE)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                continue  # another process made it first: read theirs
            except OSError:
                return None
            import secrets

            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32).hex().encode())
            continue
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read(200)
        if os.name != "nt" and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            return None
        try:
            key = bytes.fromhex(data.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
        return key if len(key) == 32 else None
    return None


class ManifestCache:
    """The entries under ``root`` (one JSON file per manifest path), authenticated with ``mac_key``."""

    def __init__(self, root: str, mac_key: bytes) -> None:
        self.root = root
        self._mac_key = mac_key
        self.hits = 0
        self.misses = 0
        self._documents: str | Literal[False] | None = None

    def key(self, file: str, text: str, rendered: str, default_realm: str, limits: Limits) -> str:
        """What a file's entry must match: the code, the file's path and bytes (and, when templated, the
        text its template gave with this environment's variables), the default realm and the limits."""
        digest = hashlib.sha256()
        for part in (code_digest(), file, default_realm, repr(limits), str(len(text))):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(text.encode("utf-8", "surrogatepass"))
        if rendered is not text:
            digest.update(b"\0rendered\0" + rendered.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def has_entry(self, file: str) -> bool:
        """Whether ``file`` has an entry (of any version: a hint, :meth:`get` decides)."""
        return os.path.exists(self._entry(file))

    def _entry(self, file: str) -> str:
        return os.path.join(
            self.root, hashlib.sha256(os.path.abspath(file).encode("utf-8", "surrogatepass")).hexdigest() + ".json"
        )

    def _mac(self, body: bytes) -> str:
        return hmac.new(self._mac_key, body, hashlib.sha256).hexdigest()

    def _read(self, path: str) -> bytes:
        """The body of the entry at ``path`` when its MAC verifies (``ValueError`` when it does not)."""
        with open(path, "rb") as handle:
            raw = handle.read()
        mac, _, body = raw.partition(b"\n")
        if not hmac.compare_digest(mac.decode("ascii"), self._mac(body)):
            raise ValueError("foreign entry")
        return body

    def _write(self, path: str, body: bytes) -> None:
        """Store ``body`` with its MAC at ``path``, atomically (errors are ignored)."""
        import tempfile  # only to write: a load that finds everything cached never imports it

        try:
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(self._mac(body).encode("ascii") + b"\n" + body)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass

    def get(self, file: str, key: str) -> tuple[int, list[Resource]] | None:
        """The (document count, resources) stored for ``file`` under ``key``; None on any mismatch."""
        try:
            entry = json.loads(self._read(self._entry(file)), object_hook=entries.decode)
            if entry.get("key") != key:
                raise ValueError("another version of the file")
            found = int(entry["documents"]), [entries.resource(r, file) for r in entry["resources"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put(self, file: str, key: str, documents: int, resources: list[Resource]) -> None:
        """Store ``file``'s load (atomically; errors are ignored: the cache is only an optimisation).

        Nothing is stored unless reading the entry back gives resources equal to ``resources``: the specs
        and locations are read back and compared; the location tables are exact by construction
        (:func:`.cache_entries.plain` refuses what they cannot hold)."""
        try:
            body = json.dumps(
                {"key": key, "documents": documents, "resources": [entries.plain(r, file) for r in resources]},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode("utf-8", "surrogatepass")
            back = json.loads(body, object_hook=entries.decode)["resources"]
            if len(back) != len(resources) or not all(map(entries.same, back, resources)):
                return
        except (TypeError, ValueError):
            return  # a value JSON cannot hold as it is: not cached
        self._write(self._entry(file), body)

    # --- the YAML documents of the files that are not manifests (provisioner.yaml, environments/) ---------

    def _documents_entry(self, file: str) -> str | None:
        """Where the parsed documents of ``file`` are kept (``documents/`` beside ``manifests/``), or None
        when that folder is not a private one."""
        if self._documents is None:
            folder = os.path.join(os.path.dirname(self.root), DOCUMENTS_DIR)
            self._documents = folder if _private_dir(folder) else False
        if self._documents is False:
            return None
        name = hashlib.sha256(os.path.abspath(file).encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self._documents, name + ".json")

    def documents_key(self, file: str, text: str, limits: Limits, max_documents: int, schema: str) -> str:
        """What the parse of a file must match: the code, the file's path and bytes, the limits, the
        document cap and the schema it was checked against."""
        digest = hashlib.sha256()
        for part in (code_digest(), "documents", file, schema, repr(limits), str(max_documents), str(len(text))):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def get_documents(self, file: str, key: str) -> list[YamlDocument] | None:
        """The documents ``file`` parsed to under ``key``; None on any mismatch."""
        path = self._documents_entry(file)
        if path is None:
            return None
        try:
            entry = json.loads(self._read(path))  # no object hook: these are the documents as written
            if entry.get("key") != key:
                raise ValueError("another version of the file")
            found = [entries.document(d, file) for d in entry["documents"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeDecodeError):
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put_documents(self, file: str, key: str, docs: list[YamlDocument]) -> None:
        """Store the documents ``file`` parsed to (without any diagnostic); only when they read back equal."""
        path = self._documents_entry(file)
        if path is None:
            return
        try:
            body = json.dumps(
                {"key": key, "documents": [entries.plain_document(d, file) for d in docs]},
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode("utf-8", "surrogatepass")
            if [entries.document(d, file) for d in json.loads(body)["documents"]] != docs:
                return
        except (TypeError, ValueError):
            return
        self._write(path, body)


def parse_yaml(
    text: str, file: str, limits: Limits, max_documents: int, cache: ManifestCache | None, schema: str
) -> tuple[list[YamlDocument], list[Diagnostic]]:
    """:func:`provisioner.manifest.yamlload.parse_documents` for a file that is not a manifest (the stack
    file, an environment file): from ``cache`` when the same bytes parsed before, so that a load whose
    files are all cached never imports PyYAML. Stored only when the parse gave no diagnostic and every
    document is valid against ``schema`` (so a literal secret, which the schemas refuse, is never stored).
    What the documents say is checked again by the caller every time (schema, policies, secrets)."""
    key = None
    if cache is not None:
        key = cache.documents_key(file, text, limits, max_documents, schema)
        hit = cache.get_documents(file, key)
        if hit is not None:
            return hit, []
    from provisioner.manifest.yamlload import parse_documents

    docs, problems = parse_documents(text, file, limits, max_documents=max_documents)
    if cache is not None and key is not None and not problems:
        from provisioner.manifest.schema import validate_document

        if not any(validate_document(doc, schema) for doc in docs if doc.data is not None):
            cache.put_documents(file, key, docs)
    return docs, problems


def open_cache(environ: Mapping[str, str], cwd: str | None = None) -> ManifestCache | None:
    """The cache a load uses, or None (turned off, or no private place to keep it)."""
    if not enabled(environ):
        return None
    root = os.path.join(cwd or os.getcwd(), CACHE_DIR)
    caches = os.path.dirname(root)
    if not (_private_dir(os.path.dirname(caches), readable=True) and _private_dir(caches) and _private_dir(root)):
        return None
    key = _mac_key(environ)
    if key is None:
        return None
    ignore = os.path.join(caches, ".gitignore")
    if not os.path.exists(ignore):
        try:
            with open(ignore, "w", encoding="utf-8") as handle:
                handle.write("# provisioner's cache: never commit it\n*\n")
        except OSError:
            pass
    return ManifestCache(root, key)
