"""The lifecycle of a run: an Enum with guarded transitions."""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition

__all__ = ["ACTIVE", "FINISHED", "RunStatus"]


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Final: the run never changes again."""
        return self in FINISHED

    def check(self, new: RunStatus, run_id: str | None = None) -> RunStatus:
        """Return ``new`` if ``self -> new`` is allowed, else raise InvalidTransition."""
        if new not in _ALLOWED[self]:
            raise InvalidTransition(
                f"run {run_id} cannot go from {self.value} to {new.value}", run_id=run_id
            )
        return new


#: The statuses after which a run never changes again (what retention may delete).
FINISHED: frozenset[RunStatus] = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})
#: The statuses of runs an owner is responsible for (what crash recovery claims).
ACTIVE: frozenset[RunStatus] = frozenset(RunStatus) - FINISHED

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
