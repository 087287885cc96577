"""Which run and node the current task works for: the fields a log record can carry.

The runtime only emits log records (``logging`` is the host's to configure); a host that
writes structured logs calls :func:`log_fields` in its formatter or filter to add
``run_id`` and ``node`` to each record emitted while a run or a node attempt executes
(the server's JSON logs do: ``api.json_logs``).
"""

from __future__ import annotations

from contextvars import ContextVar

from .interrupts import current_context

__all__ = ["current_run", "log_fields"]

#: The run the current task executes (set by the run's task; its node workers inherit it).
current_run: ContextVar[str | None] = ContextVar("actorflow_run", default=None)


def log_fields() -> dict[str, str]:
    """``run_id`` and ``node`` where known in the current task, else fewer or none."""
    execution = current_context.get()
    if execution is not None:
        run_id, node = execution.where()
        return {"run_id": run_id, "node": node}
    run = current_run.get()
    return {"run_id": run} if run is not None else {}
