"""The wheel ships every subpackage and the schemas (provisioner._schemas → schemas/)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {"provisioner"}
    for path in (ROOT / "provisioner").rglob("*"):
        if path.is_dir() and path.name != "__pycache__" and any(p.suffix in (".py", ".json") for p in path.iterdir()):
            on_disk.add(".".join(path.relative_to(ROOT).parts))
    missing = sorted(on_disk - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert "provisioner._schemas" in listed
    assert config["package-dir"] == {"provisioner._schemas": "schemas"}


def test_schemas_load_from_the_package_or_the_checkout() -> None:
    from provisioner.manifest.schema import SCHEMA_FILES, schema_documents

    assert sorted(schema_documents()) == sorted(SCHEMA_FILES)
    assert sorted(p.name for p in (ROOT / "schemas").glob("*.json")) == sorted(SCHEMA_FILES)
