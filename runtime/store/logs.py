"""Deriving the seed's ``execution_logs`` rows from run events.

Both stores derive log rows the same way, so the rule lives here once:
``node_started`` -> "started" (with the node's input), ``node_completed`` ->
"completed" (with its ``update``), ``node_failed`` -> "failed" (with the error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..events import Event, EventType

__all__ = ["log_row"]

_STATUS = {
    EventType.NODE_STARTED: "started",
    EventType.NODE_COMPLETED: "completed",
    EventType.NODE_FAILED: "failed",
}


def log_row(event: Event) -> dict[str, Any] | None:
    """The execution_logs row for ``event``, or None if it is not a node event."""
    status = _STATUS.get(event.type)
    if status is None:
        return None
    data = event.data
    inp = data.get("input", data.get("state")) if status == "started" else None
    out = data.get("update", data.get("output")) if status == "completed" else None
    err = data.get("error") if status == "failed" else None
    return {
        "run_id": event.run_id,
        "seq": event.seq,
        "node_name": event.node,
        "status": status,
        "timestamp": datetime.fromtimestamp(event.ts, UTC),
        "input_state": inp,
        "output_state": out,
        "error": None if err is None else str(err),
    }
