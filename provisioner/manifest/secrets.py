"""Secret references: the dotenv reader and resolution of ``{fromEnv}`` / ``{fromFile}``.

Order for ``fromEnv``: the real process environment first, then the ``--env-file`` (dotenv). The
environment wins so that CI can override a checked-in demo file without editing it, as docker
compose and most dotenv loaders do.

Every value is registered with :mod:`provisioner.redact` the moment it is read, before any check
can fail, and no message here ever contains a value: only the reference (``{fromEnv: NAME}``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner import redact, safefile
from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import Diagnostic, SecretRef, SourceLocation

_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def _after_quote(rest: str) -> str | None:
    """None when what follows a closing quote is only blanks or a ``#`` comment, else the problem."""
    rest = rest.strip(" \t")
    return None if not rest or rest.startswith("#") else "unexpected text after the closing quote"


def _unquote(raw: str) -> tuple[str | None, str | None]:
    """(value, None) for a dotenv right-hand side, or (None, problem): a quote not closed, or a
    closing quote followed by anything but a comment (``KEY="v" junk`` is a mistake, not a value)."""
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end < 0:
            return None, "unclosed quote"
        problem = _after_quote(raw[end + 1 :])
        return (None, problem) if problem else (raw[1:end], None)
    if raw[:1] == '"':
        out, i = [], 1
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                out.append(_DOUBLE_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
                continue
            if ch == '"':
                problem = _after_quote(raw[i + 1 :])
                return (None, problem) if problem else ("".join(out), None)
            out.append(ch)
            i += 1
        return None, "unclosed quote"
    # Unquoted: an inline comment starts at " #".
    cut = re.search(r"\s#", raw)
    return (raw[: cut.start()] if cut else raw).strip(), None


def parse_dotenv(text: str, file: str) -> tuple[dict[str, str], list[Diagnostic]]:
    """Parse dotenv text: ``KEY=VALUE`` lines, quotes, ``#`` comments, an optional ``export``.

    Values are single-line. Lines end at ``\\n`` (or ``\\r\\n``) only: ``str.splitlines`` would also
    split at form feeds, vertical tabs and U+2028, silently truncating a value. Bad lines are
    reported by line number without their content (the content is probably a secret).
    """
    values: dict[str, str] = {}
    diagnostics: list[Diagnostic] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        value, what = _unquote(match.group(2)) if match else (None, "expected KEY=VALUE")
        if match is None or value is None:
            diagnostics.append(Diagnostic(SourceLocation(file, number, 1), "", f"invalid line in env file: {what}"))
            continue
        values[match.group(1)] = value
    return values, diagnostics


def read_dotenv(path: str, limits: Limits = DEFAULT_LIMITS) -> tuple[dict[str, str], list[Diagnostic]]:
    """Read a dotenv file (``--env-file``). Values are *not* registered as secrets here: the file
    also holds plain settings (tenant URL, realm); whoever uses a value as a secret registers it."""
    where = SourceLocation(path, 1, 1)
    try:
        data = safefile.read_bytes(path, limits.max_file_bytes, what="env file")
    except safefile.FileRefused as exc:
        return {}, [Diagnostic(where, "", str(exc).replace(f"env file {path} ", "env file ", 1))]
    except FileNotFoundError:
        return {}, [Diagnostic(where, "", "env file does not exist")]
    except OSError as exc:
        return {}, [Diagnostic(where, "", f"cannot read env file: {exc.strerror or exc}")]
    if b"\0" in data:
        return {}, [Diagnostic(where, "", "env file is binary (contains NUL bytes)")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}, [Diagnostic(where, "", "env file is not valid UTF-8")]
    return parse_dotenv(text, path)


def secret_ref(value: Any, base: str = "") -> SecretRef | None:
    """A :class:`SecretRef` for a schema-valid ``{fromEnv: X}`` / ``{fromFile: P}`` mapping."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, name),) = value.items()
        if isinstance(name, str) and name:
            if key == "fromEnv":
                return SecretRef("env", name)
            if key == "fromFile":
                return SecretRef("file", name, base)
    return None


@dataclass
class SecretResolver:
    """Resolves references, collecting every problem instead of stopping at the first."""

    environ: Mapping[str, str]
    dotenv: Mapping[str, str]
    env_file: str | None = None
    limits: Limits = DEFAULT_LIMITS
    #: Directories ``fromFile`` may read from (the stack's root, ``--secrets-dir``); empty: anywhere.
    roots: tuple[str, ...] = ()
    #: Files ``fromFile`` must never read (the service-account key file).
    refused: tuple[str, ...] = ()
    values: dict[SecretRef, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def resolve(self, ref: SecretRef, location: SourceLocation, path: str) -> None:
        """Resolve ``ref`` (written at ``location``/``path``) into ``values`` or a diagnostic."""
        if ref in self.values:
            return
        value, problem = self._env(ref) if ref.source == "env" else self._file(ref)
        if value is not None:
            redact.register(value)  # first thing: nothing after this may leak it
            if not value:
                problem = f"secret {ref} is empty"
            elif len(value) < self.limits.min_secret_chars:
                problem = f"secret {ref} is too short (at least {self.limits.min_secret_chars} characters)"
            else:
                self.values[ref] = value
        if problem:
            self.diagnostics.append(Diagnostic(location, path, problem))

    def _env(self, ref: SecretRef) -> tuple[str | None, str | None]:
        if ref.name in self.environ:
            return self.environ[ref.name], None
        if ref.name in self.dotenv:
            return self.dotenv[ref.name], None
        where = (
            f"the environment or in {self.env_file}" if self.env_file else "the environment (or pass --env-file FILE)"
        )
        return None, f"secret {ref} is not set: define {ref.name} in {where}"

    def _file(self, ref: SecretRef) -> tuple[str | None, str | None]:
        from pathlib import Path  # only for fromFile (a validate without one starts without pathlib)

        full = Path(ref.base or ".") / ref.name
        shown = os.path.normpath(full)
        try:
            real = safefile.confined(str(full), self.roots, self.refused) if self.roots else str(full)
            data = safefile.read_bytes(real, self.limits.max_secret_bytes, what="file")
        except safefile.FileRefused as exc:
            return None, f"secret {ref}: {str(exc).replace(str(full), shown, 1)}"
        except FileNotFoundError:
            return None, f"secret {ref}: file {shown} does not exist"
        except OSError as exc:
            return None, f"secret {ref}: cannot read {shown}: {exc.strerror or type(exc).__name__}"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"secret {ref}: {shown} is not valid UTF-8"
        # Files written with `echo` end in a newline that is not part of the secret.
        if text.endswith("\r\n"):
            text = text[:-2]
        elif text.endswith("\n"):
            text = text[:-1]
        return text, None
