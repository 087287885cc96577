"""Leases on a real SQLite file and a real PostgreSQL database, in one process: claims
never hand a run to two processes, the database refuses a stale lease's writes, a drain
hands runs back at once, and runtimes of one cluster share the queued runs.

(Real processes, killed and stopped, are in test_cluster_processes.py.)
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from runtime import END, Graph, Runtime
from runtime.errors import StoreError
from runtime.events import Event, EventType
from runtime.lease import ClusterSettings
from runtime.status import RunStatus
from runtime.store.base import Checkpoint, RunRecord
from runtime.store.sql import SQLStore

FAST = ClusterSettings(lease_seconds=2.0, heartbeat_seconds=0.5, poll_seconds=0.2)


def queued(run_id: str, **fields: Any) -> RunRecord:
    return RunRecord(id=run_id, graph_name="g", status=RunStatus.PENDING, **fields)


async def test_two_claimers_never_take_the_same_run(durable_url: str) -> None:
    async with SQLStore(durable_url) as a, SQLStore(durable_url) as b:
        for i in range(30):
            await a.create_run(queued(f"r{i:02}"))
        got: dict[str, list[str]] = {}

        async def claim(store: SQLStore, name: str) -> None:
            got[name] = [r.id for r in await store.claim_runs(name, 20, 30.0)]

        async with anyio.create_task_group() as tg:
            tg.start_soon(claim, a, "a")
            tg.start_soon(claim, b, "b")
        assert not set(got["a"]) & set(got["b"])
        assert sorted(got["a"] + got["b"]) == [f"r{i:02}" for i in range(30)]
        # Held leases are not claimable again until they expire.
        assert await a.claim_runs("c", 100, 30.0) == []


async def test_a_claim_numbers_the_lease_and_counts_a_takeover_as_an_interruption(
        durable_url: str) -> None:
    async with SQLStore(durable_url) as store:
        await store.create_run(queued("r"))
        [first] = await store.claim_runs("a", 10, 0.01)
        assert (first.owner, first.lease_epoch, first.interruptions) == ("a", 1, 0)
        await store.update_run("r", status=RunStatus.RUNNING)
        await anyio.sleep(0.05)  # the lease lapses
        [second] = await store.claim_runs("b", 10, 30.0)
        assert (second.owner, second.lease_epoch, second.interruptions) == ("b", 2, 1)


async def test_the_database_refuses_every_write_of_a_lease_taken_over(
        durable_url: str) -> None:
    async with SQLStore(durable_url) as zombie, SQLStore(durable_url) as heir:
        await zombie.create_run(queued("r"))
        [mine] = await zombie.claim_runs("zombie", 1, 0.01)
        await zombie.save_checkpoint(Checkpoint(run_id="r", step=1, state={"data": {"a": 1}}))
        await anyio.sleep(0.05)  # paused past its lease
        [taken] = await heir.claim_runs("heir", 1, 30.0)
        assert taken.lease_epoch == mine.lease_epoch + 1

        with pytest.raises(StoreError, match="stale lease"):
            await zombie.save_checkpoint(
                Checkpoint(run_id="r", step=2, state={"data": {"by": "zombie"}}))
        with pytest.raises(StoreError, match="stale lease"):
            await zombie.update_run("r", status=RunStatus.COMPLETED)
        zombie.append_event(Event(0, "r", EventType.RUN_STARTED, time.time(), None, {}))
        await zombie.flush()

        await heir.save_checkpoint(Checkpoint(run_id="r", step=2, state={"data": {"by": "heir"}}))
        assert [c.state["data"] for c in await heir.list_checkpoints("r")] == [
            {"a": 1}, {"by": "heir"}]
        assert await heir.read_events("r") == []
        record = await heir.get_run("r")
        assert record is not None and record.status is RunStatus.PENDING


async def test_a_final_status_from_a_process_without_the_lease_revokes_it(
        durable_url: str) -> None:
    """A cancel sent to another instance: the executor's lease ends, and its heartbeat
    finds it gone."""
    async with SQLStore(durable_url) as executor, SQLStore(durable_url) as other:
        await executor.create_run(queued("r"))
        await executor.claim_runs("executor", 1, 30.0)
        await other.update_run("r", status=RunStatus.CANCELLED)
        assert await executor.renew_leases("executor", 30.0) == {}
        with pytest.raises(StoreError, match="stale lease"):
            await executor.update_run("r", status=RunStatus.COMPLETED)


# -- runtimes sharing a store ---------------------------------------------------------------

async def _step(state):  # type: ignore[no-untyped-def]
    await anyio.sleep(0.01)
    return {"n": state.data.get("n", 0) + 1}


def chain() -> Graph:
    g = Graph("lease_chain")
    for name in ("a", "b", "c"):
        g.add_node(name, _step)
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g


async def _completed(rt: Runtime, run_ids: list[str]) -> list[RunRecord]:
    with anyio.fail_after(60):
        while True:
            records = [await rt.store.get_run(r) for r in run_ids]
            if all(r is not None and r.status.finished for r in records):
                return [r for r in records if r is not None]
            await anyio.sleep(0.1)


async def test_runs_queued_through_one_runtime_execute_once_on_the_others(
        durable_url: str) -> None:
    front = Runtime(durable_url, cluster=ClusterSettings(execute=False), graphs=[chain()])
    workers = [Runtime(durable_url, graphs=[chain()], cluster=FAST) for _ in range(2)]
    async with front, workers[0], workers[1]:
        views = [await front.submit("lease_chain", {"n": 0}) for _ in range(20)]
        records = await _completed(front, [v.id for v in views])
        assert {r.status for r in records} == {RunStatus.COMPLETED}
        assert all(r.final_state and r.final_state["data"]["n"] == 3 for r in records)
        assert {r.owner for r in records} <= {workers[0].instance_id, workers[1].instance_id}
        assert front.table.executing == 0 and not front.runs()
        for r in records:
            events = await front.store.read_events(r.id)
            started = [e.node for e in events if e.type is EventType.NODE_STARTED]
            assert started == ["a", "b", "c"]  # each node once: nobody ran it twice


async def test_a_process_executes_at_most_its_concurrency(durable_url: str) -> None:
    gate = anyio.Event()
    peak = 0

    async def hold(state):  # type: ignore[no-untyped-def]
        nonlocal peak
        peak = max(peak, worker.table.executing)
        await gate.wait()
        return {}

    g = Graph("lease_hold")
    g.add_node("hold", hold)
    g.add_edge("hold", END)
    front = Runtime(durable_url, cluster=ClusterSettings(execute=False), graphs=[g])
    worker = Runtime(durable_url, graphs=[g], cluster=ClusterSettings(
        concurrency=3, lease_seconds=30, heartbeat_seconds=1, poll_seconds=0.1))
    async with front, worker:
        views = [await front.submit(g.compile(), {}) for _ in range(7)]
        with anyio.fail_after(30):
            while len(worker.runs(RunStatus.RUNNING)) < 3:
                await anyio.sleep(0.05)
        for _ in range(5):  # more claim rounds: still three
            await worker.leases.claim_once()  # type: ignore[union-attr]
        assert worker.table.executing == 3
        pending = [await front.store.get_run(v.id) for v in views]
        assert sum(1 for r in pending if r and r.owner is None) == 4
        gate.set()
        await _completed(front, [v.id for v in views])
    assert peak == 3


async def test_a_drained_runtime_hands_its_runs_back_at_once(durable_url: str) -> None:
    """Another process claims them before their leases could have expired."""
    release = anyio.Event()

    async def slow(state):  # type: ignore[no-untyped-def]
        await release.wait()
        return {"done": True}

    g = Graph("lease_slow")
    g.add_node("slow", slow)
    g.add_edge("slow", END)
    long = ClusterSettings(lease_seconds=600, heartbeat_seconds=1, poll_seconds=0.1)
    first = Runtime(durable_url, graphs=[g], cluster=long)
    async with first:
        runs = [await first.start(g.compile(), {}) for _ in range(3)]
        with anyio.fail_after(30):
            while len(first.runs(RunStatus.RUNNING)) < 3:
                await anyio.sleep(0.05)
        await first.shutdown()
        for run in runs:
            await run.wait()
    release.set()
    second = Runtime(durable_url, graphs=[g], cluster=long)
    async with second:
        records = await _completed(second, [r.id for r in runs])
        # The lease is given back in the commit after the final status (the write queue
        # keeps it behind the run's last writes): soon, not at once.
        with anyio.fail_after(30):
            while any(r.lease_until is not None for r in records):
                await anyio.sleep(0.05)
                records = await _completed(second, [r.id for r in runs])
    assert all(r.status is RunStatus.COMPLETED and r.owner == second.instance_id
               for r in records)


async def test_a_cluster_needs_a_sql_store() -> None:
    with pytest.raises(ValueError, match="memory store lives in one process"):
        Runtime("memory://", cluster=ClusterSettings())


# -- any instance serves any run (PostgreSQL: notifications) ----------------------------------

QUIET = ClusterSettings(lease_seconds=7200, heartbeat_seconds=3600, poll_seconds=0.2)


def gated(gate: anyio.Event, cleaned: list[str]) -> Graph:
    async def first(state):  # type: ignore[no-untyped-def]
        return {"n": 1}

    async def held(state):  # type: ignore[no-untyped-def]
        try:
            await gate.wait()
        finally:
            cleaned.append("held")
        return {"n": 2}

    g = Graph("lease_gated")
    g.add_node("first", first)
    g.add_node("held", held)
    g.add_edge("first", "held")
    g.add_edge("held", END)
    return g


async def test_a_reader_on_another_instance_is_pushed_every_event_in_order(
        postgres_database: str) -> None:
    gate, cleaned = anyio.Event(), []
    g = gated(gate, cleaned)
    front = Runtime(postgres_database, cluster=ClusterSettings(execute=False), graphs=[g])
    worker = Runtime(postgres_database, graphs=[g], cluster=QUIET)
    async with front, worker:
        front.table.poll_seconds = 3600  # only a notification can wake the reader
        view = await front.submit(g.compile(), {})
        seen: list[Event] = []
        with anyio.fail_after(60):
            async for event in front.events(view.id):
                seen.append(event)
                if event.type is EventType.NODE_STARTED and event.node == "held":
                    assert not gate.is_set()  # live: the run is still in that node
                    gate.set()
        stored = await front.store.read_events(view.id)
    assert [e.seq for e in seen] == list(range(len(seen)))
    assert [(e.seq, e.type) for e in seen] == [(e.seq, e.type) for e in stored]
    assert seen[-1].type is EventType.RUN_COMPLETED


async def test_a_cancel_sent_to_another_instance_stops_the_run_where_it_executes(
        postgres_database: str) -> None:
    gate, cleaned = anyio.Event(), []
    g = gated(gate, cleaned)
    front = Runtime(postgres_database, cluster=ClusterSettings(execute=False), graphs=[g])
    worker = Runtime(postgres_database, graphs=[g], cluster=QUIET)
    async with front, worker:
        view = await front.submit(g.compile(), {})
        with anyio.fail_after(60):
            while not (run := worker.table.live(view.id)) or run.status is not RunStatus.RUNNING:
                await anyio.sleep(0.02)
            while "held" not in [e.node for e in run.hub.events_since(0)]:
                await anyio.sleep(0.02)
        assert await front.cancel(view.id) is RunStatus.CANCELLED
        with anyio.fail_after(30):  # the heartbeat sleeps for an hour: the notice did it
            await run.wait()
        record = await front.store.get_run(view.id)
    assert cleaned == ["held"]
    assert record is not None and record.status is RunStatus.CANCELLED
    assert record.final_state is None
