"""Our cyclomatic complexity must equal what `radon cc` reports, function by function."""

from __future__ import annotations

import ast
import sysconfig
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from radon.complexity import cc_visit
from radon.visitors import Function

from nodes.analysis.complexity import cyclomatic_complexity

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CORPUS = [
    "json/decoder.py",
    "argparse.py",
    "ast.py",
    "difflib.py",
    "textwrap.py",
    "configparser.py",
    "shutil.py",
    "tarfile.py",
    "dataclasses.py",
    "inspect.py",
    "typing.py",
    "pydoc.py",
    "asyncio/base_events.py",
    "email/_header_value_parser.py",
]


def _radon_functions(code: str) -> Iterator[Function]:
    """Every function radon reports, including closures (radon nests them in `closures`)."""

    def walk(function: Function) -> Iterator[Function]:
        yield function
        for closure in function.closures:
            yield from walk(closure)

    for block in cc_visit(code):
        if isinstance(block, Function):  # classes come with their methods listed separately
            yield from walk(block)


def _ours(code: str) -> dict[tuple[str, int], int]:
    return {
        (node.name, node.lineno): cyclomatic_complexity(node)
        for node in ast.walk(ast.parse(code))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _mismatches(code: str) -> tuple[int, list[str]]:
    ours = _ours(code)
    checked, wrong = 0, []
    for function in _radon_functions(code):
        checked += 1
        mine = ours.get((function.name, function.lineno))
        if mine != function.complexity:
            wrong.append(
                f"{function.fullname}:{function.lineno} radon={function.complexity} ours={mine}"
            )
    return checked, wrong


@pytest.mark.parametrize("module", CORPUS)
def test_complexity_equals_radon_for_every_function_of_stdlib_module(module: str) -> None:
    code = (STDLIB / module).read_text(encoding="utf-8")
    checked, wrong = _mismatches(code)
    assert checked > 5, "the corpus module should contain functions"
    assert wrong == []


SNIPPETS = {
    "straight_line": ("def f(x):\n    return x + 1\n", 1),
    "if_elif_else": (
        "def f(x):\n    if x:\n        pass\n    elif x > 1:\n        pass\n    else:\n        pass\n",
        3,
    ),
    "for_with_else": ("def f(xs):\n    for x in xs:\n        pass\n    else:\n        pass\n", 3),
    "async_for_and_while": (
        "async def f(xs):\n    async for x in xs:\n        pass\n    while xs:\n        break\n",
        3,
    ),
    "try_two_handlers_else_finally": (
        (
            "def f():\n    try:\n        pass\n    except A:\n        pass\n    except B:\n"
            "        pass\n    else:\n        pass\n    finally:\n        pass\n"
        ),
        4,
    ),
    "try_star_counts_nothing": (
        "def f():\n    try:\n        pass\n    except* A:\n        pass\n",
        1,
    ),
    "with_counts_nothing": ("def f():\n    with a, b:\n        pass\n", 1),
    "bool_ops": ("def f(a, b, c):\n    return a and b and c or a\n", 4),
    "if_expression": ("def f(a):\n    return 1 if a else 2\n", 2),
    "comprehension_with_ifs": (
        "def f(xs):\n    return [x for x in xs if x if x > 1 for y in x]\n",
        5,
    ),
    "assert_ignores_its_bool_op": ("def f(a, b):\n    assert a and b\n", 2),
    "match_with_wildcard": (
        (
            "def f(x):\n    match x:\n        case 1:\n            pass\n        case [y]:\n"
            "            pass\n        case _:\n            pass\n"
        ),
        3,
    ),
    "match_with_capture_pattern": (
        "def f(x):\n    match x:\n        case 1:\n            pass\n        case other:\n            pass\n",
        2,
    ),
    "lambda_body_counts_for_enclosing_function": ("def f(a):\n    g = lambda: 1 if a else 2\n", 2),
    "nested_function_not_counted": (
        "def f(a):\n    def g():\n        if a:\n            pass\n    class C:\n        x = 1 if a else 2\n",
        1,
    ),
    "decorators_and_defaults_not_counted": (
        "@dec(a or b)\ndef f(x=a if b else c):\n    pass\n",
        1,
    ),
}


@pytest.mark.parametrize("code, expected", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_complexity_of_snippet_matches_expected_value_and_radon(code: str, expected: int) -> None:
    code = textwrap.dedent(code)
    function = next(
        n for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    assert cyclomatic_complexity(function) == expected
    radon_value = next(f.complexity for f in _radon_functions(code) if f.name == function.name)
    assert radon_value == expected


def test_lambda_complexity_counts_its_body() -> None:
    lam = ast.parse("f = lambda a, b: a if b and a else b").body[0].value  # type: ignore[attr-defined]
    assert cyclomatic_complexity(lam) == 3


def test_deeply_nested_expression_does_not_hit_recursion_limit() -> None:
    # 150 nested conditional expressions; our walk uses an explicit stack, not recursion.
    expr = "x"
    for _ in range(150):
        expr = f"(1 if a else {expr})"
    function = ast.parse(f"def f(a):\n    return {expr}\n").body[0]
    assert cyclomatic_complexity(function) == 151
