"""YAML with line/column tracking, duplicate-key detection and caps against hostile input.

PyYAML's composer builds a node graph that still carries marks; we convert that graph to plain JSON
values ourselves instead of using the constructor, so that we can

* record the mark of every node by its document path (``("spec", "applications", 0)``),
* record where each mapping *key* is written (unknown-field errors point at the key),
* refuse duplicate keys (the constructor silently keeps the last one),
* count nodes while expanding aliases, so a billion-laughs file stops after a few thousand nodes
  instead of building an exponential structure,
* keep mapping keys as written (``on:`` stays the string ``"on"``, not ``True``).

Speed: libyaml's C scanner/parser (``yaml._yaml.CParser``), when PyYAML was built with it, feeds
events to PyYAML's Python composer (so the depth and alias caps below still apply while composing);
that is 5-8x faster than the pure-Python scanner. Only input that parses cleanly is taken from the C
path: on any error, the file is parsed again with the pure-Python loader, so every diagnostic
(message and location) is exactly the pure-Python one.

The documents themselves (:class:`YamlDocument`) and path and location helpers are in
:mod:`provisioner.manifest.yamldoc`, which needs no PyYAML: this module (and PyYAML) is imported only when
a file must actually be parsed, not when the manifest cache has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import Diagnostic, SourceLocation
from provisioner.manifest.yamldoc import DocPath, YamlDocument, format_path, location_of, offset_location

__all__ = [
    "DocPath",
    "YamlDocument",
    "bad_character",
    "format_path",
    "location_of",
    "offset_location",
    "parse_documents",
]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
# Timestamps and binary have no JSON form: keep the text as written.
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LimitExceeded(Exception):
    """Input exceeded one of the caps; carries the mark where it happened."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Caps:
    """Caps nesting depth and alias count while composing nodes (mixed into both loaders)."""

    _limits: Limits
    _depth: int
    _aliases: int
    check_event: Any  # provided by the parser the caps are mixed with
    peek_event: Any

    def _init_caps(self, limits: Limits) -> None:
        self._limits = limits
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self._limits.max_aliases:
                raise _LimitExceeded(
                    f"too many YAML aliases (more than {self._limits.max_aliases} in one file)",
                    self.peek_event().start_mark,
                )
        self._depth += 1
        try:
            if self._depth > self._limits.max_depth + 1:  # +1: the document root is depth 0
                raise _LimitExceeded(
                    f"nesting is deeper than {self._limits.max_depth} levels", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


class _ComposingLoader(_Caps, yaml.SafeLoader):
    """The pure-Python SafeLoader with the caps: the reference behaviour, and every error path."""

    def __init__(self, stream: str, limits: Limits) -> None:
        super().__init__(stream)
        self._init_caps(limits)


_CParser: Any
try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _CComposingLoader(
        _Caps, yaml.composer.Composer, _CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver
    ):
        """libyaml's scanner and parser (events) under PyYAML's Python composer, with the caps."""

        def __init__(self, stream: str, limits: Limits) -> None:
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._init_caps(limits)

        def compose_scalar_node(self, anchor: Any) -> Any:
            event: Any = self.peek_event()
            if event.value == "" and not event.style:  # plain: None here, "" from libyaml
                # An empty plain scalar (``key:`` with nothing, ``[a: ]``): libyaml places its mark
                # differently from PyYAML inside flow collections.
                raise _NotExact
            return super().compose_scalar_node(anchor)


class _NotExact(Exception):
    """The libyaml path might differ from the pure-Python one for this input: use the latter."""


# Input the libyaml path is not used for, because libyaml accepts it where PyYAML reports an error,
# or places marks differently: tabs, BOMs and the line breaks other than LF, '?' (complex keys;
# PyYAML refuses it inside flow plain scalars), '!' (tags end differently in flow collections) and
# a block scalar header directly followed by a comment ('|#', '>-#').
_NOT_FOR_LIBYAML = re.compile(r"[\t\r\x85\u2028\u2029\ufeff?!]|[|>][0-9+-]*#")


def _tag(tag: str) -> str:
    """A tag as written: ``!!python/object`` rather than ``tag:yaml.org,2002:python/object``."""
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


def _yaml_error(file: str, text: str, exc: yaml.YAMLError) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):
        # Raised for control characters; it has a character offset but no mark.
        where = offset_location(file, text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return Diagnostic(where, "", f"invalid character U+{code:04X}: control characters are not allowed")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        return Diagnostic(location_of(file, mark), "", f"YAML syntax error: {problem}{context}")
    return Diagnostic(SourceLocation(file, 1, 1), "", f"YAML syntax error: {exc}")


# Characters no manifest string may hold, however written (raw, or as a "\\0", "\\e", "\\ud800", "\\u202e"
# escape): C0 controls but tab, newline and carriage return; DEL and C1 controls; lone surrogates (not
# encodable: the request would fail); and the bidirectional overrides that make text display unlike
# what it is (CVE-2021-42574).
_BAD_CHARACTER = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def bad_character(text: str) -> str | None:
    """A description of the first character ``text`` may not hold, or None."""
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return None
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate (not valid Unicode text)"
    elif code in (0x061C, 0x200E, 0x200F) or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        kind = "a bidirectional text control"
    else:
        kind = "a control character"
    return f"invalid character U+{code:04X} at position {match.start() + 1} of the string: {kind} is not allowed"


class _Converter:
    """Turns one composed document into JSON values plus locations, collecting diagnostics."""

    def __init__(self, file: str, loader: Any, limits: Limits, diagnostics: list[Diagnostic]):
        self.file = file
        self.loader = loader
        self.limits = limits
        self.diagnostics = diagnostics
        self.nodes = 0
        self.locations: dict[DocPath, SourceLocation] = {}
        self.key_locations: dict[DocPath, SourceLocation] = {}

    def convert(self, node: yaml.Node, path: DocPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise _LimitExceeded(
                f"document expands to more than {self.limits.max_nodes} nodes (too many aliases?)", node.start_mark
            )
        if depth > self.limits.max_depth:
            raise _LimitExceeded(f"nesting is deeper than {self.limits.max_depth} levels", node.start_mark)
        self.locations[path] = location_of(self.file, node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self._check_collection_tag(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        return self._mapping(node, path, depth)  # type: ignore[arg-type]  # neither scalar nor sequence

    def _report(self, node: yaml.Node, path: DocPath, message: str) -> None:
        self.diagnostics.append(Diagnostic(location_of(self.file, node.start_mark), format_path(path), message))

    def _check_collection_tag(self, node: yaml.Node, path: DocPath) -> None:
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            self._report(node, path, f"unsupported YAML tag '{_tag(node.tag)}'")

    def _scalar(self, node: yaml.ScalarNode, path: DocPath) -> Any:
        problem = bad_character(node.value)
        if problem:
            self._report(node, path, problem)
        if node.tag in _TEXT_TAGS or node.tag == _STR_TAG:  # a str is its text (SafeConstructor's answer)
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._report(node, path, f"unsupported YAML tag '{_tag(node.tag)}'")
            return node.value
        if node.tag == "tag:yaml.org,2002:int" and len(node.value) > 30:
            # Python refuses to print ints past 4300 digits; nothing here needs more than 30.
            self._report(node, path, "number is too large")
            return node.value
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            # e.g. an integer with more digits than Python converts
            self._report(node, path, "invalid number")
            return node.value

    def _mapping(self, node: yaml.MappingNode, path: DocPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._report(key_node, path, "YAML merge keys ('<<') are not supported; write the fields out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._report(key_node, path, "mapping keys must be plain strings")
                continue
            key = str(key_node.value)
            problem = bad_character(key)
            if problem:
                self._report(key_node, path, "key: " + problem)
                continue
            if key in first_seen:
                first = first_seen[key].start_mark.line + 1
                self._report(key_node, path + (key,), f"duplicate key '{key}' (first defined on line {first})")
                continue
            first_seen[key] = key_node
            self.key_locations[path + (key,)] = location_of(self.file, key_node.start_mark)
            out[key] = self.convert(value_node, path + (key,), depth + 1)
        return out


_NO_KEY = object()


def _composed_fast(loader: Any, limits: Limits) -> Iterator[yaml.Node]:
    """PyYAML's composer, written as one loop over libyaml's events (same nodes, tags, marks, anchors and
    caps; no per-node method chain). Anything unusual raises, and the caller falls back to PyYAML."""
    get, resolve = loader.get_event, loader.resolve
    events, nodes = yaml.events, yaml.nodes
    scalar_node, sequence_node, mapping_node = nodes.ScalarNode, nodes.SequenceNode, nodes.MappingNode
    if type(get()) is not events.StreamStartEvent or loader.yaml_path_resolvers:
        raise _NotExact  # path resolvers would tag nodes by where they are: not a function of the text
    # Without path resolvers a collection's tag is the default, a scalar's a function of its text and
    # style; a document repeats its keys and values, so each distinct one is resolved once per file.
    seq_tag, map_tag = loader.DEFAULT_SEQUENCE_TAG, loader.DEFAULT_MAPPING_TAG
    scalar_tags: dict[tuple[str, Any], str] = {}
    aliases = 0
    while True:
        event = get()
        kind = type(event)
        if kind is events.StreamEndEvent:
            return
        if kind is not events.DocumentStartEvent:
            raise _NotExact
        anchors: dict[str, yaml.Node] = {}
        stack: list[list[Any]] = []  # [collection node, pending mapping key]
        root = None
        while root is None:
            event = get()
            kind = type(event)
            if kind is events.AliasEvent:
                aliases += 1
                if aliases > limits.max_aliases or event.anchor not in anchors:
                    raise _NotExact
                node = anchors[event.anchor]
            elif kind is events.SequenceEndEvent or kind is events.MappingEndEvent:
                node, pending = stack.pop()
                if pending is not _NO_KEY:
                    raise _NotExact
                node.end_mark = event.end_mark
            else:
                if len(stack) > limits.max_depth or event.tag is not None:
                    raise _NotExact
                if kind is events.ScalarEvent:
                    if event.value == "" and not event.style:
                        raise _NotExact  # as _CComposingLoader.compose_scalar_node
                    text_key = (event.value, event.implicit)
                    tag = scalar_tags.get(text_key)
                    if tag is None:
                        tag = scalar_tags[text_key] = resolve(scalar_node, event.value, event.implicit)
                    node = scalar_node(
                        tag,
                        event.value,
                        event.start_mark,
                        event.end_mark,
                        style=event.style,
                    )
                elif kind is events.SequenceStartEvent:
                    node = sequence_node(
                        seq_tag,
                        [],
                        event.start_mark,
                        None,
                        flow_style=event.flow_style,
                    )
                elif kind is events.MappingStartEvent:
                    node = mapping_node(
                        map_tag,
                        [],
                        event.start_mark,
                        None,
                        flow_style=event.flow_style,
                    )
                else:
                    raise _NotExact
                if event.anchor is not None:
                    if event.anchor in anchors:
                        raise _NotExact
                    anchors[event.anchor] = node
                if kind is not events.ScalarEvent:
                    stack.append([node, _NO_KEY])
                    continue
            if not stack:
                root = node
            else:
                parent = stack[-1]
                if type(parent[0]) is sequence_node:
                    parent[0].value.append(node)
                elif parent[1] is _NO_KEY:
                    parent[1] = node
                else:
                    parent[0].value.append((parent[1], node))
                    parent[1] = _NO_KEY
        if type(get()) is not events.DocumentEndEvent:
            raise _NotExact
        yield root


def _composed(loader: Any) -> Iterator[yaml.Node]:
    if _CParser is not None and isinstance(loader, _CComposingLoader):
        yield from _composed_fast(loader, loader._limits)
        return
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            yield node


def _convert_all(
    loader: Any, file: str, limits: Limits, cap: int, docs: list[YamlDocument], diagnostics: list[Diagnostic]
) -> None:
    for index, node in enumerate(_composed(loader)):
        if len(docs) >= cap:
            diagnostics.append(
                Diagnostic(
                    location_of(file, node.start_mark),
                    "",
                    f"too many YAML documents (more than {limits.max_documents})",
                )
            )
            break
        conv = _Converter(file, loader, limits, diagnostics)
        data = conv.convert(node, (), 0)
        docs.append(YamlDocument(data, location_of(file, node.start_mark), index, conv.locations, conv.key_locations))


def _parse_fast(text: str, file: str, limits: Limits, cap: int) -> tuple[list[YamlDocument], list[Diagnostic]] | None:
    """The libyaml path; None when it is unavailable or the input has any YAML or limit error."""
    if _CParser is None or _NOT_FOR_LIBYAML.search(text):
        return None
    docs: list[YamlDocument] = []
    diagnostics: list[Diagnostic] = []
    loader = None
    try:
        loader = _CComposingLoader(text, limits)
        _convert_all(loader, file, limits, cap, docs, diagnostics)
    except Exception:  # noqa: BLE001 - any failure: the pure-Python path reports it exactly
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return docs, diagnostics


def parse_documents(
    text: str, file: str, limits: Limits = DEFAULT_LIMITS, max_documents: int | None = None
) -> tuple[list[YamlDocument], list[Diagnostic]]:
    """Parse every document in ``text``.

    Returns the documents read before any fatal problem plus the diagnostics. A syntax error or an
    exceeded limit stops the file (the parser cannot resume); duplicate keys and bad tags do not.
    Empty documents are skipped.
    """
    cap = limits.max_documents if max_documents is None else max_documents
    fast = _parse_fast(text, file, limits, cap)
    if fast is not None:
        return fast
    docs: list[YamlDocument] = []
    diagnostics: list[Diagnostic] = []
    loader: _ComposingLoader | None = None
    try:
        loader = _ComposingLoader(text, limits)  # the reader rejects control characters here
        _convert_all(loader, file, limits, cap, docs, diagnostics)
    except _LimitExceeded as exc:
        diagnostics.append(Diagnostic(location_of(file, exc.mark), "", exc.message))
    except yaml.YAMLError as exc:
        diagnostics.append(_yaml_error(file, text, exc))
    except RecursionError:  # belt and braces: the depth cap should make this unreachable
        diagnostics.append(
            Diagnostic(SourceLocation(file, 1, 1), "", f"nesting is deeper than {limits.max_depth} levels")
        )
    finally:
        if loader is not None:
            loader.dispose()
    return docs, diagnostics
