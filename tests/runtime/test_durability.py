"""Durable runs: retention, and a database that goes away and comes back mid-run."""

from __future__ import annotations

import os
import shlex
import subprocess

import anyio
import hitlgraphs as hg
import pytest
from tickgraphs import tick_loop

from runtime import Graph, Runtime
from runtime.store import open_store


async def test_retention_prunes_finished_runs_older_than_the_setting(durable_url: str) -> None:
    async with Runtime(durable_url) as rt:
        done = await rt.start(hg.counter_graph(2).compile(), {})
        await done.result()
    async with Runtime(durable_url, retention=0) as rt:
        # The pruner's first pass runs as the runtime opens.
        assert await rt.store.get_run(done.id) is None
        assert await rt.history(done.id) == []
        kept = await rt.start(hg.counter_graph(2).compile(), {})
        await kept.result()
        assert await rt.store.get_run(kept.id) is not None


async def test_retention_keeps_runs_younger_than_the_setting(durable_url: str) -> None:
    async with Runtime(durable_url) as rt:
        done = await rt.start(hg.counter_graph(2).compile(), {})
        await done.result()
    async with Runtime(durable_url, retention=3600) as rt:
        assert await rt.store.get_run(done.id) is not None


def _pg_ctl(*args: str) -> None:
    prefix = os.environ.get("ACTORFLOW_TEST_PG_CTL")
    if not prefix:
        if os.environ.get("CI"):
            pytest.fail("ACTORFLOW_TEST_PG_CTL is not set in CI; `make test` sets it")
        pytest.skip("ACTORFLOW_TEST_PG_CTL not set: run through `make test`")
    subprocess.run(shlex.split(prefix) + list(args), check=True, capture_output=True,
                   timeout=60)


def _gated_loop(gates: list[anyio.Event]) -> Graph:
    """Step ``n`` runs once ``gates[n]`` is set."""
    return tick_loop("gated_loop", len(gates), lambda n: gates[n].wait())


async def test_a_run_waits_while_postgres_is_down_and_finishes_when_it_is_back(
        postgres_database: str) -> None:
    gates = [anyio.Event() for _ in range(4)]
    store = open_store(postgres_database, unavailable_timeout=60)
    async with Runtime(store) as rt:
        run = await rt.start(_gated_loop(gates).compile(), {})
        gates[0].set()
        gates[1].set()
        while run.supervisor.steps < 2:
            await anyio.sleep(0.01)
        await anyio.to_thread.run_sync(_pg_ctl, "stop", "-m", "fast")
        try:
            gates[2].set()  # this step's checkpoint meets a dead database and waits
            with anyio.move_on_after(1):
                await run.wait()
            assert not run.done
        finally:
            await anyio.to_thread.run_sync(_pg_ctl, "start", "-w")
        gates[3].set()
        final = await run.result()
    assert final.data["n"] == 4
    async with Runtime(postgres_database) as rt:
        record = await rt.store.get_run(run.id)
        assert record is not None and record.status == "completed"
        assert [c.step for c in await rt.store.list_checkpoints(run.id)] == [1, 2, 3, 4]


# A run no longer fails when the database stays down: it holds (test_outage.py).
