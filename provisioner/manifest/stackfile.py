"""The stack's identity, declared once: ``--stack``, the environment's ``stack:``, or ``provisioner.yaml``.

The identity is the name written on every object the stack creates (the ``provisioner.stack``
marker) and the only thing prune trusts. It is never derived from a folder's name: two stacks in
``teamA/shared`` and ``teamB/shared`` are different stacks, and a copy of a stack under another folder
is the same stack.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from provisioner.manifest.cache import parse_yaml
from provisioner.manifest.limits import DEFAULT_LIMITS, Limits
from provisioner.manifest.model import Diagnostic, Environment, SourceLocation
from provisioner.manifest.schema import STACK_SCHEMA, validate_document
from provisioner.manifest.sources import STACK_FILE, read_text

if TYPE_CHECKING:
    from provisioner.manifest.cache import ManifestCache

NO_STACK = (
    "no stack declared: the stack's name is the ownership marker written on every object it creates, "
    "and it is never taken from a folder name. Add provisioner.yaml next to the manifests (stack: NAME), or "
    "stack: NAME to the environment file, or pass --stack NAME"
)


def stack_files(paths: Sequence[str]) -> list[str]:
    """The ``provisioner.yaml`` files at the top of the given folders (or next to the given files)."""
    found: list[str] = []
    for path in paths:
        base = path if os.path.isdir(path) else os.path.dirname(path) or "."
        candidate = os.path.normpath(os.path.join(base, STACK_FILE))
        if os.path.isfile(candidate) and candidate not in found:
            found.append(candidate)
    return found


def read_stack_file(
    file: str, limits: Limits = DEFAULT_LIMITS, cache: ManifestCache | None = None
) -> tuple[str | None, list[Diagnostic]]:
    """The name declared in ``file`` (``stack: NAME``) and any problems with it (its parse taken from
    ``cache`` when the file is unchanged)."""
    text, problems = read_text(file, limits, what="stack file")
    if text is None:
        return None, problems
    docs, problems = parse_yaml(text, file, limits, 2, cache, STACK_SCHEMA)
    docs = [d for d in docs if d.data is not None]
    if problems:
        return None, problems
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        return None, [Diagnostic(SourceLocation(file, 1, 1), "", "a stack file holds one mapping: stack: NAME")]
    problems = validate_document(docs[0], STACK_SCHEMA)
    name = docs[0].data.get("stack")
    return (name if isinstance(name, str) and not problems else None), problems


def declared_name(
    paths: Sequence[str],
    option: str | None,
    environment: Environment | None,
    limits: Limits = DEFAULT_LIMITS,
    cache: ManifestCache | None = None,
) -> tuple[str, list[Diagnostic]]:
    """``--stack`` > the environment's ``stack:`` > ``provisioner.yaml``; ``""`` when nothing declares one.

    Two stack files that disagree are an error (the manifests would belong to two stacks).
    """
    diagnostics: list[Diagnostic] = []
    names: list[tuple[str, str]] = []
    for file in stack_files(paths):
        name, problems = read_stack_file(file, limits, cache)
        diagnostics += problems
        if name:
            names.append((name, file))
    for name, file in names[1:]:
        if name != names[0][0]:
            diagnostics.append(
                Diagnostic(
                    SourceLocation(file, 1, 1),
                    "stack",
                    f"stack '{name}' differs from stack '{names[0][0]}' declared in "
                    f"{names[0][1]}; load one stack at a time",
                )
            )
    if option:
        return option, diagnostics
    if environment is not None and environment.stack:
        return environment.stack, diagnostics
    return (names[0][0] if names else ""), diagnostics
