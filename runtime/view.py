"""One view of a run, wherever it is: executing in this process, or only in the store.

``Runtime.view(run_id)`` answers with a :class:`RunView` either way: from the
run's memory while this process executes it (fresher than the store), else from
its stored record, which has the last word once a run stopped (a later state
edit included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .failure import RunFailure
from .status import RunStatus
from .store.base import RunRecord

if TYPE_CHECKING:
    from .run import Run

__all__ = ["RunView"]


@dataclass(frozen=True, slots=True)
class RunView:
    """A snapshot of one run: status, state data, warnings and errors, and why it
    failed. ``live`` is True when this process executes the run right now."""

    id: str
    graph_id: str | None
    graph_name: str
    status: RunStatus
    #: The data the run started with, its current data, and its final data (completed).
    input: dict[str, Any]
    data: dict[str, Any]
    final: dict[str, Any] | None
    #: The state's ``warnings`` and ``errors`` lists (nodes append to them).
    warnings: list[str]
    errors: list[str]
    error: str | None
    error_type: str | None
    failure: RunFailure | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    live: bool = False

    @property
    def stopped(self) -> bool:
        """Finished, or paused waiting for an answer: nothing executes it now."""
        return self.status.finished or self.status is RunStatus.WAITING

    @classmethod
    def of_run(cls, run: Run) -> RunView:
        """The view of a run this process holds in memory."""
        state = run.state
        finished = run.status.finished
        error = run.error if finished else None
        last = run.hub.events_since(run.hub.next_seq - 1)
        updated = run.completed_at or (
            datetime.fromtimestamp(last[-1].ts, UTC) if last
            else run.started_at or run.created_at)
        return cls(
            id=run.id, graph_id=run.graph_id, graph_name=run.graph.name, status=run.status,
            input=dict(run.input), data=dict(state.data),
            final=dict(state.data) if run.status is RunStatus.COMPLETED else None,
            warnings=list(state.warnings), errors=list(state.errors),
            error=str(error) if error is not None else None,
            error_type=type(error).__name__ if error is not None else None,
            failure=run.failure, created_at=run.created_at, started_at=run.started_at,
            completed_at=run.completed_at, updated_at=updated, live=not run.done)

    @classmethod
    def of_record(cls, record: RunRecord) -> RunView:
        """The view of a stored run."""
        # current_state is the latest: a finished run's final state, or a later edit.
        state = record.current_state or record.final_state or record.initial_state or {}
        return cls(
            id=record.id, graph_id=record.graph_id, graph_name=record.graph_name,
            status=RunStatus(record.status),
            input=dict(record.initial_state.get("data") or {}),
            data=dict(state.get("data") or {}),
            final=dict(record.final_state.get("data") or {}) if record.final_state else None,
            warnings=list(state.get("warnings") or []), errors=list(state.get("errors") or []),
            error=record.error, error_type=record.error_type, failure=record.failure,
            created_at=record.created_at, started_at=record.started_at,
            completed_at=record.completed_at, updated_at=record.updated_at)
