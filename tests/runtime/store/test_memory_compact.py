"""The memory store keeps runs compactly (W3: a thousand runs in flight, all of them kept
once finished), and loses nothing by it: records, every step's checkpoint and position,
every event, fork and replay read back as before."""

from __future__ import annotations

import gc
import itertools
import tracemalloc
from typing import Any

import anyio

from runtime import END, Graph, Runtime, WorkflowState
from runtime.events import Event, EventType
from runtime.status import RunStatus
from runtime.store import MemoryStore
from runtime.store.base import RunRecord


def _visit(name: str) -> Any:
    async def visit(state: WorkflowState) -> dict[str, Any]:
        return {"visits": [*state.data.get("visits", []), name]}

    visit.__name__ = visit.__qualname__ = f"visit_{name}"
    return visit


def chain(length: int = 5) -> Graph:
    g = Graph("compact_chain")
    names = [f"n{i}" for i in range(length)]
    for n in names:
        g.add_node(n, _visit(n))
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


async def test_every_step_of_a_chain_keeps_its_state_and_position() -> None:
    async with Runtime(MemoryStore()) as rt:
        run = await rt.start(chain(), {})
        await run.result()
        history = await rt.store.list_checkpoints(run.id)
    assert [c.step for c in history] == [1, 2, 3, 4, 5]
    assert [c.nodes for c in history] == [["n0"], ["n1"], ["n2"], ["n3"], ["n4"]]
    assert [c.state["data"]["visits"][-1] for c in history] == ["n0", "n1", "n2", "n3", "n4"]
    # What was dispatched and not done after each step: the next node of the chain.
    assert [[a.node for a in c.position.pending] for c in history] == [
        ["n1"], ["n2"], ["n3"], ["n4"], []]
    assert [c.position.dispatched for c in history] == [2, 3, 4, 5, 5]
    assert [c.position.next_activation for c in history] == [2, 3, 4, 5, 5]
    assert history[-1].position.idle
    # Each checkpoint is the caller's own copy: changing it changes nothing kept.
    history[0].position.pending[0].answers = {"x": 1}
    history[0].state["data"]["visits"].append("mine")
    async with Runtime(rt.store) as again:
        first = (await again.store.list_checkpoints(run.id))[0]
    assert first.position.pending[0].answers is None
    assert first.state["data"]["visits"] == ["n0"]


async def test_fork_and_replay_go_on_from_a_compactly_kept_step() -> None:
    async with Runtime(MemoryStore()) as rt:
        run = await rt.start(chain(), {})
        await run.result()
        fork = await rt.fork(run.id, 2, values={"visits": ["edited"]})
        replay = await rt.replay(run.id, 3)
        # The fork writes "as" n1 (step 2's node): n2..n4 run after it; the replay
        # goes on from step 3 (n2 done) as the run did.
        assert (await fork.result()).data["visits"] == ["edited", "n2", "n3", "n4"]
        assert (await replay.result()).data["visits"] == ["n0", "n1", "n2", "n3", "n4"]
        assert [c.nodes for c in await rt.history(fork.id)][-3:] == [["n2"], ["n3"], ["n4"]]


async def test_every_event_is_kept_in_order_and_read_back_by_range() -> None:
    async with Runtime(MemoryStore()) as rt:
        run = await rt.start(chain(), {})
        live = [e async for e in run.events()]
        stored = await rt.store.read_events(run.id)
        middle = await rt.store.read_events(run.id, 3, 7)
    assert [e.seq for e in stored] == list(range(len(live)))
    assert [(e.seq, e.type, e.node) for e in stored] == [(e.seq, e.type, e.node) for e in live]
    assert stored[-1].type is EventType.RUN_COMPLETED
    assert [e.seq for e in middle] == [3, 4, 5, 6]


