"""``runtime/`` has no import cycles: every import, including those under
TYPE_CHECKING and inside functions, points one way (DESIGN.md: layers import downward)."""

from __future__ import annotations

import ast
from pathlib import Path

from runtime.loops import components

ROOT = Path(__file__).resolve().parents[2] / "runtime"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The runtime modules ``path`` imports, wherever the import statement is."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from . import x`` / ``from .store import memory`` imports module x; any
            # other name comes from the module (or package) itself.
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.add(sub if sub in modules else target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    return {m: {i for i in _imports(p, set(modules)) if i in modules and i != m}
            for m, p in modules.items()}


def test_runtime_modules_import_each_other_without_cycles() -> None:
    graph = import_graph()
    cycles = {c for c in components(graph).values() if len(c) > 1}
    assert not cycles, "import cycles in runtime/: " + "; ".join(
        " <-> ".join(sorted(c)) for c in sorted(cycles, key=sorted))


def test_the_import_walk_sees_imports_under_type_checking_and_in_functions() -> None:
    graph = import_graph()
    assert "runtime.store.sql" in graph["runtime.store"]     # imported inside a function
    assert "runtime.supervisor" in graph["runtime.run"]
