"""Why a run failed, in a form that is stored with the run and shown to its users.

A failed run raises :class:`~runtime.errors.RunFailed` (or a subclass) whose
``__cause__`` is what a node raised. :class:`RunFailure` keeps what someone
debugging it needs once the exception object is gone: the original exception's
type and message, the node and attempt, and the formatted traceback.
"""

from __future__ import annotations

import traceback as tb

from pydantic import BaseModel

__all__ = ["MAX_TRACEBACK_CHARS", "RunFailure", "describe"]

#: A traceback longer than this keeps its end (where the error was raised).
MAX_TRACEBACK_CHARS = 20_000


def describe(exc: BaseException) -> str:
    """``Type: message`` of what a node raised; a group (a task group in the node) by
    the errors in it, the same on asyncio and trio (whose groups' own messages differ
    and name none of them)."""
    if not isinstance(exc, BaseExceptionGroup):
        return f"{type(exc).__name__}: {exc}"
    leaves: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        e = pending.pop(0)
        if isinstance(e, BaseExceptionGroup):
            pending[:0] = e.exceptions
        else:
            leaves.append(e)
    shown = "; ".join(f"{type(e).__name__}: {e}" for e in leaves[:3])
    more = f"; and {len(leaves) - 3} more" if len(leaves) > 3 else ""
    return (f"{type(exc).__name__} of {len(leaves)} error{'s' if len(leaves) != 1 else ''}: "
            f"{shown}{more}")


class RunFailure(BaseModel):
    """What failed a run: ``type`` and ``message`` of the original exception (a node's,
    else the run's own error), where (``node``, ``attempt``) and the ``traceback``."""

    type: str
    message: str
    node: str | None = None
    attempt: int | None = None
    traceback: str = ""

    @classmethod
    def of(cls, error: BaseException) -> RunFailure:
        """The failure described by the run's error (its cause is the original)."""
        cause = error.__cause__ if error.__cause__ is not None else error
        text = "".join(tb.format_exception(error))
        if len(text) > MAX_TRACEBACK_CHARS:
            text = "...(earlier frames cut)\n" + text[-MAX_TRACEBACK_CHARS:]
        attempt = getattr(error, "attempt", None)
        node = getattr(error, "node", None)
        return cls(type=type(cause).__name__, message=str(cause),
                   node=node if isinstance(node, str) else None,
                   attempt=attempt if isinstance(attempt, int) else None, traceback=text)
