"""Limits that keep hostile or broken input cheap to reject (documented in README.md).

Manifests come from pull requests; validate runs in CI on untrusted branches. Every limit below is
far above what a real stack needs and low enough that the worst input is refused in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The caps the loader enforces; tests pass smaller ones."""

    max_file_bytes: int = 1024 * 1024  # one manifest or environment file
    max_files: int = 20_000  # files found under the given paths
    max_documents: int = 20_000  # YAML documents across all files (10,000-object stacks load)
    max_depth: int = 32  # nesting of mappings/sequences, aliases included
    max_aliases: int = 100  # alias nodes (*name) per file
    max_nodes: int = 20_000  # nodes per document after alias expansion
    max_rendered_bytes: int = 1024 * 1024  # template output per file
    max_template_steps: int = 500_000  # template lines executed per file (each loop iteration counts)
    max_template_seconds: float = 0.5  # rendering CPU time per file
    max_secret_bytes: int = 64 * 1024  # a fromFile secret
    min_secret_chars: int = 8  # shorter secrets are refused (and hard to redact)


DEFAULT_LIMITS = Limits()
