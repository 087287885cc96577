"""Which run and node the current task works for: the fields a log record can carry.

The runtime only emits log records (``logging`` is the host's to configure); a host that
writes structured logs calls :func:`log_fields` in its formatter or filter to add
``run_id`` and ``node`` to each record emitted while a run or a node attempt executes
(the server's JSON logs do: ``api.json_logs``).
"""

from __future__ import annotations

from .interrupts import current_context

__all__ = ["log_fields"]


def log_fields() -> dict[str, str]:
    """``run_id`` and ``node`` where known in the current task, else fewer or none.

    Both come from the execution a run's task holds from its start, as its node workers
    do (``runtime.interrupts.current_context``): one context variable set per task, not
    one more per run for its logs."""
    execution = current_context.get()
    if execution is None:
        return {}
    run_id, node = execution.where()
    return {"run_id": run_id} if node is None else {"run_id": run_id, "node": node}
