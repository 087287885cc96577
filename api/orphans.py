"""Runs whose process is gone, as ``actorflow runs`` shows them.

A process killed with ``kill -9`` (or a power cut) cannot mark its runs: they stay
``running`` (or ``pending``) in the database until a runtime that recovers (``actorflow
serve`` or ``worker``) resumes each from its last checkpoint: one already running on
the database within ``orphan_check_seconds`` (:func:`runtime.recovery.adopt_orphans`),
else the next one started, as it opens the database. A listing meanwhile shows such a
run as ``interrupted`` when its owner was a process on this host that no longer exists
(:func:`runtime.owner.owner_gone`); the database is not changed (a reader takes no lock
and claims nothing).
"""

from __future__ import annotations

from runtime import RunStatus
from runtime.owner import owner_gone
from runtime.store.base import RunRecord

__all__ = ["INTERRUPTED", "RESUME_HINT", "shown_status"]

#: The status shown for a run whose process is gone.
INTERRUPTED = "interrupted"
#: What to do about such a run.
RESUME_HINT = ("its process is gone; `actorflow serve` or `actorflow worker` on this "
               "database resumes it from its last checkpoint: one running now within "
               "ACTORFLOW_ORPHAN_CHECK_SECONDS (default 5), else the next one started")

_ACTIVE = (RunStatus.RUNNING, RunStatus.PENDING)


def shown_status(record: RunRecord) -> str:
    """``record``'s status, or ``interrupted`` when it is active and its process is gone."""
    if record.status in _ACTIVE and owner_gone(record.owner):
        return INTERRUPTED
    return record.status.value
