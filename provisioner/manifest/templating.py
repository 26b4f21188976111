"""Jinja2 templating over a manifest file's text, before YAML parsing.

Variables come from the environment file (``vars``) plus ``env`` (its name) and ``realm``. Every
undefined variable is reported where it is used, all at once: ``find_undeclared_variables`` lists
them before rendering, so the author does not fix them one run at a time.

Manifests are untrusted input in CI, so rendering runs in Jinja's immutable sandbox (no attribute
access to Python internals), without ``range``/``lipsum``/``namespace``, with bounds on steps, CPU
time, value sizes, widths and integers (:mod:`provisioner.manifest.template_guard`), and with the
output size capped. Secrets never pass through here: secret references are resolved after parsing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jinja2 is imported only when a file has template syntax (start-up cost)
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment

from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import Diagnostic, SourceLocation
from provisioner.manifest.yamldoc import offset_location

_TEMPLATE_NAME = "<manifest>"
_MARKERS = ("{{", "{%", "{#")
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


@functools.cache
def _env() -> SandboxedEnvironment:
    """The one guarded sandbox (:mod:`provisioner.manifest.template_guard`), built on first use."""
    from provisioner.manifest.template_guard import environment

    return environment()


def raw_yaml_warnings(text: str, file: str) -> list[Diagnostic]:
    """A warning when a templated file is not valid YAML before rendering: editors (yaml-language-server)
    check the raw file against the schema and would mark it invalid. Quoting the expression fixes it."""
    import yaml

    from provisioner.manifest.yamldoc import location_of

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for _ in yaml.load_all(text, Loader=loader_class):  # noqa: S506 (a safe loader)
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [
            Diagnostic(
                location_of(file, mark),
                "",
                "this file is not valid YAML before templating ("
                + (exc.problem or "invalid YAML")
                + "), so editors that check it against the schema mark it invalid; quote the template"
                ' expression (key: "{{ name }}") or keep {% %} blocks inside a YAML comment',
                severity="warning",
            )
        ]
    except yaml.YAMLError:
        return []
    return []


def has_template_syntax(text: str) -> bool:
    """True when ``text`` contains Jinja markers (a file without them is not rendered at all)."""
    return any(marker in text for marker in _MARKERS)


def _usages(text: str, name: str) -> list[int]:
    """Character offsets where variable ``name`` is used inside ``{{ }}`` or ``{% %}``."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    offsets = []
    for tag in _TAG.finditer(text):
        for hit in word.finditer(tag.group()):
            offsets.append(tag.start() + hit.start())
    return offsets


def _guarded_names(ast: nodes.Template) -> set[str]:
    """Names used under ``| default(...)`` or ``is defined``: undefined is fine for those."""
    from jinja2 import nodes

    guarded: set[str] = set()
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        if node.name in ("default", "d", "defined", "undefined") and node.node is not None:
            guarded.update(n.name for n in node.node.find_all(nodes.Name))
            if isinstance(node.node, nodes.Name):
                guarded.add(node.node.name)
    return guarded


# ``{{ name }}`` and ``{{ name | default('text') }}``: most manifests use nothing else.
_SIMPLE_TAG = re.compile(
    r"""\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*(?:default|d)\(\s*(?:'([^'\\{}]*)'|"([^"\\{}]*)")\s*\)\s*)?\}\}"""
)
_SIMPLE_TYPES = (str, int, float)
_JINJA_WORDS = frozenset(
    {
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "elif",
        "endif",
        "for",
        "endfor",
        "block",
        "macro",
        "set",
        "with",
        "import",
        "include",
        "extends",
        "from",
        "as",
        "recursive",
        "raw",
        "call",
        "filter",
        "loop",
    }
)


def _render_simple(text: str, variables: Mapping[str, Any]) -> str | None:
    """What Jinja would render for a text whose only template syntax is :data:`_SIMPLE_TAG` with
    defined (or defaulted) plain values; None for anything else (Jinja renders it, and reports errors).
    Rendering those without Jinja keeps ``import jinja2`` (about 70 ms) out of most runs."""
    if "{%" in text or "{#" in text or "\r" in text:
        return None
    pieces: list[str] = []
    end = 0
    for match in _SIMPLE_TAG.finditer(text):
        name, single, double = match.groups()
        if name in _JINJA_WORDS:
            return None
        if name in variables:
            value = variables[name]
            if not isinstance(value, _SIMPLE_TYPES):
                return None
            rendered = str(value)
        elif single is not None or double is not None:
            rendered = single if single is not None else double
        else:
            return None  # undefined: Jinja reports it where it is used
        pieces.append(text[end : match.start()])
        pieces.append(rendered)
        end = match.end()
    pieces.append(text[end:])
    if any("{{" in literal for literal in pieces[0::2]):
        return None  # a tag the pattern does not cover: Jinja decides
    return "".join(pieces)


