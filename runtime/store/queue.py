"""The run queue and its leases, in SQL (one statement per operation, both dialects).

A run is *claimable* when it is ``pending`` or ``running`` and no lease holds it
(``lease_until`` is NULL, or past). Claiming sets the owner, bumps ``lease_epoch`` and
sets ``lease_until``; the owner renews ``lease_until`` by heartbeat and clears it when
it stops executing the run (finished, paused, drained). PostgreSQL claims with
``FOR UPDATE SKIP LOCKED``, so concurrent claimers never take one run twice and never
wait for each other; SQLite serializes writers (``BEGIN IMMEDIATE``), which gives the
same guarantee.

A cluster-wide limit per graph (``graph_limits``: graph name -> runs executing at
once) is kept at claim time: the claimer takes a per-graph advisory lock (PostgreSQL;
SQLite's write lock already serializes claims), counts the graph's runs that hold a
live lease anywhere, and claims only what fits; the rest stay queued. The lock makes
two claimers' count-then-claim one after the other, so together they never exceed it.

Fencing: every write of a leased run first inserts ``(run_id, epoch)`` into
``lease_fence``, whose trigger (schema migration 5) refuses a stale epoch, in the same
transaction as the write (:data:`FENCE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..status import RunStatus
from .channels import CONTROL_CHANNEL, EVENTS_CHANNEL, NOTIFY_CHANNEL
from .db import Session

__all__ = ["CONTROL_CHANNEL", "EVENTS_CHANNEL", "FENCE", "NOTIFY_CHANNEL", "NOTIFY_RUN", "RELEASE", "STARTED", "acquire", "claim", "hold", "renew", "revoke"]

#: The statement a leased run's write starts with (see the module docstring).
FENCE = "INSERT INTO lease_fence (run_id, epoch) VALUES (:run_id, :epoch)"
NOTIFY_RUN = "SELECT pg_notify(:channel, :run_id)"

_CLAIMABLE = f"('{RunStatus.PENDING.value}', '{RunStatus.RUNNING.value}')"
_UNFINISHED = (f"('{RunStatus.PENDING.value}', '{RunStatus.RUNNING.value}', "
               f"'{RunStatus.WAITING.value}')")


#: Advisory lock class of the per-graph limits (the key is the graph name's hash).
_GRAPH_LOCK = 0x6166


_CLAIM_SET = ("UPDATE runs SET owner = :owner, lease_epoch = lease_epoch + 1, "
              "lease_until = :until, updated_at = :now, interruptions = interruptions + "
              "CASE WHEN status = :running THEN 1 ELSE 0 END ")


async def claim(s: Session, owner: str, limit: int, now: datetime, until: datetime,
                graph_limits: Mapping[str, int] | None = None, *,
                takeover: bool = True) -> list[dict[str, Any]]:
    """Claim up to ``limit`` claimable runs, oldest first; their rows (new epoch).
    ``graph_limits``: the most runs of each named graph executing in the cluster.
    ``takeover=False``: only runs no lease holds, not those whose lease expired (the
    graph-limited path does not apply it yet)."""
    d = s.dialect
    expired = " OR lease_until < :now" if takeover else ""
    skip = " FOR UPDATE SKIP LOCKED" if d.postgres else ""
    params = {"owner": owner, "limit": limit, "now": d.ts(now), "until": d.ts(until),
              "running": RunStatus.RUNNING.value}
    if graph_limits:
        async with s.transaction():
            ids = await _pick_within_limits(s, limit, now, graph_limits)
            if not ids:
                return []
            marks = {f"i{n}": run_id for n, run_id in enumerate(ids)}
            return await s.fetch(
                _CLAIM_SET + f"WHERE id IN ({', '.join(':' + k for k in marks)}) "
                "RETURNING *", {**params, **marks})
    sql = (
        _CLAIM_SET + "WHERE id IN (SELECT id FROM runs WHERE status IN " + _CLAIMABLE +
        " AND (lease_until IS NULL" + expired + ") "
        "ORDER BY created_at, id LIMIT :limit" + skip + ") RETURNING *")
    async with s.transaction():
        return await s.fetch(sql, params)


async def _pick_within_limits(s: Session, limit: int, now: datetime,
                              graph_limits: Mapping[str, int]) -> list[str]:
    """The ids to claim (locked for this transaction), oldest first, so that no limited
    graph has more than its limit of runs holding a lease once they are claimed."""
    d = s.dialect
    skip = " FOR UPDATE SKIP LOCKED" if d.postgres else ""
    claimable = (f"status IN {_CLAIMABLE} AND (lease_until IS NULL OR lease_until < :now)")
    names = {f"g{n}": name for n, name in enumerate(sorted(graph_limits))}
    listed = ", ".join(":" + k for k in names)
    ts = d.ts(now)
    waiting = [str(r["graph_name"]) for r in await s.fetch(
        f"SELECT DISTINCT graph_name FROM runs WHERE {claimable} AND graph_name IN ({listed})",
        {"now": ts, **names})]
    if d.postgres:
        # One graph after another in name order: two claimers never wait for each other
        # in a cycle. Held to the commit, so the count below includes every claim
        # committed before ours and none can slip in between count and claim.
        for name in sorted(waiting):
            await s.fetch("SELECT pg_advisory_xact_lock(:cls, hashtext(:name))",
                          {"cls": _GRAPH_LOCK, "name": name})
    held = {str(r["graph_name"]): int(r["n"]) for r in await s.fetch(
        f"SELECT graph_name, COUNT(*) AS n FROM runs WHERE graph_name IN ({listed}) "
        f"AND status IN {_CLAIMABLE} AND lease_until >= :now GROUP BY graph_name",
        {"now": ts, **names})}
    found: list[tuple[Any, str]] = []
    for name in waiting:
        room = min(limit, graph_limits[name] - held.get(name, 0))
        if room > 0:
            found += [(r["created_at"], str(r["id"])) for r in await s.fetch(
                f"SELECT id, created_at FROM runs WHERE graph_name = :name AND {claimable} "
                f"ORDER BY created_at, id LIMIT :room{skip}",
                {"name": name, "now": ts, "room": room})]
    found += [(r["created_at"], str(r["id"])) for r in await s.fetch(
        f"SELECT id, created_at FROM runs WHERE {claimable} AND graph_name NOT IN ({listed}) "
        f"ORDER BY created_at, id LIMIT :limit{skip}", {"now": ts, "limit": limit, **names})]
    found.sort()
    return [run_id for _, run_id in found[:limit]]


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


async def hold(s: Session, run_id: str, now: datetime, until: datetime
               ) -> tuple[int, str] | None:
    """Hold the lease of a run nobody executes, whatever its status, without taking it
    over (the owner stays): its new epoch and its status, or None while a live lease
    holds it. For a change made in place of an executor (a state edit): claims, resumes
    and other edits wait, and a zombie executor's writes are refused."""
    d = s.dialect
    async with s.transaction():
        rows = await s.fetch(
            "UPDATE runs SET lease_epoch = lease_epoch + 1, lease_until = :until "
            "WHERE id = :id AND (lease_until IS NULL OR lease_until < :now) "
            "RETURNING lease_epoch, status",
            {"id": run_id, "now": d.ts(now), "until": d.ts(until)})
    return (int(rows[0]["lease_epoch"]), str(rows[0]["status"])) if rows else None