async def test_a_new_runs_events_are_kept_once_for_its_hub_and_its_store() -> None:
    """A plain memory store and a new run's event hub keep the run's events in one list
    (the hub appends, the store reads): live, stored and replayed events agree."""
    async with Runtime(MemoryStore()) as rt:
        run = await rt.start(chain(), {})
        live = [e async for e in run.events()]
        await run.result()
        stored = await rt.store.read_events(run.id)
        replayed = [e async for e in run.events(3, follow=False)]
        followed = [e async for e in rt.events(run.id, 2)]
        assert run.hub._log is rt.store._events[run.id]
    assert [e.seq for e in live] == list(range(len(live))) and len(live) > 10
    assert stored == live and replayed == live[3:] and followed == live[2:]


class _Hooked(MemoryStore):
    """A memory store whose append_event does more (as a test double or a wrapper
    might): it keeps being called for every event."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def append_event(self, event: Event) -> None:
        self.seen.append(event.seq)
        super().append_event(event)


async def test_a_store_that_hooks_append_event_still_gets_every_event() -> None:
    store = _Hooked()
    async with Runtime(store) as rt:
        run = await rt.start(chain(), {})
        await run.result()
        stored = await store.read_events(run.id)
    assert store.seen == [e.seq for e in stored] == list(range(len(stored)))


async def test_events_arriving_out_of_order_are_kept_in_seq_order_first_one_wins() -> None:
    store = MemoryStore()

    def event(seq: int, note: str) -> Event:
        return Event(seq, "r", EventType.LOG, 0.0, None, {"note": note})

    for seq, note in [(0, "a"), (1, "b"), (4, "e"), (2, "c"), (1, "again"), (3, "d"),
                      (4, "again")]:
        store.append_event(event(seq, note))
    kept = await store.read_events("r")
    assert [(e.seq, e.data["note"]) for e in kept] == [
        (0, "a"), (1, "b"), (2, "c"), (3, "d"), (4, "e")]
    assert [e.seq for e in await store.read_events("r", 2)] == [2, 3, 4]
    assert [e.seq for e in await store.read_events("r", 1, 3)] == [1, 2]
    assert await store.read_events("r", 9) == []
    assert await store.read_events("nobody") == []


async def test_a_run_record_reads_back_whole_after_updates_and_copies_are_the_callers() -> None:
    store = MemoryStore()
    await store.create_run(RunRecord(id="r", graph_name="g", options={"timeout": 5},
                                     initial_state={"data": {"a": [1]}}, thread_id="t"))
    await store.update_run("r", status=RunStatus.RUNNING, owner="me")
    record = await store.get_run("r")
    assert record is not None
    assert (record.status, record.owner, record.options, record.thread_id) == (
        RunStatus.RUNNING, "me", {"timeout": 5}, "t")
    record.options["timeout"] = 99
    record.initial_state["data"]["a"].append(2)
    again = await store.get_run("r")
    assert again is not None
    assert again.options == {"timeout": 5} and again.initial_state == {"data": {"a": [1]}}
    # An interrupted run claimed by another owner: counted, and its owner changed.
    claimed = await store.claim_orphaned_runs("other")
    assert [(r.id, r.owner, r.interruptions) for r in claimed] == [("r", "other", 1)]
    assert [r.id for r in await store.list_runs(status="running", thread_id="t")] == ["r"]
    assert await store.count_runs_by_status(["running", "pending"]) == {
        "running": 1, "pending": 0}


async def test_a_runs_empty_lists_and_dicts_read_back_as_the_callers_own() -> None:
    """A run's record keeps its usual empty containers (the initial state's data, errors,
    warnings, config; the interrupt lists of its options) as shared ones: every read
    still gets containers of its own, two of them never one and the same."""
    from runtime.store.memory import _EMPTY_AT

    store = MemoryStore()
    state = WorkflowState(workflow_id="g", run_id="r").model_dump(mode="json")
    for rid in ("r", "s"):
        await store.create_run(RunRecord(
            id=rid, graph_name="g", initial_state=state,
            options={"interrupt_before": [], "interrupt_after": [], "timeout": None}))
    record = await store.get_run("r")
    listed = (await store.list_runs())[0]
    claimed = (await store.claim_orphaned_runs("other"))[0]
    for r in (record, listed, claimed):
        assert r is not None
        before, after = r.options["interrupt_before"], r.options["interrupt_after"]
        assert before == after == [] and before is not after
        assert r.initial_state["errors"] is not r.initial_state["warnings"]
        assert r.initial_state["data"] is not r.initial_state["config"]
        before.append("n1")
        r.initial_state["errors"].append("mine")
        r.initial_state["data"]["x"] = 1
        assert r.options["interrupt_after"] == [] and r.initial_state["warnings"] == []
    again = await store.get_run("s")
    assert again is not None
    assert again.options == {"interrupt_before": [], "interrupt_after": [], "timeout": None}
    assert again.initial_state == state
    assert all(not v for empties in _EMPTY_AT.values() for v in empties.values())


async def _w3_node(state: WorkflowState) -> None:
    return None


def _w3_chain(pause: anyio.Event | None = None, arrived: list[int] | None = None) -> Any:
    """W3's graph; with ``pause``, its third node waits for it (counted in ``arrived``)."""
    async def paused(state: WorkflowState) -> None:
        assert pause is not None and arrived is not None
        arrived[0] += 1
        await pause.wait()

    g = Graph("kept_chain")
    names = [f"n{i}" for i in range(5)]
    for n in names:
        g.add_node(n, paused if n == "n2" and pause is not None else _w3_node)
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g.compile()


