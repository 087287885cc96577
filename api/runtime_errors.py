"""The runtime's errors as HTTP errors: the one table the whole API uses.

Handlers let runtime errors propagate; the app's error handler answers with
:func:`api_error`. The most specific class wins (the table is walked in order)::

    RunNotFoundError          404 run_not_found
    CheckpointNotFoundError   404 checkpoint_not_found
    GraphNotFoundError        404 graph_not_found
    ThreadNotFoundError       404 thread_not_found
    ThreadBusyError           409 thread_busy             (details.active_run_id)
    ThreadExistsError         409 thread_exists
    GraphValidationError      400 invalid_graph           (details.problems)
    InputValidationError      400 invalid_initial_state   (details: [{path, message}])
    InvalidResume             400 invalid_answer (a schema refused it) | 409 not_resumable
    StateError                400 invalid_request
    ToolNotFoundError         400 invalid_request         (details.suggestions)
    GraphExistsError          409 graph_exists
    RunFinishedError          409 run_finished
    GraphError                409 graph_unloadable (a stored graph no longer compiles)
    RuntimeClosedError        503 shutting_down
    StoreUnavailableError     503 store_unavailable
    RunError, ActorflowError  409 conflict
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from quart import Quart, Response

from runtime import (
    ActorflowError,
    CheckpointNotFoundError,
    GraphError,
    GraphExistsError,
    GraphNotFoundError,
    GraphValidationError,
    InputValidationError,
    InvalidResume,
    RunFinishedError,
    RunNotFoundError,
    RuntimeClosedError,
    StateError,
    StoreError,
    StoreUnavailableError,
    ThreadBusyError,
    ThreadExistsError,
    ThreadNotFoundError,
    ToolNotFoundError,
)

from .errors import ApiError, error_response

__all__ = ["api_error", "install_runtime_errors"]

log = logging.getLogger("actorflow.api")

Mapper = Callable[[Any], ApiError]


def _run_not_found(e: RunNotFoundError) -> ApiError:
    return ApiError(404, "run_not_found", f"no run with id {e.run_id!r}", {"run_id": e.run_id})


def _checkpoint_not_found(e: CheckpointNotFoundError) -> ApiError:
    return ApiError(404, "checkpoint_not_found", str(e), {"run_id": e.run_id, "step": e.step})


def _graph_not_found(e: GraphNotFoundError) -> ApiError:
    return ApiError(404, "graph_not_found", str(e), {"graph_id": e.key})


def _thread_not_found(e: ThreadNotFoundError) -> ApiError:
    return ApiError(404, "thread_not_found", str(e), {"thread_id": e.thread_id})


def _thread_busy(e: ThreadBusyError) -> ApiError:
    return ApiError(409, "thread_busy", str(e),
                    {"thread_id": e.thread_id, "active_run_id": e.active_run_id})


def _thread_exists(e: ThreadExistsError) -> ApiError:
    return ApiError(409, "thread_exists", str(e), {"thread_id": e.thread_id})


def _invalid_graph(e: GraphValidationError) -> ApiError:
    return ApiError(400, "invalid_graph",
                    f"graph {e.graph!r} is invalid ({len(e.problems)} problem(s))",
                    {"problems": e.problems})


def _invalid_input(e: InputValidationError) -> ApiError:
    details = [{"path": f"initial_state.{d['path']}" if d["path"] else "initial_state",
                "message": d["message"], "type": d["type"]} for d in e.errors]
    return ApiError(400, "invalid_initial_state",
                    "initial_state does not match the graph's state schema", details)


def _invalid_resume(e: InvalidResume) -> ApiError:
    if e.details:
        return ApiError(400, "invalid_answer", str(e), e.details)
    return ApiError(409, "not_resumable", str(e))


def _unknown_tool(e: ToolNotFoundError) -> ApiError:
    return ApiError(400, "invalid_request", str(e), {"suggestions": e.suggestions})


def _graph_exists(e: GraphExistsError) -> ApiError:
    return ApiError(409, "graph_exists", str(e), {"name": e.name})


def _run_finished(e: RunFinishedError) -> ApiError:
    return ApiError(409, "run_finished", str(e), {"run_id": e.run_id, "status": e.status})


def _unloadable(e: GraphError) -> ApiError:
    return ApiError(409, "graph_unloadable", f"the stored graph cannot be loaded: {e}")


def _closed(e: RuntimeClosedError) -> ApiError:
    return ApiError(503, "shutting_down", "the server is shutting down and takes no new "
                    "runs; retry on another instance or after the restart",
                    headers={"Retry-After": "5"})


def _store_down(e: StoreUnavailableError) -> ApiError:
    return ApiError(503, "store_unavailable", "the database cannot be reached right now; "
                    "retry shortly", headers={"Retry-After": "5"})


def _conflict(e: ActorflowError) -> ApiError:
    return ApiError(409, "conflict", str(e))


#: Most specific first; the first class the error is an instance of decides.
_TABLE: tuple[tuple[type[ActorflowError], Mapper], ...] = (
    (RunNotFoundError, _run_not_found),
    (CheckpointNotFoundError, _checkpoint_not_found),
    (GraphNotFoundError, _graph_not_found),
    (ThreadNotFoundError, _thread_not_found),
    (ThreadBusyError, _thread_busy),
    (ThreadExistsError, _thread_exists),
    (GraphValidationError, _invalid_graph),
    (InputValidationError, _invalid_input),
    (InvalidResume, _invalid_resume),
    (StateError, lambda e: ApiError(400, "invalid_request", str(e))),
    (ToolNotFoundError, _unknown_tool),
    (GraphExistsError, _graph_exists),
    (RunFinishedError, _run_finished),
    (GraphError, _unloadable),
    (RuntimeClosedError, _closed),
    (StoreUnavailableError, _store_down),
)


def api_error(exc: ActorflowError) -> ApiError | None:
    """The HTTP answer to a runtime error; None for a store failure that is no client's
    doing (answered as a 500, and logged)."""
    for kind, mapper in _TABLE:
        if isinstance(exc, kind):
            return mapper(exc)
    if isinstance(exc, StoreError):
        return None
    return _conflict(exc)


def install_runtime_errors(app: Quart) -> None:
    """Answer every runtime error a handler lets through by the table above."""

    @app.errorhandler(ActorflowError)
    async def _runtime_error(exc: ActorflowError) -> Response:
        mapped = api_error(exc)
        if mapped is None:
            log.exception("store failure while serving a request", exc_info=exc)
            return error_response(500, "internal_error",
                                  "the server failed to handle this request; see the server log")
        return error_response(mapped.status, mapped.code, mapped.message, mapped.details,
                              mapped.headers)
