"""A database outage of any length loses no run.

Runs in flight hold (their writes wait, their state safe) for as long as the database
is away and go on when it is back; new work is refused at once with
StoreUnavailableError (nothing queued); the store says which database is down, since
when and why; and in a cluster whose processes all saw the outage, none takes another's
runs when it ends. PostgreSQL is stopped and started for real (``pg_ctl``, as
``make test`` provides it); SQLite's analogue is a file another process keeps locked.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import anyio
import pytest

from runtime import END, Graph, Runtime, StoreUnavailableError, WorkflowState
from runtime.lease import ClusterSettings
from runtime.store import open_store
from runtime.store.sql import SQLStore
from runtime.supervisor import MAX_STEPS_AHEAD
from tests.sqlite_lock import sqlite_locked

#: Steps of each run in flight; each step sleeps a little so the outage meets them.
STEPS = 40
#: Steps of the SQLite run: more than it may take past its last commit (a run queues
#: its steps and waits for their commit only MAX_STEPS_AHEAD steps ahead), so a run
#: that did not hold would end during the outage.
LOCKED_STEPS = MAX_STEPS_AHEAD + 30


def _ticking(steps: int = STEPS) -> Graph:
    async def tick(state: WorkflowState) -> dict[str, int]:
        await anyio.sleep(0.05)
        return {"n": state.data.get("n", 0) + 1}

    g = Graph("ticking")
    g.add_node("tick", tick)
    g.add_conditional_edge("tick", "tick", f"n < {steps}")
    g.add_edge("tick", END)
    return g


async def _pg_ctl(*args: str) -> None:
    prefix = os.environ.get("ACTORFLOW_TEST_PG_CTL", "").strip()
    if not prefix:
        if os.environ.get("CI"):
            pytest.fail("ACTORFLOW_TEST_PG_CTL is not set in CI; `make test` sets it")
        pytest.skip("ACTORFLOW_TEST_PG_CTL not set: run through `make test`")
    await anyio.run_process([*shlex.split(prefix), *args], check=True)


async def _until(predicate: object, what: str, limit: float = 60) -> None:
    with anyio.fail_after(limit):
        while not predicate():  # type: ignore[operator]
            await anyio.sleep(0.05)


async def _outage(postgres_database: str, seconds: float) -> None:
    """Runs in flight on runtime A, a second runtime B of the same cluster, PostgreSQL
    stopped for ``seconds``: every run completes on A, each step once; new runs are
    refused at once while it is down; B never takes A's runs."""
    # A renews late (heartbeat 2 s) and B polls often: without the rule that a process
    # gives the holders of leases that lapsed during an outage one lease period to
    # renew, B claims A's runs the moment the database is back.
    slow = ClusterSettings(lease_seconds=4.0, heartbeat_seconds=2.0, poll_seconds=0.2)
    eager = ClusterSettings(lease_seconds=4.0, heartbeat_seconds=0.5, poll_seconds=0.1)
    # unavailable_timeout far below the outage: runs must hold past it.
    a = Runtime(open_store(postgres_database, unavailable_timeout=1), cluster=slow,
                instance_id="A")
    b = Runtime(open_store(postgres_database, unavailable_timeout=1), cluster=eager,
                instance_id="B")
    async with a, b:
        runs = [await a.start(_ticking().compile(), {}) for _ in range(5)]
        await _until(lambda: all(r.supervisor.steps >= 2 for r in runs), "runs started")
        await _pg_ctl("stop", "-m", "fast")
        try:
            store, other = a.store, b.store
            assert isinstance(store, SQLStore) and isinstance(other, SQLStore)
            await _until(lambda: store.availability.confirmed
                         and other.availability.confirmed, "outage noticed")
            # New work is refused at once, and nothing of it is queued.
            with pytest.raises(StoreUnavailableError, match="unreachable"):
                await a.start(_ticking().compile(), {})
            with pytest.raises(StoreUnavailableError):
                await b.submit(_ticking().compile(), {})
            outage = store.availability.outage
            assert outage is not None and outage.store.startswith("postgresql://")
            assert outage.last_error
            assert await store.healthy() is False
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await anyio.sleep(0.5)
                assert not any(r.done for r in runs), "a run ended during the outage"
        finally:
            await _pg_ctl("start", "-w")
        with anyio.fail_after(120):
            finals = [await r.result() for r in runs]
        assert [f.data["n"] for f in finals] == [STEPS] * len(runs)
        assert store.availability.outage is None
        for r in runs:
            record = await a.store.get_run(r.id)
            assert record is not None
            assert (record.status, record.owner, record.interruptions) == (
                "completed", "A", 0)
            assert [c.step for c in await a.store.list_checkpoints(r.id)] == list(range(1, STEPS + 1))
        # The refused runs left no record.
        assert {r.id for r in await a.store.list_runs(limit=100)} == {r.id for r in runs}


async def test_runs_hold_through_a_postgres_outage_longer_than_the_store_timeout(
        postgres_database: str) -> None:
    await _outage(postgres_database, seconds=5)


# Two minutes of wall time: run once (asyncio); the short outage above runs on both.
@pytest.mark.backends("asyncio")
async def test_runs_hold_through_a_two_minute_postgres_outage(postgres_database: str) -> None:
    await _outage(postgres_database, seconds=120)


async def test_runs_hold_while_another_process_keeps_the_sqlite_file_locked(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    async with Runtime(open_store(url, unavailable_timeout=0.5, busy_timeout=0.1)) as rt:
        run = await rt.start(_ticking(LOCKED_STEPS).compile(), {})
        await _until(lambda: run.supervisor.steps >= 2, "run started")
        async with sqlite_locked(tmp_path / "locked.db"):
            # No step after this one is committed until the lock goes.
            locked_at = run.supervisor.steps
            store = rt.store
            assert isinstance(store, SQLStore)
            await _until(lambda: store.availability.confirmed, "lock noticed")
            with pytest.raises(StoreUnavailableError):
                await rt.start(_ticking().compile(), {})
            assert "locked" in (store.availability.outage.last_error  # type: ignore[union-attr]
                                ).lower()
            await anyio.sleep(2)  # four times the store's timeout
            # It holds: at most MAX_STEPS_AHEAD steps (and the one running) past its
            # last commit, then it waits for the database, neither done nor failed.
            assert not run.done
            assert run.supervisor.steps <= locked_at + MAX_STEPS_AHEAD + 2
        final = await run.result()
    assert final.data["n"] == LOCKED_STEPS
    async with Runtime(url) as rt:
        # Every step stored, none lost to the outage.
        assert [c.step for c in await rt.store.list_checkpoints(run.id)] == list(
            range(1, LOCKED_STEPS + 1))
        assert len(await rt.store.list_runs()) == 1
