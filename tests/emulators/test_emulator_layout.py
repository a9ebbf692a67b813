"""Each emulator lives in ``connectors/<vendor>/emulator/`` and never imports its client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"
VENDORS = sorted(p.parent.parent.name for p in CONNECTORS.glob("*/emulator/__init__.py"))
CORE = {"__init__", "app", "wire", "store", "seed"}
EXTRAS = {"trackit": {"fields"}, "whmcs": {"actions"}}


def absolute_imports(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against ``package``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            anchor = parts[: len(parts) - node.level + 1] if node.level else []
            names.add(".".join([*anchor, node.module] if node.module else anchor))
    return names


def test_every_connector_has_an_emulator_folder() -> None:
    """No connector is left without one (the vendors are found by their folders)."""
    vendors = sorted(p.name for p in CONNECTORS.iterdir() if (p / "connector.py").exists())
    assert vendors == VENDORS


@pytest.mark.parametrize("vendor", VENDORS)
def test_same_files_in_every_emulator(vendor: str) -> None:
    """The same small set of modules, plus the vendor's declared extras, and nothing left behind."""
    folder = CONNECTORS / vendor
    assert {p.stem for p in (folder / "emulator").glob("*.py")} == CORE | EXTRAS.get(vendor, set())
    assert not [p.name for p in folder.glob("*.py") if p.stem.startswith(("emulator", "sandbox"))]


@pytest.mark.parametrize("vendor", VENDORS)
def test_emulator_imports_only_itself_and_the_sdk(vendor: str) -> None:
    """From deskbridge only ``deskbridge.sdk``; from the connector only its own emulator package."""
    package = f"deskbridge_connectors.{vendor}.emulator"
    found = {
        name
        for path in (CONNECTORS / vendor / "emulator").glob("*.py")
        for name in absolute_imports(path, package)
        if name.split(".")[0] in ("deskbridge", "deskbridge_connectors")
    }
    own = {name for name in found if name == package or name.startswith(package + ".")}
    assert found - own <= {"deskbridge.sdk"}
