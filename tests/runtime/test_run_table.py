"""One owner of a runtime's runs: the RunTable; the modules around it use its surface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "runtime"


@pytest.mark.parametrize("module", ["feed.py", "recovery.py", "timetravel.py", "runs.py",
                                    "catalog.py", "view.py"])
def test_modules_around_the_runtime_touch_no_one_elses_private_attributes(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    foreign = [ast.unparse(n) for n in ast.walk(tree)
               if isinstance(n, ast.Attribute) and n.attr.startswith("_")
               and not n.attr.startswith("__")
               and not (isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"))]
    assert foreign == []
