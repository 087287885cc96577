"""Rule-based issue detection for the code-review workflow.

Each rule has a stable id (``AF1xx``) so suggestions, scores and API clients
can refer to it. Function-scoped rules run on the ``FunctionInfo`` records the
caller passes in; rules about statements that can also appear at module level
(``except`` clauses, default values) scan the whole module. ``Issue``,
``Thresholds`` and ``RULES`` are defined in :mod:`nodes.analysis.models` and
re-exported here.

=====  =================================================  ========
id     rule                                               severity
=====  =================================================  ========
AF101  function longer than ``max_function_lines``         warning
AF102  complexity above ``max_complexity``                 warning (error above twice the limit)
AF103  public function or method without a docstring      info
AF104  more than ``max_params`` parameters                 warning
AF105  blocks nested deeper than ``max_nesting``           warning
AF106  bare ``except:`` that does not re-raise             error
AF107  ``except Exception``/``BaseException`` not re-raising  warning
AF108  mutable default argument                            error
AF109  unused argument                                     info
AF110  local variable assigned but never read              warning
=====  =================================================  ========
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from nodes.analysis.complexity import cyclomatic_complexity
from nodes.analysis.errors import parse_code
from nodes.analysis.functions import FunctionInfo, FunctionNode, iter_function_nodes
from nodes.analysis.models import RULES, Issue, Severity, Thresholds
from nodes.analysis.scopes import (
    assigned_locals,
    is_stub,
    max_nesting,
    names_read,
    reraises,
)

__all__ = ["RULES", "Issue", "Severity", "Thresholds", "detect_issues"]

_SELF_NAMES = frozenset({"self", "cls"})
_BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException"})
_MUTABLE_CALLS = frozenset({"list", "dict", "set", "bytearray"})
# Decorators after which an unused argument is expected (the body is a placeholder).
_STUB_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})


def detect_issues(
    code: str,
    functions: Sequence[FunctionInfo],
    thresholds: Thresholds | Mapping[str, Any] | None = None,
) -> list[Issue]:
    """Run every rule over ``code`` and return the issues sorted by line.

    Args:
        code: the Python source the ``functions`` were extracted from.
        functions: output of :func:`extract_functions`; function-scoped rules
            (AF101-AF105, AF109, AF110) only look at these.
        thresholds: limits to apply; a dict is validated into :class:`Thresholds`.
            Defaults to ``Thresholds()``.

    Raises:
        CodeSyntaxError: if ``code`` does not parse.
    """
    limits = _as_thresholds(thresholds)
    tree = parse_code(code)
    by_position: dict[tuple[int, int], FunctionNode] = {}
    qualnames: dict[int, str] = {}
    for node, stmt, qualname, _kind in iter_function_nodes(tree):
        by_position[(stmt.lineno, stmt.col_offset)] = node
        qualnames[id(node)] = qualname

    issues: list[Issue] = []
    for info in functions:
        found = by_position.get((info.lineno, info.col))
        if found is not None:  # stale records (code changed since extraction) are skipped
            issues.extend(_function_issues(info, found, limits))
    issues.extend(_module_issues(tree, qualnames))
    issues.sort(key=lambda issue: (issue.line, issue.rule_id, issue.function or ""))
    return issues


def _as_thresholds(value: Thresholds | Mapping[str, Any] | None) -> Thresholds:
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        return value
    return Thresholds.model_validate(dict(value))


def _function_issues(info: FunctionInfo, node: FunctionNode, limits: Thresholds) -> Iterator[Issue]:
    """Function-scoped rules (AF101-AF105, AF109, AF110)."""
    name, where = info.qualname, f"`{info.qualname}` (line {info.lineno})"

    def issue(rule: str, message: str, line: int, severity: Severity) -> Issue:
        return Issue(rule, message, line, severity, name)

    if info.line_count > limits.max_function_lines:
        yield issue(
            "AF101",
            f"{where} is {info.line_count} lines long (limit {limits.max_function_lines})",
            info.lineno,
            "warning",
        )
    complexity = cyclomatic_complexity(node)
    if complexity > limits.max_complexity:
        severity: Severity = "error" if complexity > 2 * limits.max_complexity else "warning"
        yield issue(
            "AF102",
            f"{where} has cyclomatic complexity {complexity} (limit {limits.max_complexity})",
            info.lineno,
            severity,
        )
    # Lambdas cannot carry docstrings and nested helpers are implementation details.
    if limits.require_docstrings and info.kind in ("function", "method") and not info.has_docstring:
        yield issue("AF103", f"{where} has no docstring", info.lineno, "info")

    counted = _counted_params(info)
    if len(counted) > limits.max_params:
        yield issue(
            "AF104",
            f"{where} takes {len(counted)} parameters (limit {limits.max_params})",
            info.lineno,
            "warning",
        )
    if isinstance(node, ast.Lambda):
        return  # the remaining rules are about statement bodies

    depth, deepest_line = max_nesting(node.body)
    if depth > limits.max_nesting:
        yield issue(
            "AF105",
            f"{where} nests blocks {depth} levels deep (limit {limits.max_nesting})",
            deepest_line,
            "warning",
        )
    yield from _unused_names(info, node)


def _counted_params(info: FunctionInfo) -> list[str]:
    """Parameters that count towards AF104: no ``*args``/``**kwargs``, no leading self/cls."""
    params = [p for p in info.params if not p.startswith("*")]
    if params and params[0] in _SELF_NAMES:
        params = params[1:]
    return params


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _unused_names(
    info: FunctionInfo, node: ast.FunctionDef | ast.AsyncFunctionDef
) -> Iterator[Issue]:
    """AF109 (unused arguments) and AF110 (unused locals)."""
    read = names_read(node.body)
    if "locals" in read or "vars" in read:
        return  # names may be read dynamically; any report would be a guess

    # Placeholders and protocol methods (dunders other than __init__ have their
    # signature dictated by Python) legitimately ignore their arguments.
    skip_args = (
        is_stub(node)
        or bool(_decorator_names(node) & _STUB_DECORATORS)
        or (node.name.startswith("__") and node.name.endswith("__") and node.name != "__init__")
    )
    if not skip_args:
        for param in info.params:
            bare = param.lstrip("*")
            if bare in _SELF_NAMES or bare.startswith("_") or bare in read:
                continue
            yield Issue(
                "AF109",
                f"argument `{bare}` of `{info.qualname}` is never used",
                info.lineno,
                "info",
                info.qualname,
            )
    for var, line in assigned_locals(node).items():
        if var not in read and not var.startswith("_"):
            yield Issue(
                "AF110",
                f"local variable `{var}` in `{info.qualname}` is assigned but never used",
                line,
                "warning",
                info.qualname,
            )


def _module_issues(tree: ast.Module, qualnames: Mapping[int, str]) -> Iterator[Issue]:
    """Rules that apply anywhere in the module: AF106, AF107, AF108."""
    # Manual stack of (node, enclosing function qualname) so every issue knows its function.
    stack: list[tuple[ast.AST, str | None]] = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            label = qualnames.get(
                id(node), "<lambda>" if isinstance(node, ast.Lambda) else node.name
            )
            # Defaults are evaluated in the enclosing scope, but the bug is the function's.
            yield from _mutable_defaults(node.args, label)
            owner = qualnames.get(id(node), owner if isinstance(node, ast.Lambda) else node.name)
        elif isinstance(node, ast.ExceptHandler):
            yield from _broad_handler(node, owner)
        stack.extend((child, owner) for child in ast.iter_child_nodes(node))


def _mutable_defaults(args: ast.arguments, function: str) -> Iterable[Issue]:
    defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    for default in defaults:
        if _is_mutable(default):
            yield Issue(
                "AF108",
                f"`{function}` uses a mutable default argument `{ast.unparse(default)}`; "
                "it is shared between calls",
                default.lineno,
                "error",
                function,
            )


def _is_mutable(node: ast.expr) -> bool:
    if isinstance(node, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _MUTABLE_CALLS
    )


def _broad_handler(handler: ast.ExceptHandler, owner: str | None) -> Iterator[Issue]:
    if reraises(handler):
        return  # catching everything to clean up and re-raise is the sanctioned idiom
    where = f" in `{owner}`" if owner else ""
    if handler.type is None:
        yield Issue(
            "AF106",
            f"bare `except:`{where} swallows every exception, even KeyboardInterrupt and SystemExit",
            handler.lineno,
            "error",
            owner,
        )
        return
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for exc in caught:
        name = (
            exc.id
            if isinstance(exc, ast.Name)
            else exc.attr
            if isinstance(exc, ast.Attribute)
            else ""
        )
        if name in _BROAD_EXCEPTIONS:
            yield Issue(
                "AF107",
                f"`except {name}`{where} catches every error and does not re-raise",
                handler.lineno,
                "warning",
                owner,
            )
            return
