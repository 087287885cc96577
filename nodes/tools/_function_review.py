"""The issues of one function, found without re-parsing the whole module.

The map step of the code-review graph analyses each function on its own. The
public rule engine (:func:`nodes.analysis.detect_issues`) works on a module, so
each function is handed to it as a small module of its own: the function's
lines, dedented, placed at their original line numbers by blank-line padding
(so every line number and message is the same as in a whole-module review).
When that cannot be done faithfully (a lambda bound after ``;`` on a line, or
a snippet that does not parse on its own) the whole module is analysed
instead: slower, never wrong.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from nodes.analysis import CodeSyntaxError, FunctionInfo, Issue, Thresholds, detect_issues

__all__ = ["FUNCTION_RULES", "function_issues", "module_issues"]

#: Rules about a function's own body and signature (the rest scan the whole module).
FUNCTION_RULES = frozenset({"AF101", "AF102", "AF103", "AF104", "AF105", "AF109", "AF110"})

# Same line breaks as ast (not str.splitlines, which also splits on form feeds).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@lru_cache(maxsize=4)
def _lines(code: str) -> tuple[str, ...]:
    # Every item of one map shares the same code object, whose hash Python caches,
    # so the module is split once per pass, not once per function.
    return tuple(_LINE_BREAK.split(code))


def _snippet(lines: tuple[str, ...], info: FunctionInfo) -> str | None:
    """The function as a module of its own with its original line numbers, or None."""
    first = lines[info.lineno - 1] if info.lineno - 1 < len(lines) else ""
    indent = first[: info.col]
    if indent.strip() or not first[info.col :].lstrip().startswith(_opening(info)):
        return None
    body = [
        line.removeprefix(indent)
        for line in lines[info.lineno - 1 : info.end_lineno]
    ]
    # Decorators matter to the rules (an @overload stub may ignore its arguments);
    # they go on the lines just above the def, whatever their original position.
    decorators = [f"@{d}" for d in info.decorators]
    padding = info.lineno - 1 - sum(d.count("\n") + 1 for d in decorators)
    if padding < 0:
        return None
    return "\n" * padding + "\n".join([*decorators, *body])


def _opening(info: FunctionInfo) -> str:
    if info.kind == "lambda":
        return info.name
    return "async" if info.is_async else "def"


def function_issues(code: str, info: FunctionInfo, thresholds: Thresholds) -> list[Issue]:
    """The function-scoped issues (:data:`FUNCTION_RULES`) of ``info``, sorted by line.

    Equal to the issues a whole-module :func:`detect_issues` reports for it.
    """
    snippet = _snippet(_lines(code), info)
    found: list[Issue] | None = None
    if snippet is not None:
        try:
            found = detect_issues(snippet, [replace(info, col=0)], thresholds)
        except CodeSyntaxError:
            found = None  # e.g. a line continuation the dedent broke: use the module
    if found is None:
        found = detect_issues(code, [info], thresholds)
    return [i for i in found if i.rule_id in FUNCTION_RULES]


def module_issues(code: str, thresholds: Thresholds) -> list[Issue]:
    """The issues of the rules that scan the whole module (bare/broad except, mutable defaults)."""
    return [i for i in detect_issues(code, [], thresholds) if i.rule_id not in FUNCTION_RULES]
