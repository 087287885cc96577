"""When the writer commits the steps nobody waits for: after ``linger``, or once one
run has RUN_BATCH checkpoints queued (before it reaches MAX_STEPS_AHEAD and stops)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import pytest
from _store_support import BACKENDS, SQL_KINDS, run_with_store

from runtime.events import Event, EventType
from runtime.store import Checkpoint
from runtime.store.sql import SQLStore
from runtime.store.writer import RUN_BATCH, Op
from runtime.supervisor import MAX_STEPS_AHEAD

params = pytest.mark.parametrize


def test_a_run_gets_its_commit_before_it_would_wait_for_one() -> None:
    assert 0 < RUN_BATCH < MAX_STEPS_AHEAD


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_run_with_run_batch_steps_queued_is_committed_without_linger(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60   # only the batch rule can commit these steps
        before = store.stats.commits

        async def step(run: str, n: int) -> int:
            return await store.queue_checkpoint(Checkpoint(run_id=run, step=n,
                                                           state={"data": {"n": n}}))

        # Two runs, each one step short: neither is due (the rule counts per run).
        for n in range(RUN_BATCH - 1):
            await step("a", n)
            await step("b", n)
        assert store.stats.commits == before
        mark = await step("a", RUN_BATCH - 1)
        with anyio.fail_after(10):
            while writer._s.resolved < mark:   # nobody waits: the batch rule commits
                await anyio.sleep(0.01)
        assert store.stats.commits == before + 1
        assert (await store.latest_checkpoint("b")) is not None   # rode along

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
def test_a_sqlite_commit_is_resolved_by_the_thread_that_made_it(
        backend: str, tmp_path: Path) -> None:
    """Waiters hear of a SQLite commit from SQLite's connection thread as it returns,
    not once the writer's loop resumes the writer: here that loop is kept busy (as a
    run's steps keep it) until the commit shows, and it shows all the same."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        # Another connection holds the write lock: the batch's BEGIN IMMEDIATE waits
        # in SQLite's thread until the probe below (on the writer's loop) lets go.
        blocker = sqlite3.connect(tmp_path / "store.db", isolation_level=None,
                                  check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        await store.queue_checkpoint(Checkpoint(run_id="a", step=0, state={"data": {"n": 0}}))
        mark = writer.put_nowait(Op([]))   # urgent: the writer takes the batch now
        with anyio.fail_after(10):
            while not writer._inflight and writer._s.resolved < mark:
                await anyio.sleep(0.001)

        async def probe() -> bool:
            # Runs on the writer's loop, which it blocks until the commit shows.
            blocker.execute("ROLLBACK")
            deadline = time.monotonic() + 10
            while writer._s.resolved < mark and time.monotonic() < deadline:
                time.sleep(0.001)
            return writer._s.resolved >= mark

        try:
            assert await store._home.call(probe)
        finally:
            blocker.close()
        assert (await store.latest_checkpoint("a")) is not None

    run_with_store("sqlite", backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_step_queued_after_a_commit_needs_no_wake_up_of_the_writer(
        kind: str, backend: str, tmp_path: Path) -> None:
    """Idle after a commit, the writer has set its linger timer already: the next
    steps are queued without a call into the writer's loop (from a trio run, a
    send on that loop's self-pipe per commit)."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60   # the timer set after the commit below stays pending
        await store.save_checkpoint(Checkpoint(run_id="a", step=0, state={"data": {"n": 0}}))
        with anyio.fail_after(10):
            while not writer._s.idle:   # the writer goes idle after that commit
                await anyio.sleep(0.001)
        calls: list[object] = []
        on_loop = writer._on_loop
        writer._on_loop = lambda fn: (calls.append(fn), on_loop(fn))  # type: ignore[method-assign]
        mark = await store.queue_checkpoint(Checkpoint(run_id="a", step=1,
                                                       state={"data": {"n": 1}}))
        assert calls == []
        await store.wait_committed("a", mark)
        assert (await store.latest_checkpoint("a")).step == 1  # type: ignore[union-attr]

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_an_event_queued_after_the_linger_timer_found_nothing_is_still_written(
        kind: str, backend: str, tmp_path: Path) -> None:
    """The timer set after a commit fires on an empty queue and the writer sleeps:
    the next event queued sets a timer again and is written within linger."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 0.01
        await store.save_checkpoint(Checkpoint(run_id="a", step=0, state={"data": {"n": 0}}))
        with anyio.fail_after(10):
            # The timer set after that commit has fired, finding nothing to write.
            while not (writer._s.idle and writer._lazy_handle is None):
                await anyio.sleep(0.001)
        ops = store.stats.ops
        store.append_event(Event(0, "a", EventType.NODE_STARTED, time.time(), "n"))
        with anyio.fail_after(10):
            while store.stats.ops == ops:   # no flush: only the linger timer writes it
                await anyio.sleep(0.01)
        assert [e.seq for e in await store.read_events("a")] == [0]

    run_with_store(kind, backend, tmp_path, body)
