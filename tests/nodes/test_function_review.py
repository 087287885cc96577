"""Per-function issue detection (the map step) equals the whole-module review."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from nodes.analysis import Thresholds, detect_issues, extract_functions
from nodes.tools._function_review import function_issues, module_issues

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = ["difflib.py", "argparse.py", "inspect.py", "tarfile.py", "typing.py",
           "dataclasses.py", "pydoc.py", "functools.py", "enum.py", "asyncio/base_events.py"]


def key(issues: list) -> list[tuple[int, str, str, str]]:
    return sorted((i.line, i.rule_id, i.function or "", i.message) for i in issues)


@pytest.mark.parametrize("module", MODULES)
def test_per_function_issues_equal_the_whole_module_review(module: str) -> None:
    code = (STDLIB / module).read_text(encoding="utf-8")
    functions = extract_functions(code)
    limits = Thresholds(max_function_lines=20, max_complexity=5, max_params=3, max_nesting=2)
    split = [i for f in functions for i in function_issues(code, f, limits)]
    split += module_issues(code, limits)
    assert key(split) == key(detect_issues(code, functions, limits))


def test_tricky_layouts_fall_back_to_the_module_and_stay_right() -> None:
    code = (
        "import os; key = lambda a, b: a\n"           # lambda after `;`: no snippet
        "class K:\n"
        "\tdef m(self, x, y):\n"                       # tab indentation
        "\t\tz = 1\n"
        "\t\treturn x + \\\n"
        "y\n"                                          # continuation line at column 0
        "@decorate(\n    'multi-line')\n"
        "def deco(u):\n    return 2\n"
    )
    functions = extract_functions(code)
    split = [i for f in functions for i in function_issues(code, f, Thresholds())]
    split += module_issues(code, Thresholds())
    assert key(split) == key(detect_issues(code, functions, Thresholds()))
    assert {i.rule_id for i in split} >= {"AF109", "AF110"}
