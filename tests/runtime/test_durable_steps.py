"""When a durable run waits for its writes (Supervisor._checkpoint).

A step's checkpoint goes to the store's group-committing writer and the run goes on
without waiting for the commit, up to MAX_STEPS_AHEAD steps past its last commit;
it waits for every step before it reports its outcome. Shown on a real SQLite file
whose write lock another connection holds, so that no commit can happen meanwhile.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
from tickgraphs import tick_loop

from runtime import Graph, Runtime
from runtime.store.sql import SQLStore
from runtime.supervisor import MAX_STEPS_AHEAD

LOOPS = MAX_STEPS_AHEAD + 10


def _gated_counter(entered: anyio.Event, gate: anyio.Event) -> Graph:
    """The first step sets ``entered`` and waits for ``gate``; the others go on at once."""
    async def hold_first(n: int) -> None:
        if n == 0:
            entered.set()
            await gate.wait()

    return tick_loop("durable_steps", LOOPS, hold_first, max_steps=LOOPS + 5)


async def test_steps_go_on_before_their_commit_up_to_the_bound_then_all_land(
        tmp_path: Path) -> None:
    path = tmp_path / "steps.db"
    entered, gate = anyio.Event(), anyio.Event()
    # A short busy timeout: the writer retries the locked database again and again;
    # a long unavailable timeout: the run must not give up while the test holds it.
    store = SQLStore(f"sqlite:///{path}", busy_timeout=0.02, unavailable_timeout=120)
    async with Runtime(store) as rt:
        run = await rt.start(_gated_counter(entered, gate).compile(), {"n": 0})
        await entered.wait()          # started and recorded as running
        lock = sqlite3.connect(path, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")   # from now on no commit can land
            gate.set()
            await anyio.wait_all_tasks_blocked()
            # The run went on without a single commit, and stopped at the bound.
            assert run.supervisor.steps == MAX_STEPS_AHEAD + 1
            stored = lock.execute("SELECT count(*) FROM checkpoints WHERE run_id = ?",
                                  (run.id,)).fetchone()[0]
            assert stored == 0
            assert not run.done
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        final = await run.result()
        assert final.data["n"] == LOOPS
        # Reported done only once every step was committed: all of them are there.
        history = await rt.store.list_checkpoints(run.id)
        assert [c.step for c in history] == list(range(1, LOOPS + 1))
        assert [c.state["data"]["n"] for c in history] == list(range(1, LOOPS + 1))
