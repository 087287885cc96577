"""What only the SQL stores do: migrations, deltas on disk, group commit, outages."""

from __future__ import annotations

import os
import shlex
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from _store_support import (
    BACKENDS,
    PG_CTL_ENV,
    SQL_KINDS,
    pg_url,
    run_with_store,
    store_spec,
    store_threads,
)

from runtime.errors import StoreUnavailableError
from runtime.events import Event, EventType
from runtime.store import Checkpoint, RunRecord
from runtime.store.availability import hold_through_outages
from runtime.store.schema import MIGRATIONS
from runtime.store.sql import SQLStore

params = pytest.mark.parametrize


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_migrations_idempotent_and_concurrent(kind: str, backend: str, tmp_path: Path) -> None:
    with store_spec(kind, tmp_path) as (url, options):
        async def main() -> None:
            stores = [SQLStore(url, **options) for _ in range(3)]
            async with anyio.create_task_group() as tg:  # three processes starting at once
                for s in stores:
                    tg.start_soon(s.open)
            try:
                for s in stores:
                    assert await s.schema_versions() == [v for v, _ in MIGRATIONS]
                await stores[0].create_run(RunRecord(id="r", graph_name="g"))
            finally:
                for s in stores:
                    await s.close()
            async with SQLStore(url, **options) as again:  # reopening changes nothing
                assert await again.schema_versions() == [v for v, _ in MIGRATIONS]
                assert await again.get_run("r") is not None

        anyio.run(main, backend=backend)
    assert store_threads() == []


