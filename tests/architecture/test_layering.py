"""Architecture rules, read from the source: kinds are named only where they are declared, and the
public API stays a façade.

Outside ``kinds/`` (the declarations), ``client/`` and ``emulator/`` (which speak the tenant's API), no
module imports a kind's module or compares against a kind's name: they loop over ``kinds.REGISTRY``.
Names inside docstrings, help texts and messages are fine (only an exact string constant, or an
import, counts).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from provisioner.kinds import REGISTRY

ROOT = Path(__file__).resolve().parents[2] / "provisioner"
ALLOWED = ("kinds", "client", "emulator")
KIND_NAMES = {spec.name for spec in REGISTRY}
#: The modules that declare a kind (each exports the ``SPEC`` the registry lists).
KIND_MODULES = {
    name
    for name in (f"provisioner.kinds.{p.stem}" for p in (ROOT / "kinds").glob("*.py"))
    if getattr(importlib.import_module(name), "SPEC", None) in REGISTRY
}


def _outside() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] not in ALLOWED)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def kind_references(source: str) -> list[str]:
    """``line: what`` for every import of a kind module and every string constant that is a kind's name
    (docstrings and the text around f-string values do not count)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            hits = sorted(names & KIND_MODULES)
            if hits:
                found.append(f"{node.lineno}: imports {', '.join(hits)}")
        elif isinstance(node, ast.Import):
            hits = sorted({a.name for a in node.names} & KIND_MODULES)
            if hits:
                found.append(f"{node.lineno}: imports {', '.join(hits)}")
        elif isinstance(node, ast.Constant) and node.value in KIND_NAMES and id(node) not in docs:
            found.append(f"{node.lineno}: names the kind {node.value!r}")
    return found


def test_the_rule_sees_what_it_forbids() -> None:
    assert KIND_MODULES >= {"provisioner.kinds.aiagent", "provisioner.kinds.application"}
    bad = 'from provisioner.kinds import aiagent\nimport provisioner.kinds.privilege\nif kind == "AIAgent":\n    pass\n'
    assert kind_references(bad) == [
        "1: imports provisioner.kinds.aiagent",
        "2: imports provisioner.kinds.privilege",
        "3: names the kind 'AIAgent'",
    ]
    fine = '"""An AIAgent."""\nfrom provisioner.kinds import REGISTRY, spec_of\nx = f"AIAgent {y}"\nz = "no AIAgent here"\n'
    assert kind_references(fine) == []


def test_no_module_outside_kinds_client_and_emulator_names_a_kind() -> None:
    offenders = {
        str(path.relative_to(ROOT.parent)): refs
        for path in _outside()
        if (refs := kind_references(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "loop over provisioner.kinds.REGISTRY (KindSpec) instead of naming a kind"


def test_api_is_a_facade_over_orchestrate() -> None:
    source = (ROOT / "api.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in imported if m.startswith("provisioner.")} <= {
        "provisioner.apply",
        "provisioner.plan",
        *(m for m in imported if m.startswith("provisioner.orchestrate")),
    }
    assert len(source.splitlines()) < 200


#: What only the orchestration calls: a command that plans, applies or verifies goes through provisioner.api.
RUN_STEPS = {"make_plan", "execute", "read_snapshot", "run_verify", "plan_with_snapshot", "apply_run", "verify_run"}
RUN_MODULES = (
    "provisioner.orchestrate",
    "provisioner.apply",
    "provisioner.verify.runner",
    "provisioner.kinds.snapshot",
)


def test_commands_run_plans_applies_and_verifies_through_the_api() -> None:
    offenders = []
    for path in sorted((ROOT / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                if node.module.startswith(RUN_MODULES) or names & RUN_STEPS:
                    offenders.append(f"{path.name}:{node.lineno}: from {node.module} import {', '.join(sorted(names))}")
    assert offenders == []
