"""Scope-aware AST helpers shared by the review rules.

They answer "which names does this function read / assign", "how deep do its
blocks nest" and "is this body a placeholder". All walks use explicit stacks so
machine-generated, deeply nested code cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

__all__ = ["assigned_locals", "is_stub", "max_nesting", "names_read", "reraises"]

_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_BLOCKS = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)


def names_read(body: Sequence[ast.AST]) -> set[str]:
    """Names loaded or deleted anywhere under ``body``, nested functions included.

    Nested functions are included on purpose: a closure reading an argument or
    a local is a real use of it. ``x += 1`` counts as a read of ``x``.
    """
    read: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            read.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            read.add(node.target.id)
        stack.extend(ast.iter_child_nodes(node))
    return read


def assigned_locals(func: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, int]:
    """Map each plain local assigned in ``func``'s own scope to its first assignment line.

    Only ``name = ...`` and ``name: T = ...`` count: tuple unpacking, loop
    targets and ``with ... as name`` are often forced by the syntax, so
    reporting them would be noise. Names declared ``global``/``nonlocal`` are
    skipped because assigning them has an effect outside the function.
    """
    assigned: dict[str, int] = {}
    declared: set[str] = set()
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _NESTED_SCOPES):
            continue  # their locals are their own
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        targets: list[ast.expr] = []
        line = 0
        if isinstance(node, ast.Assign):
            targets, line = node.targets, node.lineno
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, line = [node.target], node.lineno
        for target in targets:
            if isinstance(target, ast.Name):
                # The stack walk is not in source order; keep the earliest line.
                assigned[target.id] = min(assigned.get(target.id, line), line)
        stack.extend(ast.iter_child_nodes(node))
    return {name: line for name, line in assigned.items() if name not in declared}


def is_stub(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Tell whether ``func``'s body is a placeholder.

    Placeholders are bodies made only of a docstring, ``pass``, ``...`` and/or
    ``raise NotImplementedError`` (with or without a call/message).
    """
    for stmt in func.body:
        if isinstance(stmt, ast.Pass):
            continue
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and (stmt.value.value is Ellipsis or isinstance(stmt.value.value, str))
        ):
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def reraises(handler: ast.ExceptHandler) -> bool:
    """Tell whether an ``except`` body raises (re-raises or translates) anywhere."""
    stack: list[ast.AST] = list(handler.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Raise):
            return True
        if not isinstance(node, _NESTED_SCOPES):  # a raise in a nested def runs later, if ever
            stack.extend(ast.iter_child_nodes(node))
    return False


def _child_blocks(stmt: ast.stmt) -> list[tuple[list[ast.stmt], bool]]:
    """Statement lists directly inside ``stmt``, each flagged ``True`` if one level deeper.

    ``elif`` is parsed as an ``if`` alone in the parent's ``else``; it is a
    sibling branch, not a deeper level, so it stays at the parent's level. It
    is told apart from ``else:`` + indented ``if`` by its column (``elif``
    starts where the ``if`` does).
    """
    blocks: list[tuple[list[ast.stmt], bool]] = []
    if isinstance(stmt, ast.If):
        blocks.append((stmt.body, True))
        orelse = stmt.orelse
        is_elif = (
            len(orelse) == 1
            and isinstance(orelse[0], ast.If)
            and orelse[0].col_offset == stmt.col_offset
        )
        blocks.append((orelse, not is_elif))
    elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        blocks += [(stmt.body, True), (stmt.orelse, True)]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        blocks.append((stmt.body, True))
    elif isinstance(stmt, (ast.Try, ast.TryStar)):
        blocks += [(stmt.body, True), (stmt.orelse, True), (stmt.finalbody, True)]
        blocks += [(handler.body, True) for handler in stmt.handlers]
    elif isinstance(stmt, ast.Match):
        blocks += [(case.body, True) for case in stmt.cases]
    return blocks


def max_nesting(body: Sequence[ast.stmt]) -> tuple[int, int]:
    """Return ``(depth, line)``: the deepest block nesting in ``body`` and where it starts.

    Counted blocks are if/for/while/with/try/match (and their async forms); a
    statement directly in the function body is at depth 0, inside one ``if``
    at depth 1, and so on. Nested functions and classes are not entered: they
    are reviewed on their own. ``line`` is the first statement that opens the
    deepest block (0 if there are no blocks).
    """
    best_depth, best_line = 0, 0
    stack: list[tuple[ast.stmt, int]] = [(stmt, 0) for stmt in reversed(body)]
    while stack:
        stmt, depth = stack.pop()
        if isinstance(stmt, _NESTED_SCOPES) or not isinstance(stmt, _BLOCKS):
            continue
        # `depth` is the level the statement sits at; opening it adds one more.
        opened = depth + 1
        if opened > best_depth:
            best_depth, best_line = opened, stmt.lineno
        # An elif sits at the same level as its `if`, so it opens the same depth.
        children: list[tuple[ast.stmt, int]] = []
        for block, deeper in _child_blocks(stmt):
            level = opened if deeper else depth
            children.extend((child, level) for child in block)
        stack.extend(reversed(children))
    return best_depth, best_line
