"""Every Store method, on memory, SQLite and PostgreSQL, under asyncio and trio."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _store_support import BACKENDS, KINDS, run_with_store

from runtime.errors import StoreError
from runtime.events import Event, EventType
from runtime.frames import Frame
from runtime.position import Activation, Position, WaitEntry
from runtime.state import StateUpdate
from runtime.store import (
    Checkpoint,
    GraphExistsError,
    GraphRecord,
    MemoryStore,
    RunRecord,
    Store,
    open_store,
    utcnow,
)

params = pytest.mark.parametrize
both = [params("backend", BACKENDS), params("kind", KINDS)]


def parametrized(fn: Any) -> Any:
    for mark in reversed(both):
        fn = mark(fn)
    return fn


def graph(name: str, gid: str | None = None) -> GraphRecord:
    return GraphRecord(id=gid or f"id-{name}", name=name, description="d",
                       definition={"nodes": [{"name": "a", "tool": "t"}],
                                   "edges": [{"from": "a", "to": "b"}], "entry_point": "a"})


@parametrized
def test_graphs(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        assert isinstance(store, Store)
        saved = await store.save_graph(graph("review"))
        assert saved.name == "review"
        await store.save_graph(graph("other"))
        by_id = await store.get_graph("id-review")
        by_name = await store.get_graph("review")
        assert by_id is not None and by_name is not None
        assert by_id.definition == by_name.definition == graph("review").definition
        assert by_id.entry_point == "a" and by_id.nodes == [{"name": "a", "tool": "t"}]
        with pytest.raises(GraphExistsError, match="review"):
            await store.save_graph(graph("review", gid="another-id"))
        assert [g.name for g in await store.list_graphs()] == ["review", "other"]
        assert [g.name for g in await store.list_graphs(limit=1, offset=1)] == ["other"]
        assert await store.delete_graph("review") is True
        assert await store.delete_graph("review") is False
        assert await store.get_graph("review") is None
        assert await store.get_graph("nope") is None

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_runs(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        await store.create_run(RunRecord(id="r1", graph_id="g", graph_name="n",
                                         initial_state={"data": {"x": 1}}, options={"timeout": 3}))
        await store.create_run(RunRecord(id="r2", graph_id="h", graph_name="m", status="running"))
        with pytest.raises(StoreError):
            await store.create_run(RunRecord(id="r1", graph_name="n"))
        done = utcnow()
        await store.update_run("r1", status="completed", final_state={"data": {"x": 2}},
                               completed_at=done, error=None)
        await store.update_run("missing", status="failed")  # ignored
        with pytest.raises(StoreError, match="bogus"):
            await store.update_run("r1", bogus=1)
        r1 = await store.get_run("r1")
        assert r1 is not None and r1.status == "completed"
        assert r1.final_state == {"data": {"x": 2}} and r1.initial_state == {"data": {"x": 1}}
        assert r1.options == {"timeout": 3} and r1.completed_at == done
        assert r1.updated_at >= r1.created_at
        assert await store.get_run("missing") is None
        assert [r.id for r in await store.list_runs()] == ["r2", "r1"]  # newest first
        assert [r.id for r in await store.list_runs(status="running")] == ["r2"]
        assert [r.id for r in await store.list_runs(graph_id="g")] == ["r1"]
        assert [r.id for r in await store.list_runs(limit=1, offset=1)] == ["r1"]

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_claim_orphaned_runs(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        for rid, status, owner in [("a", "running", "old"), ("b", "pending", "old"),
                                   ("c", "waiting", None), ("d", "completed", "old"),
                                   ("e", "running", "me")]:
            await store.create_run(RunRecord(id=rid, graph_name="g", status=status, owner=owner))
        claimed = await store.claim_orphaned_runs("me")
        assert sorted(r.id for r in claimed) == ["a", "b", "c"]
        assert all(r.owner == "me" for r in claimed)
        by_id = {r.id: r for r in claimed}
        assert by_id["a"].interruptions == 1            # was running: interrupted
        assert by_id["b"].interruptions == 0 and by_id["c"].interruptions == 0
        stored = await store.get_run("a")
        assert stored is not None and stored.owner == "me" and stored.interruptions == 1
        assert await store.claim_orphaned_runs("me") == []
        again = await store.claim_orphaned_runs("next")
        assert {r.id: r.interruptions for r in again} == {"a": 2, "b": 0, "c": 0, "e": 1}

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_claim_orphaned_runs_leaves_the_runs_of_a_live_owner(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        for rid, owner in [("a", "gone"), ("b", "live"), ("c", "live"), ("d", None),
                           ("e", "also live")]:
            await store.create_run(RunRecord(id=rid, graph_name="g", status="running",
                                             owner=owner))
        asked: list[str] = []

        def alive(owner: str) -> bool:
            asked.append(owner)
            return owner in {"live", "also live"}

        claimed = await store.claim_orphaned_runs("me", alive=alive)
        assert sorted(r.id for r in claimed) == ["a", "d"]
        assert "live" in asked and "also live" in asked
        for rid, owner in [("b", "live"), ("c", "live"), ("e", "also live")]:
            kept = await store.get_run(rid)
            assert kept is not None and (kept.owner, kept.interruptions) == (owner, 0)

    run_with_store(kind, backend, tmp_path, body)


def position_at(step: int) -> Position:
    """A position with something of every kind: pending (a map item), waiting, going on,
    an open map frame with a result; all of it changes with the step."""
    item = Activation(step, "x", ((0, 1),), item={"n": step}, index=1,
                      answers={"x:1:1": "yes"})
    wait = WaitEntry(f"w:{step}:1", "ask", "w", {"q": step}, None, Activation(step + 1, "w", ()))
    frame = Frame(0, "map", "split", None, (), 3, arrived=1, target="x", items=[1, 2, 3],
                  next_index=2, limit=2, results={0: StateUpdate({"out": [step]}, [], [])},
                  writers={"k": (0, "x")})
    return Position((item,), (wait,), (Activation(step + 2, "c", ()),), (frame,),
                    step + 3, 1, step)


def state_at(step: int) -> dict[str, Any]:
    """A WorkflowState-like dump whose data changes a little every step."""
    data: dict[str, Any] = {f"k{i}": f"v{i}" * 20 for i in range(30)}
    data["counter"] = step
    data[f"k{step % 30}"] = f"step{step}"
    data["history"] = list(range(step))
    if step % 10 == 5:
        data["sometimes"] = step
    return {"workflow_id": "w", "run_id": "r", "iteration": step, "data": data,
            "errors": [f"e{i}" for i in range(step // 7)], "warnings": [], "config": {"a": 1}}


@parametrized
def test_checkpoints_reconstruct(kind: str, backend: str, tmp_path: Path) -> None:
    steps = 100

    async def body(store: Store) -> None:
        assert await store.latest_checkpoint("r") is None
        assert await store.list_checkpoints("r") == []
        for step in range(steps):
            await store.save_checkpoint(Checkpoint(
                run_id="r", step=step, nodes=[f"n{step}"], state=state_at(step),
                changed={"counter": step}, position=position_at(step), next_seq=step * 3))
        latest = await store.latest_checkpoint("r")
        assert latest is not None and latest.step == steps - 1
        assert latest.state == state_at(steps - 1)
        assert latest.position == position_at(steps - 1) and latest.next_seq == 297
        every = await store.list_checkpoints("r")
        assert [c.step for c in every] == list(range(steps))
        for c in every:
            assert c.state == state_at(c.step), c.step
            assert c.nodes == [f"n{c.step}"] and c.changed == {"counter": c.step}
            assert c.position == position_at(c.step)
        for step in (0, 1, 19, 20, 21, 57, 99):
            got = await store.get_checkpoint("r", step)
            assert got is not None and got.state == state_at(step)
        assert await store.get_checkpoint("r", 100) is None
        assert await store.get_checkpoint("other", 0) is None
        # Re-saving an earlier step forks history there: later steps are gone.
        await store.save_checkpoint(Checkpoint(run_id="r", step=50, state=state_at(7)))
        latest = await store.latest_checkpoint("r")
        assert latest is not None and latest.step == 50 and latest.state == state_at(7)
        assert [c.step for c in await store.list_checkpoints("r")] == list(range(51))
        assert await store.get_checkpoint("r", 51) is None

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_events_and_logs(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        t = time.time()
        events = [
            Event(0, "r", EventType.RUN_STARTED, t),
            Event(1, "r", EventType.NODE_STARTED, t + 1, "a", {"input": {"x": 1}}),
            Event(2, "r", EventType.NODE_COMPLETED, t + 2, "a", {"update": {"y": 2}}),
            Event(3, "r", EventType.NODE_STARTED, t + 3, "b", {"input": {"y": 2}}),
            Event(4, "r", EventType.NODE_FAILED, t + 4, "b", {"error": "boom"}),
            Event(5, "r", EventType.RUN_FAILED, t + 5, None, {"error": "boom"}),
        ]
        for e in events:
            store.append_event(e)
        store.append_event(events[1])  # a repeated seq is ignored
        store.append_event(Event(0, "other", EventType.RUN_STARTED, t))
        got = await store.read_events("r")
        # A node's input state is kept once, in its execution_logs row (SQL stores do
        # not repeat it in the event).
        expected = events if not store.durable else [
            replace(e, data={k: v for k, v in e.data.items() if k != "input"}) for e in events]
        assert got == expected
        assert await store.read_events("r", since=2, until=4) == expected[2:4]
        assert await store.read_events("r", since=6) == []
        await store.flush()
        logs = await store.list_logs("r")
        assert [(x["node_name"], x["status"]) for x in logs] == [
            ("a", "started"), ("a", "completed"), ("b", "started"), ("b", "failed")]
        assert logs[0]["input_state"] == {"x": 1} and logs[1]["output_state"] == {"y": 2}
        assert logs[3]["error"] == "boom" and logs[3]["output_state"] is None
        assert logs[0]["timestamp"].timestamp() == pytest.approx(t + 1)
        assert len(await store.list_logs("r", limit=2, offset=1)) == 2

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_prune(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        old = utcnow() - timedelta(hours=2)
        for rid, status, when in [("old-done", "completed", old), ("old-failed", "failed", old),
                                  ("new-done", "completed", utcnow()),
                                  ("old-running", "running", None)]:
            await store.create_run(RunRecord(id=rid, graph_name="g", status=status,
                                             completed_at=when, updated_at=old))
            await store.save_checkpoint(Checkpoint(run_id=rid, step=0, state={"data": {}}))
            store.append_event(Event(0, rid, EventType.NODE_STARTED, time.time(), "a"))
        assert await store.prune(older_than_seconds=3600) == 2
        assert sorted(r.id for r in await store.list_runs()) == ["new-done", "old-running"]
        for rid in ("old-done", "old-failed"):
            assert await store.get_run(rid) is None
            assert await store.list_checkpoints(rid) == []
            assert await store.read_events(rid) == []
            assert await store.list_logs(rid) == []
        assert await store.latest_checkpoint("new-done") is not None
        assert len(await store.list_logs("old-running")) == 1
        assert await store.prune(older_than_seconds=3600) == 0

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_healthy_and_flush(kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        assert await store.healthy() is True
        await store.flush()
        assert isinstance(store.durable, bool)
        assert store.durable == (kind != "memory")

    run_with_store(kind, backend, tmp_path, body)


def test_open_store_by_scheme(tmp_path: Path) -> None:
    from runtime.store.sql import SQLStore

    assert isinstance(open_store("memory://"), MemoryStore)
    assert isinstance(open_store(f"sqlite:///{tmp_path}/x.db"), SQLStore)
    pg = open_store("postgres://u@h/db")
    assert isinstance(pg, SQLStore) and pg.url == "postgresql://u@h/db"
    with pytest.raises(ValueError, match="mysql"):
        open_store("mysql://u@h/db")


def test_execution_logs_record_each_nodes_output_and_its_input_by_step(tmp_path: Path) -> None:
    """A "started" row names the checkpoint step holding the node's input (not a copy
    of the state: that grew the store by the whole state per node execution); the
    state at that step is the input."""
    import anyio

    from runtime import END, Graph, Runtime

    async def bump(state):  # type: ignore[no-untyped-def]
        return {"n": state.data.get("n", 0) + 1}

    async def main(url: str) -> None:
        g = Graph("logs").add_node("a", bump).add_node("b", bump)
        g.add_edge("a", "b").add_edge("b", END)
        async with Runtime(url) as rt:
            run = await rt.start(g, {"n": 0})
            await run.result()
            logs = await rt.store.list_logs(run.id)
            rows = [(r["node_name"], r["status"], r["input_state"], r["input_step"],
                     r["output_state"]) for r in logs]
            assert rows == [("a", "started", None, 0, None), ("a", "completed", None, None, {"n": 1}),
                            ("b", "started", None, 1, None), ("b", "completed", None, None, {"n": 2})]
            inputs = [(await rt.get_state(run.id, r["input_step"])).data
                      for r in logs if r["status"] == "started"]
            assert inputs == [{"n": 0}, {"n": 1}]

    for url in ("memory://", f"sqlite:///{tmp_path / 'logs.db'}"):
        anyio.run(main, url)


@parametrized
def test_threads_have_one_writer_and_go_with_their_runs(kind: str, backend: str,
                                                        tmp_path: Path) -> None:
    from runtime.store import ThreadExistsError, ThreadRecord

    async def body(store: Store) -> None:
        await store.create_thread(ThreadRecord(id="t", metadata={"who": "me"}))
        with pytest.raises(ThreadExistsError):
            await store.create_thread(ThreadRecord(id="t"))
        found = await store.get_thread("t")
        assert found is not None and found.tenant == "default" and found.metadata == {"who": "me"}
        first = RunRecord(id="r1", graph_name="g", thread_id="t")
        assert await store.claim_thread("t", "r1", create=first) is None
        assert (await store.get_run("r1")) is not None            # created with the claim
        # Busy: the holder is active; the refused run's record is not created.
        assert await store.claim_thread("t", "r2", create=RunRecord(
            id="r2", graph_name="g", thread_id="t")) == "r1"
        assert await store.get_run("r2") is None
        assert await store.claim_thread("t", "r1") is None        # the holder again: fine
        assert await store.claim_thread("nope", "r9") == ""
        await store.update_run("r1", status="completed")
        assert await store.claim_thread("t", "r2", create=RunRecord(
            id="r2", graph_name="g", thread_id="t")) is None
        assert [r.id for r in await store.list_runs(thread_id="t")] == ["r2", "r1"]
        await store.save_checkpoint(Checkpoint(run_id="r1/sub:0", step=1, state={"data": {}}))
        assert await store.delete_thread("t") is True
        assert await store.delete_thread("t") is False
        assert await store.get_run("r1") is None and await store.get_run("r2") is None
        assert await store.latest_checkpoint("r1/sub:0") is None
        assert await store.list_threads() == []

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_adopt_runs_takes_the_active_runs_of_gone_owners_once(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        for rid, status, owner in [("a", "running", "gone"), ("b", "pending", "gone"),
                                   ("c", "waiting", "gone"), ("d", "completed", "gone"),
                                   ("e", "running", "live"), ("f", "running", "me")]:
            await store.create_run(RunRecord(id=rid, graph_name="g", status=status, owner=owner))
        assert await store.owners_of_active_runs("me") == ["gone", "live"]
        adopted = await store.adopt_runs(["gone"], "me")
        assert [(r.id, r.owner, r.interruptions) for r in adopted] == [
            ("a", "me", 1), ("b", "me", 0)]
        # A second adopter that read the same owners a moment before gets nothing: the
        # owner is part of the claim's condition.
        assert await store.adopt_runs(["gone"], "other") == []
        assert await store.owners_of_active_runs("me") == ["live"]
        for rid, owner in [("c", "gone"), ("d", "gone"), ("e", "live"), ("a", "me")]:
            kept = await store.get_run(rid)
            assert kept is not None and kept.owner == owner
        assert await store.adopt_runs([], "me") == []

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_adopt_runs_takes_a_run_whose_lease_ran_out_and_leaves_one_held(
        kind: str, backend: str, tmp_path: Path) -> None:
    # A single-host server adopting the run of an `actorflow run` that leased it (on a
    # cluster's database) and died: a lease run out holds nothing; one still held does.
    async def body(store: Store) -> None:
        now = utcnow()
        for rid, until in [("out", now - timedelta(seconds=5)),
                           ("held", now + timedelta(seconds=60))]:
            await store.create_run(RunRecord(id=rid, graph_name="g", status="running",
                                             owner="gone", lease_epoch=1, lease_until=until))
        assert await store.owners_of_active_runs("me") == ["gone"]
        adopted = await store.adopt_runs(["gone"], "me")
        assert [(r.id, r.owner, r.lease_until) for r in adopted] == [("out", "me", None)]
        held = await store.get_run("held")
        assert held is not None and held.owner == "gone" and held.lease_until is not None

    run_with_store(kind, backend, tmp_path, body)
