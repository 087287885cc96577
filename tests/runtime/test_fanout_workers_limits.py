"""What holds a node execution stays per execution when a fan-out's branches share a
worker task (runtime.workers): its timeout, its retries, its node's concurrency limit,
the run's timeout, a subgraph as a branch, a sync node in a thread, and a branch that
blocks never holds up those queued behind it."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from looptasks import live_tasks

from runtime import END, Graph, Runtime, WorkflowState
from runtime.errors import NodeTimeoutError, RunTimeoutError
from runtime.events import EventType
from runtime.logcontext import log_fields
from runtime.retry import RetryPolicy

WIDTH = 8


async def start(state: WorkflowState) -> None:
    return None


async def join(state: WorkflowState) -> None:
    return None


def fan(branch: Any, width: int = WIDTH, **first: Any) -> Graph:
    """start -> b0..bN -> join; ``first``: b0's node options."""
    g = Graph("fan", reducers={"vals": "append"}, max_steps=width + 10)
    g.add_node("start", start)
    names = [f"b{i}" for i in range(width)]
    for i, name in enumerate(names):
        g.add_node(name, branch, config={"i": i}, **(first if i == 0 else {}))
    g.add_node("join", join)
    g.add_edge("start", names)
    g.add_join(names, "join")
    g.add_edge("join", END)
    return g


async def test_a_branch_that_times_out_fails_alone_and_its_siblings_complete() -> None:
    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        if config["i"] == 0:
            await anyio.sleep(30)
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = await rt.start(fan(branch, timeout=0.05).compile(), {})
        with pytest.raises(NodeTimeoutError, match="node 'b0' timed out"):
            await run.result()
        events = [e async for e in run.events()]
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    completed = {e.node for e in events if e.type == EventType.NODE_COMPLETED}
    assert {f"b{i}" for i in range(1, WIDTH)} <= completed and after == before


async def test_a_branch_retried_in_a_shared_worker_runs_again() -> None:
    attempts: list[int] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        if config["i"] == 0:
            attempts.append(1)
            if len(attempts) == 1:
                raise ValueError("first attempt")
        return {"vals": [config["i"]]}

    retry = RetryPolicy(max_attempts=2, initial_delay=0.0, jitter=False)
    async with Runtime() as rt:
        final = await (await rt.start(fan(branch, retry=retry).compile(), {})).result()
    assert final.data["vals"] == list(range(WIDTH)) and len(attempts) == 2


async def test_a_nodes_concurrency_limit_holds_for_branches_that_do_and_do_not_wait() -> None:
    busy = peak = 0
    seen: list[int] = []

    async def split(state: WorkflowState) -> dict[str, Any]:
        return {"items": list(range(20))}

    async def work(state: WorkflowState) -> dict[str, Any]:
        nonlocal busy, peak
        busy += 1
        peak = max(peak, busy)
        seen.append(state.data["it"])
        if state.data["it"] % 2:
            await anyio.sleep(0.001)
        busy -= 1
        return {}

    g = Graph("limited")
    g.add_node("split", split).add_node("work", work, concurrency=3)
    g.add_map_edge("split", "work", over="items", item_key="it")
    g.add_edge("work", END)
    async with Runtime() as rt:
        await (await rt.start(g.compile(), {})).result()
    assert peak == 3 and sorted(seen) == list(range(20))


async def test_a_run_timeout_with_branches_queued_leaves_no_task() -> None:
    started: list[int] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        started.append(config["i"])
        await anyio.sleep(30)
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = await rt.start(fan(branch, 40).compile(), {}, timeout=0.2)
        with pytest.raises(RunTimeoutError):
            await run.result()
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    assert sorted(started) == list(range(40)) and after == before


async def test_subgraphs_as_branches_each_run_their_own_fan_out() -> None:
    calls: list[tuple[str, int]] = []

    async def inner(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        calls.append((state.run_id, config["i"]))
        if config["i"] == 1:
            await anyio.sleep(0)
        return {"vals": [config["i"]]}

    child = fan(inner, 4).compile()
    g = Graph("outer", max_steps=20)
    g.add_node("start", start)
    names = [f"s{i}" for i in range(4)]
    for name in names:
        g.add_subgraph(name, child)
    g.add_node("join", join)
    g.add_edge("start", names)
    g.add_join(names, "join")
    g.add_edge("join", END)
    async with Runtime() as rt:
        await (await rt.start(g.compile(), {})).result()
    assert len({run for run, _ in calls}) == 4
    assert sorted(i for _, i in calls) == sorted(list(range(4)) * 4)


async def test_sync_branches_run_in_threads_under_their_own_node() -> None:
    fields: dict[int, dict[str, str]] = {}

    def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.001)
        fields[config["i"]] = log_fields()
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        run = await rt.start(fan(branch).compile(), {})
        final = await run.result()
    assert final.data["vals"] == list(range(WIDTH))
    assert fields == {i: {"run_id": run.id, "node": f"b{i}"} for i in range(WIDTH)}


async def test_a_wide_fan_outs_first_branch_waits_for_its_last() -> None:
    # b0 waits until the last branch has run; the others never wait. Were any branch
    # queued behind b0 in its worker, the run would never end.
    width = 500
    last_ran = anyio.Event()

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        if config["i"] == 0:
            await last_ran.wait()
        elif config["i"] == width - 1:
            last_ran.set()
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        with anyio.fail_after(20):
            final = await (await rt.start(fan(branch, width).compile(), {})).result()
    assert final.data["vals"] == list(range(width))
