"""YAML documents as the loader gives them (:class:`YamlDocument`: JSON values plus the location of every
node and key), document paths and locations: everything about a parsed document that does not need PyYAML.

Parsing is :func:`provisioner.manifest.yamlload.parse_documents`; a load whose files are all in the manifest
cache (:mod:`provisioner.manifest.cache`) never imports PyYAML.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from provisioner.manifest.model import SourceLocation

DocPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@functools.lru_cache(maxsize=1 << 14)  # the same paths recur in every document of a kind
def format_path(path: DocPath) -> str:
    """Render a document path: ``spec.applications[0].permissions``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass
class YamlDocument:
    """One YAML document as JSON values, with the location of every node and key."""

    data: Any
    start: SourceLocation
    index: int
    locations: dict[DocPath, SourceLocation] = field(default_factory=dict)
    key_locations: dict[DocPath, SourceLocation] = field(default_factory=dict)

    def locate(self, path: DocPath, *, key: bool = False) -> SourceLocation:
        """Where ``path`` is written (its key when ``key``); falls back to the nearest parent."""
        if key and path in self.key_locations:
            return self.key_locations[path]
        while path:
            if path in self.locations:
                return self.locations[path]
            path = path[:-1]
        return self.locations.get((), self.start)


def location_of(file: str, mark: Any) -> SourceLocation:
    """A 1-based location from a 0-based PyYAML mark."""
    if mark is None:
        return SourceLocation(file, 1, 1)
    return SourceLocation(file, mark.line + 1, mark.column + 1)


def offset_location(file: str, text: str, offset: int) -> SourceLocation:
    """The 1-based location of a character offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return SourceLocation(file, line, col)
