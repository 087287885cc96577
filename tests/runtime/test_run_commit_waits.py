"""What each store wait of a run's own record guarantees (see ``Run._begin`` and
``Run._store_run``), on a real SQLite file (PostgreSQL through ``make test``):

- the RUNNING update is committed before the run's first node executes: a process
  that dies in that node leaves the run ``running``, so the crash counts toward
  ``max_interruptions`` (a ``pending`` run is resumed without counting: a node that
  kills its process would then loop for ever); and a refused start fails the run with
  the database's reason, before any node runs;
- the end status, and every event of the run, are committed when ``result()``
  returns (read back by another connection to the file: no flush, no store read),
  without a flush after the end update.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from runtime import END, Graph, Runtime, RunFailed
from runtime.store import open_store

HERE = Path(__file__).parent


def _kill_in_first_node(url: str, backend: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    proc = subprocess.run([sys.executable, str(HERE / "firstnode_kill.py"), url, backend],
                          env=env, capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_process_killed_in_a_runs_first_node_counts_as_an_interruption(
        durable_url: str, backend: str) -> None:
    _kill_in_first_node(durable_url, backend)

    async def check() -> None:
        store = open_store(durable_url)
        await store.open()
        try:
            record = await store.get_run("killed")
            assert record is not None
            # Committed before the node ran: the run is known to have been executing.
            assert (record.status, record.interruptions) == ("running", 0)
            assert record.started_at is not None
        finally:
            await store.close()
        # The next process claims it as interrupted; with no crash allowed it fails
        # the run with why, instead of running the node that kills it once more.
        async with Runtime(durable_url, max_interruptions=0) as rt:
            record = await rt.store.get_run("killed")
            assert record is not None
            assert (record.status, record.error_type, record.interruptions) == (
                "failed", "RunInterrupted", 1)

    anyio.run(check, backend=backend)


async def _count(state):  # type: ignore[no-untyped-def]
    return {"n": state.data.get("n", 0) + 1}


def _counting(steps: int) -> Graph:
    g = Graph("commit_waits", max_steps=steps + 5)
    g.add_node("count", _count)
    g.add_conditional_edge("count", "count", f"n < {steps}")
    g.add_edge("count", END)
    return g


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_finished_runs_end_and_events_are_in_the_file_when_result_returns(
        tmp_path: Path, backend: str) -> None:
    path = tmp_path / "store.db"

    async def go() -> None:
        async with Runtime(f"sqlite:///{path}") as rt:
            # Nothing but the run's own waits may get its writes committed.
            writer = rt.store._writer   # type: ignore[attr-defined]
            writer.linger = 60
            run = await rt.start(_counting(40).compile(), {"n": 0}, run_id="done")
            final = await run.result()
            other = sqlite3.connect(path)
            try:
                status, final_state = other.execute(
                    "SELECT status, final_state FROM runs WHERE id = 'done'").fetchone()
                seqs = [r[0] for r in other.execute(
                    "SELECT seq FROM events WHERE run_id = 'done' ORDER BY seq")]
                types = [r[0] for r in other.execute(
                    "SELECT type FROM events WHERE run_id = 'done' ORDER BY seq DESC LIMIT 1")]
                steps = other.execute(
                    "SELECT count(*) FROM checkpoints WHERE run_id = 'done'").fetchone()[0]
            finally:
                other.close()
            assert final.data["n"] == 40
            assert status == "completed" and final_state is not None
            # Every event the run published, the last one its completion.
            assert seqs == list(range(run.hub.next_seq))
            assert types == ["run_completed"]
            assert steps >= 1

    anyio.run(go, backend=backend)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_run_whose_running_update_is_refused_fails_before_any_node_runs(
        tmp_path: Path, backend: str) -> None:
    path = tmp_path / "store.db"
    ran: list[str] = []

    async def node(state):  # type: ignore[no-untyped-def]
        ran.append("node")

    async def go() -> None:
        async with Runtime(f"sqlite:///{path}") as rt:
            db = sqlite3.connect(path)
            db.execute("CREATE TRIGGER refuse_start BEFORE UPDATE OF status ON runs "
                       "WHEN NEW.status = 'running' "
                       "BEGIN SELECT RAISE(ABORT, 'runs may not start today'); END")
            db.commit()
            db.close()
            g = Graph("refused_start")
            g.add_node("only", node)
            g.add_edge("only", END)
            run = await rt.start(g.compile(), {}, run_id="refused")
            with pytest.raises(RunFailed, match=r"run refused could not be executed: "
                               r"StoreError: .*runs may not start today"):
                await run.result()
            assert run.status == "failed"
            assert ran == []

    anyio.run(go, backend=backend)
