"""McCabe cyclomatic complexity, computed the way ``radon cc`` computes it.

We reimplement radon's rules with :mod:`ast` instead of importing radon so the
runtime has no dependency on it; ``tests/nodes/test_complexity.py`` checks the
two agree on every function of a corpus of standard-library modules.

Radon's rules (``radon/visitors.py``, ``ComplexityVisitor``), which we mirror:

* a function starts at 1 and only its *body* is scanned: decorators, default
  values and annotations never add anything;
* ``if`` / ``elif`` and the ``a if c else b`` expression: +1 each;
* ``for`` / ``async for`` / ``while``: +1, and +1 more if they have an ``else``;
* ``try``: +1 per ``except`` handler, +1 if it has an ``else`` (``finally``
  adds nothing). ``try``/``except*`` (``TryStar``) adds nothing, because radon
  only recognises the ``Try`` node name;
* ``with`` / ``async with``: +0 (radon's comment says otherwise; its code does not);
* boolean operators: ``len(values) - 1`` per ``BoolOp`` (``a and b and c`` is +2);
* comprehension clauses: +1 per ``for`` and +1 per ``if`` in it;
* ``match``: +1 per ``case``, minus one if some case is an irrefutable bare
  capture (``case _:`` or ``case name:``), never below 0;
* ``assert``: +1, and its test expression is *not* scanned further;
* lambdas add nothing themselves, but their bodies belong to the enclosing
  function (an ``if``-expression inside a lambda counts for the function);
* nested functions and classes are scored separately: nothing inside them
  (not even their decorators or defaults) counts for the enclosing function.
"""

from __future__ import annotations

import ast

__all__ = ["cyclomatic_complexity", "decision_points"]

# Nodes whose insides radon never charges to the enclosing function.
_SCOPE_BARRIERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _own_points(node: ast.AST) -> int:
    """Decision points contributed by ``node`` itself (not its children)."""
    if isinstance(node, ast.Try):
        return len(node.handlers) + bool(node.orelse)
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, (ast.If, ast.IfExp)):
        return 1
    if isinstance(node, ast.Match):
        # radon tests `case.pattern.pattern is None`, which is true exactly for
        # MatchAs without a sub-pattern, i.e. `case _:` and `case name:`.
        has_catch_all = any(
            isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None
            for case in node.cases
        )
        return max(0, len(node.cases) - has_catch_all)
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return 1 + bool(node.orelse)
    if isinstance(node, ast.comprehension):
        return 1 + len(node.ifs)
    return 0


def decision_points(node: ast.AST) -> int:
    """Count radon's decision points inside ``node``, including ``node`` itself.

    Nested function and class definitions are skipped entirely (they are scored
    on their own), and ``assert`` counts 1 without looking into its expression.

    Args:
        node: any AST node (statement, expression, ...).

    Returns:
        The number of decision points, ``>= 0``.
    """
    total = 0
    # An explicit stack instead of recursion: machine-generated code can nest
    # expressions deeper than Python's recursion limit.
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, _SCOPE_BARRIERS):
            continue
        if isinstance(current, ast.Assert):
            total += 1
            continue
        total += _own_points(current)
        stack.extend(ast.iter_child_nodes(current))
    return total


def cyclomatic_complexity(node: ast.AST) -> int:
    """Return the cyclomatic complexity of a function, lambda or code block.

    For ``def`` / ``async def`` this equals the number ``radon cc`` reports for
    that function or method: 1 plus the decision points of its body, excluding
    nested functions and classes (see the module docstring for every rule).

    Radon does not report lambdas; for an :class:`ast.Lambda` we apply the same
    rules to its body expression. Any other node (a module, a class, a single
    statement) gets 1 plus the decision points found inside it, again excluding
    nested function and class definitions.

    Args:
        node: the AST node to score.

    Returns:
        The complexity, always ``>= 1``.
    """
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return 1 + sum(decision_points(child) for child in node.body)
    if isinstance(node, ast.Lambda):
        return 1 + decision_points(node.body)
    if isinstance(node, ast.Module):
        return 1 + sum(decision_points(child) for child in node.body)
    return 1 + decision_points(node)