def big_state(step: int) -> dict[str, Any]:
    data = {f"key{i}": "x" * 500 for i in range(40)}   # ~20 kB that mostly stays put
    data[f"key{step % 40}"] = f"changed at {step}"
    data["log"] = [f"line {i}" for i in range(step)]   # grows by one item per step
    return {"iteration": step, "data": data, "errors": ["e"] * (step // 10), "warnings": []}


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_deltas_bound_storage(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Any) -> None:
        full = 0
        for step in range(100):
            state = big_state(step)
            full += len(str(state))
            await store.save_checkpoint(Checkpoint(run_id="r", step=step, state=state,
                                                   changed={f"key{step % 40}": 1, "log": 1}))
        usage = await store.checkpoint_storage("r")
        assert usage["rows"] == 100
        # Step 0, then one once 20+ deltas hold as many bytes as the last snapshot
        # (runtime.store.spacing): a few snapshots of ~21 kB plus small deltas,
        # vs 100 full copies (~2.1 MB).
        assert 1 <= usage["snapshots"] <= 5, usage
        assert usage["bytes"] < full / 10, (usage, full)
        for c in await store.list_checkpoints("r"):
            assert c.state == big_state(c.step)

    run_with_store(kind, backend, tmp_path, body, snapshot_every=20)


@params("max_queue", [10_000, 16])
@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_group_commit_and_backpressure(kind: str, backend: str, max_queue: int,
                                       tmp_path: Path) -> None:
    """Many runs saving at once share commits; a tiny queue bound (16) still works,
    it just makes callers wait for room (smaller batches, more commits)."""
    runs, steps = 100, 5

    async def one_run(store: SQLStore, rid: str) -> None:
        for step in range(steps):
            store.append_event(Event(step, rid, EventType.NODE_STARTED, time.time(), "a"))
            await store.save_checkpoint(Checkpoint(run_id=rid, step=step,
                                                   state={"data": {"step": step}}))

    async def body(store: SQLStore) -> None:
        async with anyio.create_task_group() as tg:
            for i in range(runs):
                tg.start_soon(one_run, store, f"r{i}")
        saves = runs * steps
        assert store.stats.max_batch > 1
        if max_queue > saves:
            assert store.stats.commits < saves / 5, store.stats
        else:
            assert store.stats.commits < saves, store.stats
        for i in range(runs):
            latest = await store.latest_checkpoint(f"r{i}")
            assert latest is not None and latest.state == {"data": {"step": steps - 1}}
            assert len(await store.read_events(f"r{i}")) == steps

    run_with_store(kind, backend, tmp_path, body, max_queue=max_queue)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_events_ride_along_with_checkpoints(kind: str, backend: str, tmp_path: Path) -> None:
    """A step's events go in its checkpoint's commit (one commit per step, not more);
    events with no checkpoint after them are still written, within ``linger``."""
    steps = 30

    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        # While the steps go in, no linger timer may commit events on its own: on a
        # loaded machine a millisecond passes between an event and its checkpoint.
        writer.linger = 60
        before = store.stats.commits
        for step in range(steps):
            for k in range(3):
                store.append_event(Event(3 * step + k, "r", EventType.NODE_STARTED,
                                         time.time(), "a"))
            await store.save_checkpoint(Checkpoint(run_id="r", step=step,
                                                   state={"data": {"step": step}}))
        assert store.stats.commits - before == steps, store.stats
        writer.linger = 0.001
        store.append_event(Event(3 * steps, "r", EventType.RUN_COMPLETED, time.time(), None))
        with anyio.fail_after(5):
            while store.stats.ops < 4 * steps + 1:   # no flush: the linger timer writes it
                await anyio.sleep(0.01)
        assert store.stats.commits - before == steps + 1, store.stats
        assert len(await store.read_events("r")) == 3 * steps + 1

    run_with_store(kind, backend, tmp_path, body)


@params("kind", SQL_KINDS)
def test_batched_checkpoint_writes_keep_their_meaning(kind: str, tmp_path: Path) -> None:
    """What one group commit may hold: the same (run, step) saved twice (the last
    wins), and a snapshot that rewinds a run (the later steps are dropped)."""
    async def body(store: SQLStore) -> None:
        for step in range(5):
            await store.save_checkpoint(Checkpoint(run_id="r", step=step,
                                                   state={"data": {"n": step}}))
        async with anyio.create_task_group() as tg:   # all in one batch
            for n in (10, 11):
                tg.start_soon(store.save_checkpoint,
                              Checkpoint(run_id="d", step=0, state={"data": {"n": n}}))
            tg.start_soon(store.save_checkpoint,   # snapshot_every=2: step 2 is a snapshot
                          Checkpoint(run_id="r", step=2, state={"data": {"n": "again"}}))
        dup = await store.latest_checkpoint("d")
        assert dup is not None and dup.state == {"data": {"n": 11}}
        assert [c.step for c in await store.list_checkpoints("r")] == [0, 1, 2]
        latest = await store.latest_checkpoint("r")
        assert latest is not None and latest.state == {"data": {"n": "again"}}

    run_with_store(kind, "asyncio", tmp_path, body, snapshot_every=2)


@params("backend", BACKENDS)
def test_store_runs_on_the_callers_asyncio_loop(backend: str, tmp_path: Path) -> None:
    """Under asyncio the store needs no thread of its own (aiosqlite's connection
    threads aside); under trio it runs on one worker thread's asyncio loop."""
    async def body(store: SQLStore) -> None:
        await store.save_checkpoint(Checkpoint(run_id="r", step=0, state={"data": {}}))
        assert len(store_threads()) == (0 if backend == "asyncio" else 1), store_threads()

    run_with_store("sqlite", backend, tmp_path, body)


@params("backend", BACKENDS)
def test_unreachable_database_raises_unavailable(backend: str) -> None:
    async def main() -> None:
        store = SQLStore("postgresql://postgres@127.0.0.1:9/nowhere", unavailable_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="unreachable"):
            await store.open()
        assert time.monotonic() - started < 5
        assert await store.healthy() is False

    anyio.run(main, backend=backend)
    assert store_threads() == []


@params("backend", BACKENDS)
def test_sqlite_locked_retries_then_gives_up(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "locked.db"

    def hold_lock(seconds: float, locked: threading.Event) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    async def save_while_locked(store: SQLStore, seconds: float, step: int) -> None:
        locked = threading.Event()
        holder = threading.Thread(target=hold_lock, args=(seconds, locked))
        holder.start()
        try:
            locked.wait()
            await store.save_checkpoint(Checkpoint(run_id="r", step=step, state={"s": step}))
        finally:
            await anyio.to_thread.run_sync(holder.join)

    async def main() -> None:
        async with SQLStore(f"sqlite:///{path}", busy_timeout=0.02,
                            unavailable_timeout=0.6) as store:
            await save_while_locked(store, 0.3, 0)            # retried until the lock goes
            assert store.stats.retries > 0
            with pytest.raises(StoreUnavailableError):
                await save_while_locked(store, 1.5, 1)        # locked for too long
            await store.flush()                               # ...and withdrawn: an
            latest = await store.latest_checkpoint("r")       # error means not written
            assert latest is not None and latest.step == 0

    anyio.run(main, backend=backend)
    assert store_threads() == []


@params("backend", BACKENDS)
def test_a_withdrawn_write_is_answered_at_once_while_a_runs_queued_step_holds(
        backend: str, tmp_path: Path) -> None:
    """The writer resolves marks in order, but a write withdrawn in an outage is
    answered on its own: its caller hears "not written" while a run's step queued
    before it still waits for the database, and lands once it is back."""
    path = tmp_path / "held.db"

    async def main() -> None:
        # A long unavailable timeout: only the withdrawal, not a timeout, can answer
        # the request within the test.
        async with SQLStore(f"sqlite:///{path}", busy_timeout=0.02,
                            unavailable_timeout=600) as store:
            await store.create_run(RunRecord(id="r", graph_name="g", status="running"))
            lock = sqlite3.connect(path, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            committed = anyio.Event()
            try:
                with hold_through_outages():   # the run's side: it holds
                    mark = await store.queue_checkpoint(
                        Checkpoint(run_id="r", step=1, state={"n": 1}))

                async def run_waits() -> None:
                    with hold_through_outages():
                        await store.wait_committed("r", mark)
                    committed.set()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run_waits)
                    with anyio.fail_after(60):
                        while not store.availability.confirmed:
                            await anyio.sleep(0.02)
                    # A request's side: it does not hold.
                    with pytest.raises(StoreUnavailableError,
                                       match="nothing of this request was written"):
                        await store.create_run(
                            RunRecord(id="x", graph_name="g", status="pending"))
                    # Answered while the run's earlier step still waits.
                    assert not committed.is_set()
                    assert lock.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0
                    lock.execute("ROLLBACK")
            finally:
                if lock.in_transaction:
                    lock.execute("ROLLBACK")
                lock.close()
            assert committed.is_set()
            assert [c.step for c in await store.list_checkpoints("r")] == [1]
            assert await store.get_run("x") is None       # withdrawn: never written

    anyio.run(main, backend=backend)
    assert store_threads() == []


@params("backend", BACKENDS)
def test_postgres_restart_mid_writes(backend: str, tmp_path: Path) -> None:
    pg_url()
    ctl = os.environ.get(PG_CTL_ENV, "").strip()
    if not ctl:
        pytest.skip(f"{PG_CTL_ENV} not set (make test sets it)")
    prefix = shlex.split(ctl)

    async def pg_ctl(*args: str) -> None:
        await anyio.run_process([*prefix, *args], check=True)

    async def body(store: SQLStore) -> None:
        save = store.save_checkpoint
        await store.create_run(RunRecord(id="r", graph_name="g", status="running"))
        await save(Checkpoint(run_id="r", step=0, state={"n": 0}))
        await pg_ctl("stop", "-m", "fast")
        try:
            with pytest.raises(StoreUnavailableError):        # callers give up in time,
                await save(Checkpoint(run_id="r", step=1, state={"n": 1}))
            assert await store.healthy() is False
            store.append_event(Event(0, "r", EventType.RUN_STARTED, time.time()))
        finally:
            await pg_ctl("start", "-w")
        # ...their writes withdrawn (the error means "not written"), while the writer
        # kept the rest (the event) and lands it once the database is back.
        await save(Checkpoint(run_id="r", step=2, state={"n": 2}))
        assert [c.step for c in await store.list_checkpoints("r")] == [0, 2]
        assert [c.state for c in await store.list_checkpoints("r")][-1] == {"n": 2}
        assert len(await store.read_events("r")) == 1
        assert await store.healthy() is True
        assert store.stats.retries > 0

    run_with_store("postgres", backend, tmp_path, body, unavailable_timeout=1.5)
