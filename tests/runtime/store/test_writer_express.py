"""A new top-level run's row is committed on its own (express), ahead of the steps and
events queued before it: ``Runtime.start`` waits for that row, not for every other
run's queued writes. What is queued before it keeps its order and is written later."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import pytest
from _store_support import BACKENDS, SQL_KINDS, run_with_store

from runtime.errors import StoreError
from runtime.events import Event, EventType
from runtime.store import Checkpoint, RunRecord
from runtime.store.sql import SQLStore

params = pytest.mark.parametrize


def _count(path: Path, sql: str) -> int:
    """What another connection (a process restarted after kill -9) finds in the file."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def _queue_steps(store: SQLStore, run: str, steps: int) -> int:
    mark = 0
    for n in range(steps):
        mark = await store.queue_checkpoint(
            Checkpoint(run_id=run, step=n, state={"data": {"n": n}}))
    return mark


@params("backend", BACKENDS)
def test_a_new_runs_row_is_committed_alone_ahead_of_queued_steps(
        backend: str, tmp_path: Path) -> None:
    db = tmp_path / "store.db"

    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60   # only a waiter commits the queued steps
        await store.create_run(RunRecord(id="busy", graph_name="g"))
        await _queue_steps(store, "busy", 5)
        commits = store.stats.commits
        ops = store.stats.ops

        await store.create_run(RunRecord(id="new", graph_name="g"))

        # One commit of one op: the new run's row, durable in the file ...
        assert (store.stats.commits, store.stats.ops) == (commits + 1, ops + 1)
        assert _count(db, "SELECT count(*) FROM runs WHERE id = 'new'") == 1
        # ... and the steps queued before it still queued, in order, not written.
        assert _count(db, "SELECT count(*) FROM checkpoints WHERE run_id = 'busy'") == 0
        assert len(writer._s.queue) == 5
        await store.flush()
        assert _count(db, "SELECT count(*) FROM checkpoints WHERE run_id = 'busy'") == 5
        chain = await store.list_checkpoints("busy")
        assert [c.step for c in chain] == [0, 1, 2, 3, 4]

    run_with_store("sqlite", backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_wait_for_every_mark_ends_after_an_express_commit(
        kind: str, backend: str, tmp_path: Path) -> None:
    """The express op was queued last and committed alone: the marks up to it are
    resolved too, so a caller that waits for "everything so far" without an op of its
    own (``wait_committed``) is answered, not left waiting for a later commit."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        await store.create_run(RunRecord(id="only", graph_name="g"))
        assert writer._s.resolved == writer.marked
        with anyio.fail_after(10):
            await store.wait_committed("only")

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
def test_a_forked_runs_row_keeps_its_place_behind_queued_steps(
        backend: str, tmp_path: Path) -> None:
    """A run with a parent (a fork, a resume) may depend on the parent's steps queued
    before it: its row is written with them, in order, never ahead of them."""
    db = tmp_path / "store.db"

    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60
        await store.create_run(RunRecord(id="parent", graph_name="g"))
        await _queue_steps(store, "parent", 3)

        await store.create_run(RunRecord(id="fork", graph_name="g", parent_run_id="parent"))

        assert _count(db, "SELECT count(*) FROM runs WHERE id = 'fork'") == 1
        assert _count(db, "SELECT count(*) FROM checkpoints WHERE run_id = 'parent'") == 3
        assert not writer._s.queue

    run_with_store("sqlite", backend, tmp_path, body)


@params("backend", BACKENDS)
def test_a_refused_express_row_fails_its_caller_alone(backend: str, tmp_path: Path) -> None:
    """A run id that exists already: that start fails with the database's reason, and
    the steps queued before it (another run's) are written all the same."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60
        await store.create_run(RunRecord(id="busy", graph_name="g"))
        await _queue_steps(store, "busy", 3)
        with pytest.raises(StoreError, match="rejected"):
            await store.create_run(RunRecord(id="busy", graph_name="g"))
        await store.flush()
        assert [c.step for c in await store.list_checkpoints("busy")] == [0, 1, 2]

    run_with_store("sqlite", backend, tmp_path, body)


@params("backend", BACKENDS)
def test_a_wait_for_every_mark_covers_the_events_queued_before_an_express_row(
        backend: str, tmp_path: Path) -> None:
    """Events are queued as rows without marks (``put_row``): the marks after them must
    not be resolved by the express commit that leaves them queued. A caller waiting for
    "everything so far" (``wait_committed``) returns only once those events are durable."""
    db = tmp_path / "store.db"

    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60   # only a waiter commits the queued events
        await store.create_run(RunRecord(id="busy", graph_name="g"))
        for seq in range(3):
            store.append_event(Event(seq, "busy", EventType.NODE_STARTED, time.time(), "n", {}))
        await store.create_run(RunRecord(id="new", graph_name="g"))
        with anyio.fail_after(10):
            await store.wait_committed("busy")
        assert _count(db, "SELECT count(*) FROM events WHERE run_id = 'busy'") == 3

    run_with_store("sqlite", backend, tmp_path, body)
