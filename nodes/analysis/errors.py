"""Errors raised by the code-analysis helpers.

They live in their own module so that every analysis module (and the graph
nodes built on top of them) can import the same exception type without
creating import cycles.
"""

from __future__ import annotations

import ast
import threading

__all__ = ["CodeSyntaxError", "parse_code"]


class CodeSyntaxError(ValueError):
    """The submitted code could not be parsed as Python.

    It subclasses :class:`ValueError` because bad input code is a property of
    the request, not a bug in the engine: API layers can map it to a 4xx reply.

    Attributes:
        lineno: 1-based line of the problem, or ``None`` if unknown.
        offset: 1-based column of the problem (as reported by Python's parser),
            or ``None`` if unknown.
        reason: the parser's own message, e.g. ``"expected ':'"``.
    """

    def __init__(self, reason: str, lineno: int | None = None, offset: int | None = None) -> None:
        self.reason = reason
        self.lineno = lineno
        self.offset = offset
        where = f"line {lineno if lineno is not None else '?'}, column {offset if offset is not None else '?'}"
        super().__init__(f"cannot parse code at {where}: {reason}")


_PARSE_LOCK = threading.Lock()


def parse_code(code: str) -> ast.Module:
    """Parse ``code`` into an AST, turning every parser failure into ``CodeSyntaxError``.

    Args:
        code: Python source text.

    Returns:
        The parsed module.

    Raises:
        CodeSyntaxError: if the code is not valid Python (including null bytes
            and code nested too deeply for the parser).
    """
    try:
        # One parse at a time per process: on CPython 3.11/3.12, ast.parse in several
        # threads at once can fail with "AST constructor recursion depth mismatch"
        # (python/cpython#106905), and map steps run sync analysis in worker threads.
        with _PARSE_LOCK:
            return ast.parse(code)
    except SyntaxError as exc:
        # IndentationError and TabError are SyntaxError subclasses, so they land here too.
        raise CodeSyntaxError(exc.msg or "invalid syntax", exc.lineno, exc.offset) from exc
    except ValueError as exc:
        # Python 3.11 reports null bytes in the source as ValueError, not SyntaxError.
        raise CodeSyntaxError(str(exc)) from exc
    except (RecursionError, MemoryError) as exc:
        # e.g. "a+a+...+a" with 100k terms: the AST builder runs out of stack.
        raise CodeSyntaxError(
            f"code is nested too deeply to analyse ({type(exc).__name__})"
        ) from exc
