"""The rooms hold: connectors see only the SDK, layers import downward, no module cycle.

Imports are read from the source with ``ast`` (function-level imports included, imports under
``if TYPE_CHECKING:`` excluded: they cost nothing at run time and exist for the type checker).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "deskbridge"
CONNECTORS = ROOT / "connectors"

# Lower rank = lower layer. A module may import its own layer and any lower one, never a higher.
RANKS = {
    "sdk": 0,
    "config": 1,
    "registry": 1,
    "sandbox": 1,
    "warehouse": 2,
    "pull": 3,
    "push": 4,
    "service": 5,
    "cli": 6,
    "testing": 7,
}


def module_name(path: Path) -> str:
    if path.is_relative_to(CONNECTORS):
        parts = ("deskbridge_connectors", *path.relative_to(CONNECTORS).with_suffix("").parts)
    else:
        parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports at run time, by absolute name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def room(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "deskbridge"


def src_modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def internal_imports(path: Path, known: dict[str, Path]) -> set[str]:
    return {name for name in imports(path) if name in known and name != module_name(path)}


@pytest.mark.parametrize(
    "path", sorted(CONNECTORS.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_connectors_import_only_the_sdk(path: Path) -> None:
    """A connector imports deskbridge.sdk and nothing else of deskbridge."""
    outside = sorted(
        name
        for name in imports(path)
        if name.split(".")[0] == "deskbridge"
        and not (name == "deskbridge.sdk" or name.startswith("deskbridge.sdk."))
    )
    assert outside == []


def test_layers_import_only_downward() -> None:
    """cli > service > push > pull > warehouse > config, registry, sandbox > sdk: never upward."""
    known = src_modules()
    upward = []
    for name, path in known.items():
        if name == "deskbridge":
            continue
        for target in internal_imports(path, known):
            if target == "deskbridge" or "." not in target:
                continue
            if RANKS[room(target)] > RANKS[room(name)]:
                upward.append(f"{name} -> {target}")
    assert sorted(upward) == []


def test_the_sdk_imports_nothing_else_of_deskbridge() -> None:
    """Inside sdk/, every deskbridge import is another sdk module."""
    known = src_modules()
    leaks = [
        f"{name} -> {target}"
        for name, path in known.items()
        if room(name) == "sdk"
        for target in internal_imports(path, known)
        if room(target) != "sdk"
    ]
    assert leaks == []


def test_no_import_cycle() -> None:
    """The module graph of src/deskbridge is acyclic (a package's __init__ counts as a module)."""
    known = src_modules()
    graph = {name: internal_imports(path, known) for name, path in known.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_sql_runs_only_in_the_warehouse_and_the_crosswalk() -> None:
    """No module outside warehouse/, push/crosswalk.py and testing.py calls ``.execute(``."""
    allowed = {"warehouse"}
    callers = sorted(
        name
        for name, path in src_modules().items()
        if room(name) not in allowed
        and name not in {"deskbridge.push.crosswalk", "deskbridge.testing"}
        and ".execute(" in path.read_text(encoding="utf-8")
    )
    assert callers == []