def _template_line(exc: BaseException) -> int | None:
    """The template line Jinja was rendering when ``exc`` was raised (Jinja rewrites tracebacks)."""
    line = None
    import traceback

    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == _TEMPLATE_NAME and frame.lineno:
            line = frame.lineno
    return line


def render(
    text: str, file: str, variables: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS, hint: str = ""
) -> tuple[str | None, list[Diagnostic]]:
    """Render ``text`` with ``variables``; returns (rendered text or None, diagnostics).

    ``hint`` is appended to undefined-variable messages (where variables come from).

    Line numbers survive rendering as long as substitutions are single-line and block tags sit on
    lines of their own being removed with ``{%-``; locations after that refer to the rendered text.
    """
    if not has_template_syntax(text):
        return text, []
    simple = _render_simple(text, variables)
    if simple is not None and len(simple) <= limits.max_rendered_bytes:
        return simple, []
    import jinja2
    from jinja2 import meta

    _ENV = _env()
    try:
        ast = _ENV.parse(text, name=_TEMPLATE_NAME)
    except jinja2.TemplateSyntaxError as exc:
        where = SourceLocation(file, exc.lineno or 1, 1)
        return None, [Diagnostic(where, "", f"template syntax error: {exc.message}")]

    # Unguarded undefined names are all reported up front; a guarded name that is also used bare
    # somewhere fails during rendering instead (StrictUndefined), with its line.
    undeclared = sorted(meta.find_undeclared_variables(ast) - set(variables) - set(_ENV.globals) - _guarded_names(ast))
    if undeclared:
        found = []
        for name in undeclared:
            offsets = _usages(text, name) or [0]
            found += [
                Diagnostic(
                    offset_location(file, text, off),
                    "",
                    f"undefined template variable '{name}'" + (f" ({hint})" if hint else ""),
                )
                for off in offsets
            ]
        return None, found

    from provisioner.manifest.template_guard import Budget, TemplateBudgetExceeded

    try:
        code = _ENV.compile(ast, name=_TEMPLATE_NAME, filename=_TEMPLATE_NAME)
        template = _ENV.template_class.from_code(_ENV, code, _ENV.make_globals(None))
        budget = Budget(limits.max_template_steps, limits.max_template_seconds)
        chunks: list[str] = []
        size = 0
        with budget:
            for chunk in template.generate(**variables):
                size += len(chunk)
                if size > limits.max_rendered_bytes:
                    line = template.get_corresponding_lineno(budget.last_line) if budget.last_line else 1
                    return None, [
                        Diagnostic(
                            SourceLocation(file, line, 1),
                            "",
                            f"template output exceeds {limits.max_rendered_bytes} bytes",
                        )
                    ]
                chunks.append(chunk)
        return "".join(chunks), []
    except TemplateBudgetExceeded as exc:
        where = SourceLocation(file, _template_line(exc) or 1, 1)
        return None, [Diagnostic(where, "", str(exc.message if hasattr(exc, "message") else exc))]
    except jinja2.UndefinedError as exc:
        line = _template_line(exc) or 1
        match = re.fullmatch(r"'(\w+)' is undefined", exc.message or "")
        if match:
            # Point at the use on that line, like the up-front check does.
            on_line = [off for off in _usages(text, match.group(1)) if offset_location(file, text, off).line == line]
            where = offset_location(file, text, on_line[0]) if on_line else SourceLocation(file, line, 1)
            message = f"undefined template variable '{match.group(1)}'" + (f" ({hint})" if hint else "")
            return None, [Diagnostic(where, "", message)]
        return None, [Diagnostic(SourceLocation(file, line, 1), "", f"template error: {exc.message}")]
    except (
        jinja2.TemplateError,
        ArithmeticError,
        TypeError,
        ValueError,
        OverflowError,
        RecursionError,
        AttributeError,
        KeyError,
        IndexError,
    ) as exc:
        # Template authors can write any expression; a failing one is their error, not our bug.
        where = SourceLocation(file, _template_line(exc) or 1, 1)
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return None, [Diagnostic(where, "", f"template error: {detail}")]