async def renew(s: Session, owner: str, until: datetime) -> dict[str, int]:
    """Extend every lease ``owner`` holds; run id -> epoch of each one it still holds."""
    async with s.transaction():
        rows = await s.fetch(
            "UPDATE runs SET lease_until = :until WHERE owner = :owner "
            "AND lease_until IS NOT NULL AND status IN " + _UNFINISHED +
            " RETURNING id, lease_epoch",
            {"owner": owner, "until": s.dialect.ts(until)})
    return {str(r["id"]): int(r["lease_epoch"]) for r in rows}


#: Give a lease back, at that epoch only (a taken-over lease is not ours to free).
RELEASE = "UPDATE runs SET lease_until = NULL WHERE id = :id AND lease_epoch = :epoch"

#: Which of some runs executed before (a checkpoint or an event): the others, claimed
#: fresh from the queue, start from their input with nothing to read back.
STARTED = ("SELECT DISTINCT run_id FROM checkpoints WHERE run_id IN ({ids}) UNION "
           "SELECT DISTINCT run_id FROM events WHERE run_id IN ({ids})")


def revoke() -> str:
    """SET clause ending any lease on a run (a final status written by a process that
    holds none, say a cancel sent to another instance): its holder's writes are refused
    from now on, and its heartbeat tells it to stop."""
    return "lease_epoch = lease_epoch + 1, lease_until = NULL"
