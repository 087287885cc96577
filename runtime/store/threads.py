"""Threads in SQL (SQLite and PostgreSQL): the statements behind the store's thread
methods, each a function of one session so the store runs it as one unit of work.

Who writes a thread is decided in the database: :func:`claim` locks the thread's row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer at a time) and, only
then, reads whether the run holding it is still active, in a statement of its own (a
fresh snapshot under READ COMMITTED: a holder that committed meanwhile is seen). Two
processes claiming one thread are thereby serialized by the row lock, and the second
sees the first's run.
"""

from __future__ import annotations

from typing import Any

from ..status import ACTIVE
from .base import RunRecord, ThreadRecord, utcnow
from .db import Session
from .rows import INSERT_RUN, run_params
from .schema import Dialect, dumps, loads

__all__ = ["claim", "delete", "insert", "thread_from_row"]

_ACTIVE = ", ".join(sorted(f"'{s.value}'" for s in ACTIVE))


def thread_from_row(d: Dialect, r: dict[str, Any]) -> ThreadRecord:
    return ThreadRecord(
        id=r["id"], tenant=r["tenant"], graph_name=r["graph_name"], state=loads(r["state"]),
        metadata=loads(r["metadata"]) or {}, copied_from=r["copied_from"], writer=r["writer"],
        created_at=d.parse_ts(r["created_at"]) or utcnow(),
        updated_at=d.parse_ts(r["updated_at"]) or utcnow())


async def insert(s: Session, d: Dialect, t: ThreadRecord) -> bool:
    """False when a thread with that id exists."""
    async with s.transaction():
        if await s.fetch("SELECT id FROM threads WHERE id = :id", {"id": t.id}):
            return False
        await s.execute(
            "INSERT INTO threads (id, tenant, graph_name, state, metadata, copied_from, writer, "
            "created_at, updated_at) VALUES (:id, :tenant, :graph_name, :state, :metadata, "
            ":copied_from, :writer, :created_at, :updated_at)",
            {"id": t.id, "tenant": t.tenant, "graph_name": t.graph_name,
             "state": None if t.state is None else dumps(t.state),
             "metadata": dumps(t.metadata), "copied_from": t.copied_from, "writer": t.writer,
             "created_at": d.ts(t.created_at), "updated_at": d.ts(t.updated_at)})
        return True


async def claim(s: Session, d: Dialect, thread_id: str, run_id: str,
                create: RunRecord | None) -> str | None:
    """None when ``run_id`` now holds the thread (and ``create`` is inserted); else the
    active holder's id (or ``""`` for no such thread)."""
    lock = " FOR UPDATE" if d.postgres else ""
    async with s.transaction():
        rows = await s.fetch(f"SELECT writer FROM threads WHERE id = :t{lock}", {"t": thread_id})
        if not rows:
            return ""
        writer = rows[0]["writer"]
        if writer is not None and writer != run_id:
            active = await s.fetch(
                f"SELECT id FROM runs WHERE id = :w AND status IN ({_ACTIVE})", {"w": writer})
            if active:
                return str(writer)
        if create is not None:
            await s.execute(INSERT_RUN, run_params(d, create))
        await s.execute("UPDATE threads SET writer = :r, updated_at = :now WHERE id = :t",
                        {"r": run_id, "now": d.ts(utcnow()), "t": thread_id})
        return None


async def delete(s: Session, thread_id: str) -> bool:
    """The thread, its runs and everything they stored, subgraph steps included."""
    async with s.transaction():
        runs = await s.fetch("SELECT id FROM runs WHERE thread_id = :t", {"t": thread_id})
        for row in runs:
            rid = str(row["id"])
            for table in ("checkpoints", "events", "execution_logs"):
                await s.execute(
                    f"DELETE FROM {table} WHERE run_id = :id "
                    "OR substr(run_id, 1, :n) = :prefix",   # its subgraphs' steps
                    {"id": rid, "n": len(rid) + 1, "prefix": rid + "/"})
        await s.execute("DELETE FROM runs WHERE thread_id = :t", {"t": thread_id})
        gone = await s.fetch("DELETE FROM threads WHERE id = :t RETURNING id", {"t": thread_id})
        return bool(gone)
