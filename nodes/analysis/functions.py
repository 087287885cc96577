"""Find every function-like definition in a piece of Python code.

``extract_functions`` is the first step of the code-review workflow; its output
is plain data (``FunctionInfo.to_dict()`` is JSON-ready) so it can travel
through graph state and checkpoints. Later steps that need the syntax tree
re-parse the code and find nodes again with :func:`iter_function_nodes`.

Qualified names follow Python's own ``__qualname__`` convention, so they match
what users see in tracebacks and ``repr``: ``Class.method``,
``outer.<locals>.inner``, ``Class.method.<locals>.helper``. A lambda assigned
to a name is named after that name (``key = lambda x: x`` gives ``key``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

from nodes.analysis.complexity import cyclomatic_complexity
from nodes.analysis.errors import parse_code

__all__ = [
    "FunctionInfo",
    "FunctionKind",
    "FunctionNode",
    "extract_functions",
    "has_docstring",
    "iter_function_nodes",
    "param_names",
]

FunctionKind = Literal["function", "method", "nested_function", "lambda"]
FunctionNode: TypeAlias = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda

# ast numbers lines on \n, \r\n and \r only (str.splitlines also splits on
# form feeds and unicode separators, which would shift line numbers).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """One function, method, nested function or named lambda found in the code.

    Attributes:
        name: the bare name (``method``; the assigned name for a lambda).
        qualname: Python-style qualified name (``Class.method``, ``f.<locals>.g``).
        kind: ``"function"`` (module level), ``"method"`` (directly in a class
            body), ``"nested_function"`` (inside another function) or ``"lambda"``.
        lineno: 1-based line of the ``def`` keyword (decorators excluded, like
            ``ast`` and ``radon``); for a lambda, the line of the assignment.
        end_lineno: 1-based last line.
        col: 0-based column of ``def`` (or of the assignment for a lambda).
        params: parameter names in signature order; ``*args``/``**kwargs`` keep
            their stars so callers can tell them apart.
        has_docstring: whether the body starts with a string literal (always
            ``False`` for lambdas, which cannot have one).
        source: the source text of the definition (the whole assignment for a lambda).
        is_async: ``True`` for ``async def``.
        decorators: source text of each decorator, outermost first.
        complexity: cyclomatic complexity, as ``radon cc`` would report it.
    """

    name: str
    qualname: str
    kind: FunctionKind
    lineno: int
    end_lineno: int
    col: int
    params: tuple[str, ...]
    has_docstring: bool
    source: str
    is_async: bool = False
    decorators: tuple[str, ...] = ()
    complexity: int = 1

    @property
    def line_count(self) -> int:
        """Number of source lines the definition spans (decorators excluded)."""
        return self.end_lineno - self.lineno + 1

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["params"] = list(self.params)
        data["decorators"] = list(self.decorators)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionInfo:
        """Rebuild a ``FunctionInfo`` from :meth:`to_dict` output (e.g. from graph state)."""
        fields = dict(data)
        fields["params"] = tuple(fields.get("params", ()))
        fields["decorators"] = tuple(fields.get("decorators", ()))
        return cls(**fields)


def param_names(args: ast.arguments) -> tuple[str, ...]:
    """Return parameter names in signature order, starring ``*args``/``**kwargs``."""
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg is not None:
        names.append("*" + args.vararg.arg)
    names.extend(a.arg for a in args.kwonlyargs)
    if args.kwarg is not None:
        names.append("**" + args.kwarg.arg)
    return tuple(names)


def has_docstring(node: ast.AST) -> bool:
    """Tell whether a def/class/module body starts with a string literal."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
        return False
    if not node.body:
        return False
    first = node.body[0]
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _named_lambda(node: ast.AST) -> tuple[str, ast.Lambda] | None:
    """Return ``(name, lambda)`` if ``node`` is ``f = lambda: ...`` or ``f: T = lambda: ...``."""
    targets: list[ast.expr]
    if isinstance(node, ast.Assign):
        value, targets = node.value, node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        value, targets = node.value, [node.target]
    else:
        return None
    # `f = g = lambda: 0` binds two names; the first one is what readers see first.
    if isinstance(value, ast.Lambda) and isinstance(targets[0], ast.Name):
        return targets[0].id, value
    return None


