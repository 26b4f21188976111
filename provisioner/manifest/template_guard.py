"""The guards that bound a manifest template's CPU and memory (imported with jinja2, on first use).

A template is untrusted input (a pull request's): without bounds, three nested loops run for minutes,
``'x'.ljust(30000000000)`` or ``'%.999999999f' % 1`` exhaust memory in one C call, and a doubling macro
or ``~`` chain grows a string past any limit. Each bound raises :class:`TemplateBudgetExceeded`,
whose message reads ``template exceeds …``; :func:`provisioner.manifest.templating.render` reports it
at the template line.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import time
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment, SecurityError

TEMPLATE_NAME = "<manifest>"

#: Bounds on what one expression may build (a manifest needs nothing close to these).
MAX_VALUE_CHARS = 1024 * 1024  # a string or list built by a template expression
MAX_WIDTH = 10_000  # a width, precision or count argument (ljust, center, '%.Nf', batch)
MAX_INT_BITS = 4096  # an integer computed by a template expression
_DIGITS = re.compile(r"\d+")


class TemplateBudgetExceeded(SecurityError):
    """The template ran past a bound; the message reads ``template exceeds …``."""


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict, set)) else 0


def _check_value(value: Any) -> Any:
    """``value`` itself, unless it is larger than a template may build."""
    if _size(value) > MAX_VALUE_CHARS:
        raise TemplateBudgetExceeded(f"template exceeds {MAX_VALUE_CHARS} characters in one value")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateBudgetExceeded(f"template exceeds {MAX_INT_BITS}-bit integers")
    return value


def _check_width(values: Any) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WIDTH:
            raise TemplateBudgetExceeded(f"template exceeds {MAX_WIDTH} for a width, precision or count ({value})")


def _check_format(spec: Any) -> None:
    """``'%.999999999f' % 1`` and ``'{:999999999}'.format(1)`` allocate gigabytes in one C call."""
    if isinstance(spec, str) and ("%" in spec or "{" in spec):
        _check_width(int(d) if len(d) < 12 else MAX_WIDTH + 1 for d in _DIGITS.findall(spec))


def _checked_concat(values: Any) -> str:
    """``a ~ b``: Jinja's ``str_join``, with the result's size checked."""
    parts = [str(v) for v in values]
    if sum(len(p) for p in parts) > MAX_VALUE_CHARS:
        raise TemplateBudgetExceeded(f"template exceeds {MAX_VALUE_CHARS} characters in one value")
    return "".join(parts)


class _CheckedCodeGenerator(CodeGenerator):
    """Compiles ``~`` to :func:`_checked_concat`, so repeated doubling stops at the size bound."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _guard_filter(name: str, function: Any) -> Any:
    """A filter whose width/count arguments and result size are bounded."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = [
            a for a in args if not isinstance(a, (jinja2.runtime.Context, jinja2.nodes.EvalContext, jinja2.Environment))
        ]
        if name in ("format",) and values:
            _check_format(values[0])
        if name in _WIDTH_FILTERS:
            _check_width([*values[1:], *kwargs.values()])
        if name == "replace" and len(values) >= 3 and isinstance(values[0], str):
            old, new = str(values[1]), str(values[2])
            if len(new) > len(old) and len(values[0]) // max(len(old), 1) * len(new) > MAX_VALUE_CHARS:
                raise TemplateBudgetExceeded(f"template exceeds {MAX_VALUE_CHARS} characters in one value")
        result = function(*args, **kwargs)
        return _check_value(result)

    return guarded


# Filters whose arguments say how big the result is.
_WIDTH_FILTERS = frozenset(
    {"center", "indent", "truncate", "wordwrap", "batch", "slice", "filesizeformat", "round", "urlize", "striptags"}
)


class _ManifestSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox (no ``list.append`` doubling), plus bounds: ``*``, ``**``, ``+`` and ``%``
    results, ``~`` concatenation, method-call width arguments (``'x'.ljust(30000000000)``), format
    precisions and every filter's result size. CPU time is bounded by :func:`render`'s step budget."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CheckedCodeGenerator

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and (abs(right) > 64 or abs(left) > 2**64):
            raise SecurityError("exponent too large in template expression")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and count > 10_000:
                    raise SecurityError("repetition too large in template expression")
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(count, int)
                    and len(seq) * count > MAX_VALUE_CHARS
                ):
                    raise TemplateBudgetExceeded(f"template exceeds {MAX_VALUE_CHARS} characters in one value")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_INT_BITS
            ):
                raise TemplateBudgetExceeded(f"template exceeds {MAX_INT_BITS}-bit integers")
        if operator == "+" and _size(left) + _size(right) > MAX_VALUE_CHARS:
            raise TemplateBudgetExceeded(f"template exceeds {MAX_VALUE_CHARS} characters in one value")
        if operator == "%":
            _check_format(left)
        return _check_value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes, list, tuple)):
            _check_width([*args, *kwargs.values()])
        for value in (*args, *kwargs.values()):  # what a macro is called with (recursive doubling)
            _check_value(value)
        return _check_value(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # 'spec'.format / format_map: the spec's widths are bounded too
            _check_format(value.__self__)
        return wrapped

    checked_concat = staticmethod(_checked_concat)


def environment() -> SandboxedEnvironment:
    """A new guarded sandbox: no ``range``, ``lipsum``, ``cycler``, ``joiner`` or ``namespace`` (cheap
    ways to loop or to hold mutable state), every filter wrapped by :func:`_guard_filter`."""
    env = _ManifestSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    for name in ("range", "lipsum", "cycler", "joiner", "namespace"):
        env.globals.pop(name, None)
    env.filters = {name: _guard_filter(name, function) for name, function in env.filters.items()}
    return env


class Budget:
    """Bounds a render's CPU: a trace function counts the template's executed lines (every loop
    iteration is at least one) and raises :class:`TemplateBudgetExceeded` past ``steps`` or
    ``seconds``. Only frames of the template's own code are traced: filters run at full speed."""

    def __init__(self, steps: int, seconds: float) -> None:
        self.steps = steps
        self.seconds = seconds
        self.count = 0
        self.last_line = 0
        self.deadline = 0.0
        self._previous: Any = None

    def _line(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            self.count += 1
            self.last_line = frame.f_lineno
            if self.count > self.steps:
                raise TemplateBudgetExceeded(f"template exceeds {self.steps} steps (loops too long?)")
            if not self.count & 1023 and time.thread_time() > self.deadline:
                raise TemplateBudgetExceeded(f"template exceeds {self.seconds:g} s of rendering CPU time")
        return self._line

    def _call(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != TEMPLATE_NAME:
            return None  # filters and Jinja's runtime run untraced, at full speed
        # Entering template code (a macro, a block) costs as much as the twenty-odd Python frames Jinja
        # spends on it: recursion is stopped as early as a loop.
        if not frame.f_code.co_flags & inspect.CO_GENERATOR:  # not the output generator resuming
            self.count += 20
        if self.count > self.steps:
            raise TemplateBudgetExceeded(f"template exceeds {self.steps} steps (loops too long?)")
        return self._line

    def __enter__(self) -> Budget:
        self.deadline = time.thread_time() + self.seconds
        self._previous = sys.gettrace()
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.settrace(self._previous)
