"""The engine review's defects (issue 9, item 5): each test failed before its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from runtime import (
    END,
    EventType,
    Graph,
    GraphValidationError,
    RunFailed,
    RunStatus,
    Runtime,
    RunWaiting,
    StateError,
    WorkflowState,
    ask,
)
from runtime.events import EVENTS_KEPT_AFTER_CLOSE
from runtime.store import MemoryStore


# -- shutdown never starts the runs queued for a slot --------------------------------------
async def test_shutdown_releases_runs_queued_for_a_slot_without_running_them(
        tmp_path: Path) -> None:
    gate, started = anyio.Event(), anyio.Event()
    ran: list[str] = []

    async def work(state: WorkflowState) -> dict[str, Any]:
        ran.append(state.run_id)
        if len(ran) == 1:
            started.set()
            await gate.wait()
        return {"done": True}

    g = Graph("queued").add_node("work", work).add_edge("work", END)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    async with Runtime(url, max_concurrent_runs=1) as rt:
        first = await rt.start(g, {})
        queued = await rt.start(g, {})
        await started.wait()
        await wait_all_tasks_blocked()
        await rt.shutdown()
        await queued.wait()
        record = await rt.store.get_run(queued.id)
    assert ran == [first.id], "a queued run was started by the shutdown"
    assert queued.status is RunStatus.PENDING
    assert record is not None and record.status == "pending" and record.owner is None
    # Released, not lost: the next runtime on the store runs it.
    async with Runtime(url, graphs=[g]) as rt:
        final = await rt.get(queued.id).result()
    assert final.data == {"done": True}


# -- a run resumes with the graph it started with -------------------------------------------
def _asking_graph(name: str, node: str, value: str) -> Graph:
    async def asking(state: WorkflowState) -> dict[str, Any]:
        return {node: value, "answer": await ask({"from": node})}

    return Graph(name).add_node(node, asking).add_edge(node, END)


async def test_two_graphs_under_one_name_each_resume_their_own_runs(store_url: str) -> None:
    first, second = _asking_graph("same", "one", "1"), _asking_graph("same", "two", "2")
    async with Runtime(store_url) as rt:
        runs = [await rt.start(first.compile(), {}), await rt.start(second.compile(), {})]
        for run in runs:
            with pytest.raises(RunWaiting):
                await run.result()
        finals = [await (await rt.resume(run.id, "yes")).result() for run in reversed(runs)]
    assert finals[0].data == {"two": "2", "answer": "yes"}
    assert finals[1].data == {"one": "1", "answer": "yes"}


# -- add_error_edge before add_node ------------------------------------------------------
async def test_an_error_edge_added_before_its_node_keeps_the_node_and_routes_its_failure(
        ) -> None:
    async def risky(state: WorkflowState) -> dict[str, Any]:
        raise ValueError("boom")

    async def fallback(state: WorkflowState) -> dict[str, Any]:
        return {"handled": True}

    g = Graph("errors_first")
    g.add_error_edge("risky", "fallback")
    g.add_node("risky", risky)
    g.add_node("fallback", fallback)
    g.add_edge("risky", END)
    g.add_edge("fallback", END)
    g.set_entry_point("risky")
    async with Runtime() as rt:
        final = await (await rt.start(g.compile(), {})).result()
    assert final.data == {"handled": True}
    assert final.errors == ["risky: ValueError: boom"]


def test_an_error_edge_from_a_node_never_added_is_reported_at_compile() -> None:
    g = Graph("dangling").add_node("a", _noop).add_edge("a", END)
    g.add_error_edge("ghost", "a")
    with pytest.raises(GraphValidationError) as caught:
        g.compile()
    assert caught.value.problems == [
        "error edge ghost->a: unknown source node 'ghost'; add_node('ghost', ...) too"]


async def _noop(state: WorkflowState) -> None:
    return None


# -- a finished run keeps a bounded number of events in memory ---------------------------
async def test_a_finished_run_keeps_few_events_in_memory_and_replays_all_from_the_store(
        store_url: str) -> None:
    async def tick(state: WorkflowState) -> dict[str, Any]:
        return {"n": state.data.get("n", 0) + 1}

    g = Graph("ticks").add_node("tick", tick)
    g.add_conditional_edge("tick", "tick", "n < 200")
    g.add_edge("tick", END)
    async with Runtime(store_url) as rt:
        run = await rt.start(g, {})
        await run.result()
        kept = run.hub.events_since(0)
        replayed = [e.seq for e in [e async for e in run.events()]]
        followed = [e.seq for e in [e async for e in rt.events(run.id)]]
        # A memory store's run: the hub's events are the store's own list (nothing
        # kept twice); any other store's: the hub keeps only the tail.
        shared = isinstance(rt.store, MemoryStore) and run.hub._log is rt.store._events[run.id]
    assert replayed == followed == list(range(len(replayed)))
    assert len(replayed) > 400            # started, completed, updated per step, ...
    assert shared or len(kept) <= EVENTS_KEPT_AFTER_CLOSE
    assert shared == store_url.startswith("memory")
    assert kept[-1].type is EventType.RUN_COMPLETED


# -- one error from a mixed exception group ------------------------------------------------
async def test_a_run_failing_with_an_actorflow_error_and_another_reports_both() -> None:
    def check(state: WorkflowState) -> bool:
        # A condition function that reports every problem it found at once.
        raise ExceptionGroup("checks failed", [StateError("score is missing"),
                                               ValueError("threshold is negative")])

    g = Graph("mixed").add_node("a", _noop)
    g.add_conditional_edge("a", END, check)
    g.add_edge("a", END)
    async with Runtime() as rt:
        run = await rt.start(g, {})
        with pytest.raises(RunFailed) as caught:
            await run.result()
    assert "score is missing" in str(caught.value)
    assert "threshold is negative" in str(caught.value)