RUNS = 200


async def test_a_finished_chain_run_kept_in_memory_holds_few_tracked_objects() -> None:
    """W3's finished runs (kept: Runtime.keep_finished) are walked by every full
    collection after them. Their record, checkpoints and events were 81 objects per
    5-node run; kept compactly they are about 60."""
    compiled = _w3_chain()
    async with Runtime() as rt:
        await (await rt.start(compiled, {})).result()   # warm: caches, imports
        gc.collect()
        before = len(gc.get_objects())
        handles = [await rt.start(compiled, {}) for _ in range(RUNS)]
        for h in handles:
            await h.result()
        del h
        gc.collect()
        per_run = (len(gc.get_objects()) - before) / RUNS
    assert per_run < 66, f"{per_run:.1f} tracked objects per finished run kept"


async def test_a_chain_run_in_flight_holds_few_tracked_objects() -> None:
    """What the collector walks per W3 run in flight (its full collections happen while
    none has finished): 111 objects per run paused in its third node, now about 95."""
    pause, arrived = anyio.Event(), [0]
    compiled = _w3_chain(pause, arrived)
    async with Runtime() as rt:
        await (await rt.start(_w3_chain(), {})).result()   # warm: caches, imports
        gc.collect()
        before = len(gc.get_objects())
        handles = [await rt.start(compiled, {}) for _ in range(RUNS)]
        while arrived[0] < RUNS:
            await anyio.sleep(0.001)
        gc.collect()
        per_run = (len(gc.get_objects()) - before) / RUNS
        pause.set()
        for h in handles:
            await h.result()
    assert per_run < 100, f"{per_run:.1f} tracked objects per run in flight"


async def test_a_chain_run_in_flight_and_kept_holds_few_bytes() -> None:
    """W3's peak RSS is its runs in flight (all of them at once) plus what finished ones
    keep. Bytes allocated per run (tracemalloc, deterministic), paused in its third node:
    16.5-16.7 KB before the run's layout was made smaller, now ~14.3-14.5 KB; finished
    and kept: 13.1-13.2 KB, now ~11 KB."""
    pause, arrived = anyio.Event(), [0]
    compiled = _w3_chain(pause, arrived)
    async with Runtime() as rt:
        await (await rt.start(_w3_chain(), {})).result()   # warm: caches, imports
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            handles = [await rt.start(compiled, {}) for _ in range(RUNS)]
            while arrived[0] < RUNS:
                await anyio.sleep(0.001)
            gc.collect()
            in_flight = (tracemalloc.get_traced_memory()[0] - base) / RUNS
            pause.set()
            for h in handles:
                await h.result()
            del h
            gc.collect()
            kept = (tracemalloc.get_traced_memory()[0] - base) / RUNS
        finally:
            tracemalloc.stop()
    assert in_flight < 15_500, f"{in_flight:.0f} bytes per run in flight"
    assert kept < 12_000, f"{kept:.0f} bytes per finished run kept"
