"""Deriving the seed's ``execution_logs`` rows from run events.

Both stores derive log rows the same way, so the rule lives here once:
``node_started`` -> "started", ``node_completed`` -> "completed" (with its
``update``), ``node_failed`` -> "failed" (with the error).

A "started" row names its input by reference: ``input_step``, the checkpoint step
whose state the node read (``GET /api/v1/runs/{id}/history/{step}``; step 0 without
a checkpoint is the run's input). Copying the input into every row cost the whole
state per node execution: a state that grows by k bytes a step then stored k x n^2
/ 2 bytes over n steps. Rows written before (events without ``input_step``) keep
their ``input_state``.

The SQL store therefore writes no execution_logs row for a node event that names its
input by step (every event of this runtime): the row would repeat its event row. It
derives the row from the event when read, as the memory store does; the table keeps
the rows of older runtimes, and of events that carry an input state themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..events import Event, EventType

__all__ = ["LOG_TYPES", "log_row"]

_STATUS = {
    EventType.NODE_STARTED: "started",
    EventType.NODE_COMPLETED: "completed",
    EventType.NODE_FAILED: "failed",
}
#: The event types that have an execution_logs row.
LOG_TYPES = tuple(_STATUS)


def log_row(event: Event) -> dict[str, Any] | None:
    """The execution_logs row for ``event``, or None if it is not a node event."""
    status = _STATUS.get(event.type)
    if status is None:
        return None
    data = event.data
    step = data.get("input_step") if status == "started" else None
    inp = (data.get("input", data.get("state"))
           if status == "started" and step is None else None)
    out = data.get("update", data.get("output")) if status == "completed" else None
    err = data.get("error") if status == "failed" else None
    return {
        "run_id": event.run_id,
        "seq": event.seq,
        "node_name": event.node,
        "status": status,
        "timestamp": datetime.fromtimestamp(event.ts, UTC),
        "input_state": inp,
        "input_step": step,
        "output_state": out,
        "error": None if err is None else str(err),
    }