def _kind_in(scope: str) -> FunctionKind:
    """Kind of a ``def`` found directly inside a scope of the given kind."""
    if scope == "class":
        return "method"
    if scope == "function":
        return "nested_function"
    return "function"


def iter_function_nodes(
    tree: ast.AST,
) -> Iterator[tuple[FunctionNode, ast.stmt, str, FunctionKind]]:
    """Yield ``(node, statement, qualname, kind)`` for every function-like definition.

    ``statement`` is the ``def`` itself, or the assignment that binds a named
    lambda. Definitions are yielded in source order (outer before inner).
    Lambdas that are not directly assigned to a plain name are not yielded.

    Args:
        tree: a parsed module (or any node; its body is searched).
    """
    # Stack of (node, qualname prefix, enclosing scope kind). A manual stack
    # keeps deep nesting from hitting the recursion limit.
    stack: list[tuple[ast.AST, str, str]] = [(tree, "", "module")]
    while stack:
        node, prefix, scope = stack.pop()
        found: list[tuple[ast.AST, str, str]] = []
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = prefix + child.name
                yield child, child, qualname, _kind_in(scope)
                found.append((child, qualname + ".<locals>.", "function"))
            elif isinstance(child, ast.ClassDef):
                # A class keeps the enclosing scope's prefix; its methods are methods.
                found.append((child, prefix + child.name + ".", "class"))
            else:
                named = _named_lambda(child)
                if named is not None and isinstance(child, ast.stmt):
                    yield named[1], child, prefix + named[0], "lambda"
                # Control flow (if/for/try/with...) does not open a new scope.
                found.append((child, prefix, scope))
        stack.extend(reversed(found))


class _SourceSlicer:
    """Cut source segments by ast positions, splitting the code into lines once.

    ``ast.get_source_segment`` re-splits the whole file on every call, which is
    quadratic on large modules. Columns in ast are UTF-8 byte offsets.
    """

    def __init__(self, code: str) -> None:
        self._lines = [line.encode("utf-8") for line in _LINE_BREAK.split(code)]

    def segment(self, node: ast.AST) -> str:
        lineno: int | None = getattr(node, "lineno", None)
        end_lineno: int | None = getattr(node, "end_lineno", None)
        col: int = getattr(node, "col_offset", 0)
        end_col: int | None = getattr(node, "end_col_offset", None)
        if lineno is None or end_lineno is None or end_col is None:
            return ""
        first, last = lineno - 1, end_lineno - 1
        if first == last:
            return self._lines[first][col:end_col].decode("utf-8", "replace")
        parts = [self._lines[first][col:]]
        parts.extend(self._lines[first + 1 : last])
        parts.append(self._lines[last][:end_col])
        return b"\n".join(parts).decode("utf-8", "replace")


def extract_functions(code: str) -> list[FunctionInfo]:
    """Extract functions, methods, nested functions and named lambdas from ``code``.

    Args:
        code: Python source text.

    Returns:
        One :class:`FunctionInfo` per definition, sorted by position.

    Raises:
        CodeSyntaxError: if ``code`` does not parse; the message names the
            line, the column and the parser's reason.
    """
    tree = parse_code(code)
    slicer = _SourceSlicer(code)
    result: list[FunctionInfo] = []
    for node, stmt, qualname, kind in iter_function_nodes(tree):
        decorators = [] if isinstance(node, ast.Lambda) else node.decorator_list
        result.append(
            FunctionInfo(
                name=qualname.rsplit(".", 1)[-1],
                qualname=qualname,
                kind=kind,
                lineno=stmt.lineno,
                end_lineno=stmt.end_lineno or stmt.lineno,
                col=stmt.col_offset,
                params=param_names(node.args),
                has_docstring=has_docstring(node),
                source=slicer.segment(stmt),
                is_async=isinstance(node, ast.AsyncFunctionDef),
                decorators=tuple(slicer.segment(d) for d in decorators),
                complexity=cyclomatic_complexity(node),
            )
        )
    result.sort(key=lambda info: (info.lineno, info.col))
    return result
