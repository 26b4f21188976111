"""Finding manifest files and reading them safely (size cap, NUL bytes, UTF-8).

File names in diagnostics are the paths as the user gave them (a directory argument is joined with
each file's relative path), so that ``file:line:col`` is clickable from where the command ran.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from provisioner import safefile
from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import Diagnostic, SourceLocation
from provisioner.manifest.yamldoc import offset_location

MANIFEST_SUFFIXES = (".yaml", ".yml")
ENVIRONMENTS_DIR = "environments"
#: Not manifests: the users and groups ``--tenant local`` seeds its emulator with (docs/emulator.md).
NOT_MANIFESTS = ("emulator-seed.yaml", "emulator-seed.yml")
#: The stack declaration at the top of a stack's folder (``stack: NAME``); not a manifest.
STACK_FILE = "provisioner.yaml"


def _walk(directory: str) -> list[str]:
    """Every manifest file under ``directory``, sorted by path components (deterministic).

    ``environments/`` folders hold environment files, not manifests, and ``emulator-seed.yaml`` holds
    the local emulator's users and groups; hidden folders (``.git``) are not ours. Directory symlinks are not followed (no cycles).
    """
    found: list[tuple[tuple[str, ...], str]] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if d != ENVIRONMENTS_DIR and not d.startswith(".")]
        rel_root = os.path.relpath(root, directory)
        parts = () if rel_root == "." else tuple(rel_root.split(os.sep))
        for name in files:
            if name == STACK_FILE and not parts:
                continue
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith(".") and name not in NOT_MANIFESTS:
                found.append((parts + (name,), os.path.normpath(os.path.join(directory, *parts, name))))
    return [path for _, path in sorted(found)]


def discover(paths: Sequence[str], limits: Limits = DEFAULT_LIMITS) -> tuple[list[str], list[Diagnostic]]:
    """The manifest files named by ``paths`` (files as given, directories walked recursively)."""
    files: list[str] = []
    seen: set[str] = set()
    diagnostics: list[Diagnostic] = []
    for path in paths:
        if os.path.isdir(path):
            candidates = _walk(path)
            if not candidates:
                diagnostics.append(
                    Diagnostic(SourceLocation(path, 1, 1), "", "no manifest files (*.yaml, *.yml) in this directory")
                )
        elif os.path.exists(path):
            candidates = [path]
        else:
            diagnostics.append(Diagnostic(SourceLocation(path, 1, 1), "", "no such file or directory"))
            continue
        for file in candidates:
            key = os.path.realpath(file)
            if key not in seen:  # the same file named twice is loaded once
                seen.add(key)
                files.append(file)
    if len(files) > limits.max_files:
        diagnostics.append(
            Diagnostic(
                SourceLocation(files[limits.max_files], 1, 1),
                "",
                f"too many manifest files (more than {limits.max_files})",
            )
        )
        files = files[: limits.max_files]
    return files, diagnostics


def read_text(path: str, limits: Limits = DEFAULT_LIMITS, what: str = "file") -> tuple[str | None, list[Diagnostic]]:
    """The UTF-8 text of ``path`` or a located diagnostic (too large, binary, not UTF-8, unreadable)."""
    where = SourceLocation(path, 1, 1)
    try:
        data = safefile.read_bytes(path, limits.max_file_bytes, what=what)
    except safefile.FileRefused as exc:
        return None, [Diagnostic(where, "", str(exc).replace(f"{what} {path} ", f"{what} ", 1))]
    except FileNotFoundError:
        return None, [Diagnostic(where, "", "no such file or directory")]
    except OSError as exc:
        return None, [Diagnostic(where, "", f"cannot read {what}: {exc.strerror or type(exc).__name__}")]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\0")
    if nul >= 0:
        prefix = data[:nul].decode("utf-8", errors="replace")
        return None, [
            Diagnostic(
                offset_location(path, prefix, len(prefix)),
                "",
                f"binary {what}: contains a NUL byte; manifests are UTF-8 text",
            )
        ]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        return None, [
            Diagnostic(
                offset_location(path, prefix, len(prefix)),
                "",
                f"{what} is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            )
        ]
