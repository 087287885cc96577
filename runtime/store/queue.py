"""The run queue and its leases, in SQL (one statement per operation, both dialects).

A run is *claimable* when it is ``pending`` or ``running`` and no lease holds it
(``lease_until`` is NULL, or past). Claiming sets the owner, bumps ``lease_epoch`` and
sets ``lease_until``; the owner renews ``lease_until`` by heartbeat and clears it when
it stops executing the run (finished, paused, drained). PostgreSQL claims with
``FOR UPDATE SKIP LOCKED``, so concurrent claimers never take one run twice and never
wait for each other; SQLite serializes writers (``BEGIN IMMEDIATE``), which gives the
same guarantee.

Fencing: every write of a leased run first inserts ``(run_id, epoch)`` into
``lease_fence``, whose trigger (schema migration 5) refuses a stale epoch, in the same
transaction as the write (:data:`FENCE`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..status import RunStatus
from .db import Session

__all__ = ["CONTROL_CHANNEL", "EVENTS_CHANNEL", "FENCE", "NOTIFY_CHANNEL", "NOTIFY_RUN", "acquire", "claim", "release", "renew", "revoke"]

#: The statement a leased run's write starts with (see the module docstring).
FENCE = "INSERT INTO lease_fence (run_id, epoch) VALUES (:run_id, :epoch)"
#: PostgreSQL channel on which a new or handed-back run wakes the claimers.
NOTIFY_CHANNEL = "actorflow_queue"
#: Channel carrying the id of a run that has new events or a new status (for readers
#: in other processes); several in one transaction are delivered once.
EVENTS_CHANNEL = "actorflow_events"
#: Channel carrying the id of a run ended by another process (its executor stops now).
CONTROL_CHANNEL = "actorflow_control"
NOTIFY_RUN = "SELECT pg_notify(:channel, :run_id)"

_CLAIMABLE = f"('{RunStatus.PENDING.value}', '{RunStatus.RUNNING.value}')"
_UNFINISHED = (f"('{RunStatus.PENDING.value}', '{RunStatus.RUNNING.value}', "
               f"'{RunStatus.WAITING.value}')")


async def claim(s: Session, owner: str, limit: int, now: datetime,
                until: datetime) -> list[dict[str, Any]]:
    """Claim up to ``limit`` claimable runs, oldest first; their rows (new epoch)."""
    d = s.dialect
    skip = " FOR UPDATE SKIP LOCKED" if d.postgres else ""
    params = {"owner": owner, "limit": limit, "now": d.ts(now), "until": d.ts(until),
              "running": RunStatus.RUNNING.value}
    sql = (
        "UPDATE runs SET owner = :owner, lease_epoch = lease_epoch + 1, lease_until = :until, "
        "updated_at = :now, interruptions = interruptions + "
        "CASE WHEN status = :running THEN 1 ELSE 0 END "
        "WHERE id IN (SELECT id FROM runs WHERE status IN " + _CLAIMABLE +
        " AND (lease_until IS NULL OR lease_until < :now) "
        "ORDER BY created_at, id LIMIT :limit" + skip + ") RETURNING *")
    async with s.transaction():
        return await s.fetch(sql, params)


async def acquire(s: Session, run_id: str, owner: str, now: datetime,
                  until: datetime) -> int | None:
    """Take the lease of one unfinished run this process is about to execute (started,
    resumed or forked here): its new epoch, or None when another process holds it."""
    d = s.dialect
    async with s.transaction():
        rows = await s.fetch(
            "UPDATE runs SET owner = :owner, lease_epoch = lease_epoch + 1, "
            "lease_until = :until WHERE id = :id AND status IN " + _UNFINISHED +
            " AND (lease_until IS NULL OR lease_until < :now OR owner = :owner) "
            "RETURNING lease_epoch",
            {"owner": owner, "id": run_id, "now": d.ts(now), "until": d.ts(until)})
    return int(rows[0]["lease_epoch"]) if rows else None


async def renew(s: Session, owner: str, until: datetime) -> dict[str, int]:
    """Extend every lease ``owner`` holds; run id -> epoch of each one it still holds."""
    async with s.transaction():
        rows = await s.fetch(
            "UPDATE runs SET lease_until = :until WHERE owner = :owner "
            "AND lease_until IS NOT NULL AND status IN " + _UNFINISHED +
            " RETURNING id, lease_epoch",
            {"owner": owner, "until": s.dialect.ts(until)})
    return {str(r["id"]): int(r["lease_epoch"]) for r in rows}


async def release(s: Session, run_id: str, epoch: int, *, wake: bool) -> None:
    """Give the lease back (at that epoch only: a taken-over lease is not ours to free).
    ``wake``: the run is claimable again (drained), tell the claimers."""
    async with s.transaction():
        await s.execute("UPDATE runs SET lease_until = NULL WHERE id = :id "
                        "AND lease_epoch = :epoch", {"id": run_id, "epoch": epoch})
        if wake and s.dialect.postgres:
            await s.execute(f"NOTIFY {NOTIFY_CHANNEL}")


def revoke() -> str:
    """SET clause ending any lease on a run (a final status written by a process that
    holds none, say a cancel sent to another instance): its holder's writes are refused
    from now on, and its heartbeat tells it to stop."""
    return "lease_epoch = lease_epoch + 1, lease_until = NULL"
