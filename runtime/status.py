"""The lifecycle of a run: an Enum with guarded transitions."""

from __future__ import annotations

from enum import Enum

from .errors import InvalidTransition

__all__ = ["RunStatus"]


class RunStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)

    def check(self, new: RunStatus, run_id: str | None = None) -> RunStatus:
        """Return ``new`` if ``self -> new`` is allowed, else raise InvalidTransition."""
        if new not in _ALLOWED[self]:
            raise InvalidTransition(
                f"run {run_id} cannot go from {self.value} to {new.value}", run_id=run_id
            )
        return new


_ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED}),
    # RUNNING -> PENDING: released at shutdown, resumed by the next process.
    RunStatus.RUNNING: frozenset({RunStatus.WAITING, RunStatus.COMPLETED, RunStatus.FAILED,
                                  RunStatus.CANCELLED, RunStatus.PENDING}),
    RunStatus.WAITING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED,
                                  RunStatus.PENDING}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}
