"""Human in the loop: a node asks, the run waits, a person answers, the run goes on.

A node calls ``await ask(payload)`` (or ``ctx.ask``). The first time, that raises
:class:`Interrupt`, which ends the node's attempt without failing it; the branch
waits under a stable interrupt id while the others go on. When nothing else runs,
the run pauses (status ``waiting``): it keeps no task and no memory, only its
checkpoint. ``Runtime.resume(run_id, answer, interrupt_id=...)`` re-executes the
node, and this time ``ask`` returns the answer. Nodes that ask should therefore be
idempotent up to their ``ask`` calls, as with any at-least-once node.

Static interrupts (``interrupt_before`` / ``interrupt_after`` a node) work the same
way, without code in the node.
"""

from __future__ import annotations

from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any, Protocol

import sniffio
from pydantic import BaseModel, ValidationError

from .errors import RunError
from .importpath import import_path, load
from .position import WaitEntry

__all__ = ["Interrupt", "InvalidResume", "WaitEntry", "ask", "current_context", "load_schema",
           "validate_answer"]

class Asker(Protocol):
    """What ``ask()`` calls: a node's context (:class:`~runtime.context.NodeContext`)."""

    async def ask(self, payload: Any = None, *,
                  schema: type[BaseModel] | None = None) -> Any: ...


class CurrentExecution(Protocol):
    """What a run's task or a node worker stores for ``ask()``: the node context, built
    on demand, and the run (log records)."""

    run_id: str

    def context(self) -> Asker: ...

    def where(self) -> tuple[str, str | None]:
        """The run id and node name, None before a node (for log records:
        runtime.logcontext)."""
        ...


#: Set once per run's task (Run.execute) and per worker task (each task has its own
#: context), updated per activation.
current_context: ContextVar[CurrentExecution | None] = ContextVar("actorflow_node",
                                                                 default=None)


class InvalidResume(RunError):
    """A resume was refused: wrong interrupt id, a second answer, a run that isn't
    waiting, or an answer that fails the interrupt's schema (``details`` says where)."""

    def __init__(self, message: str, *, run_id: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        self.details = details or []
        super().__init__(message, run_id=run_id)


class Interrupt(Exception):
    """Raised by ``ask`` to pause the branch. Not an error: never retried or reported
    as a failure. (An Exception, not a BaseException, so that it never looks like a
    cancellation; nodes must not swallow it with a broad ``except Exception``.)"""

    def __init__(self, interrupt_id: str, payload: Any, schema: str | None) -> None:
        self.interrupt_id = interrupt_id
        self.payload = payload
        self.schema = schema
        super().__init__(f"waiting for an answer to interrupt {interrupt_id}")


def validate_answer(entry: WaitEntry, answer: Any, run_id: str) -> Any:
    """The answer, validated against the interrupt's schema (as JSON-able data)."""
    if entry.schema is None:
        return answer
    model = load_schema(entry.schema)
    try:
        return model.model_validate(answer).model_dump(mode="json")
    except ValidationError as exc:
        details = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                   for e in exc.errors()]
        raise InvalidResume(
            f"answer to interrupt {entry.id!r} does not match {model.__name__}: "
            + "; ".join(f"{d['path'] or '(root)'}: {d['message']}" for d in details),
            run_id=run_id, details=details) from exc


def load_schema(path: str) -> type[BaseModel]:
    obj = load(path, "interrupt schema")
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise TypeError(f"{path} is not a pydantic model")
    return obj


def schema_path(schema: type[BaseModel] | None) -> str | None:
    return None if schema is None else import_path(schema, "interrupt schema")


def ask(payload: Any = None, *,
        schema: type[BaseModel] | None = None) -> Coroutine[Any, Any, Any]:
    """Pause this branch until someone answers; return the answer.

    Call from inside an async node, as ``await ask(...)``. ``payload`` (JSON) says what
    is asked; ``schema`` (a module-level pydantic model) validates the answer at resume
    time, and the answer is then returned as that model.

    Not a coroutine function itself: a sync node (run in a worker thread) that calls it
    as LangGraph's ``interrupt()`` is called, without ``await``, fails at once with what
    to change, instead of writing an unawaited coroutine into the state.
    """
    current = current_context.get()
    if current is None:
        raise RuntimeError("ask() can only be called from inside a running node")
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        node = current.where()[1]
        raise RuntimeError(
            f"ask() was called from sync node {node!r}, which runs in a worker thread and "
            "cannot wait for an answer; make the node `async def` and write "
            "`await ask(...)`") from None
    return current.context().ask(payload, schema=schema)
