"""A fan-out's branches share worker tasks while they do not wait (runtime.workers).

Branches that never wait run one after the other in one worker task instead of a task
each; what a task of its own gave a branch stays: every branch runs in parallel with
the others as soon as one waits, sees the context of the fan-out and no sibling's,
gets its events, and a cancelled or failed run starts no more of them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import anyio
import pytest
from looptasks import current_task, live_tasks

from fangraphs import fan_graph

from runtime import Graph, Runtime, RunCancelled, RunFailed, RunStatus, WorkflowState
from runtime.events import EventType

WIDTH = 40

marker: ContextVar[str] = ContextVar("fanout_marker", default="unset")


async def join(state: WorkflowState) -> dict[str, Any]:
    return {"count": len(state.data.get("vals", []))}


def fan(branch: Any, width: int = WIDTH) -> Graph:
    return fan_graph(width, branch, join)


async def test_branches_that_never_wait_share_a_worker_task() -> None:
    tasks: list[object] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        tasks.append(current_task())
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        run = await rt.start(fan(branch).compile(), {})
        final = await run.result()
        events = [e async for e in run.events()]
    assert final.data["count"] == WIDTH
    assert final.data["vals"] == list(range(WIDTH))   # branch order, as always
    assert len(tasks) == WIDTH and len({id(t) for t in tasks}) == 1
    # Every branch still has its own events.
    for kind in (EventType.NODE_STARTED, EventType.NODE_COMPLETED):
        nodes = [e.node for e in events if e.type == kind]
        assert sorted(nodes) == sorted([f"b{i}" for i in range(WIDTH)] + ["start", "join"])


async def test_branches_that_wait_for_each_other_all_run_at_once() -> None:
    # Each branch waits until every branch has started: only branches running in
    # parallel (a task each while they wait) can finish.
    started = [0]
    everyone = anyio.Event()
    tasks: set[int] = set()

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        tasks.add(id(current_task()))
        started[0] += 1
        if started[0] == WIDTH:
            everyone.set()
        await everyone.wait()
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        with anyio.fail_after(10):
            final = await (await rt.start(fan(branch).compile(), {})).result()
    assert final.data["vals"] == list(range(WIDTH))
    assert len(tasks) == WIDTH


async def test_a_branch_sees_the_fan_outs_context_and_no_siblings() -> None:
    seen: list[str] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        seen.append(marker.get())
        if config["i"] % 3 == 0:
            marker.set(f"set by b{config['i']}")
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        final = await (await rt.start(fan(branch).compile(), {})).result()
    assert final.data["count"] == WIDTH
    assert seen == ["unset"] * WIDTH


async def test_a_cancelled_run_starts_no_more_branches() -> None:
    # The first branch cancels its run, then waits: the worker called in case it
    # waits finds the run cancelled and starts none of the others (tasks spawned for
    # every branch up front each started their branch before the cancellation
    # reached them).
    ran: list[int] = []
    holder: dict[str, Any] = {}

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        ran.append(config["i"])
        if config["i"] == 0:
            holder["run"].cancel()
        await anyio.sleep(5)
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = holder["run"] = await rt.start(fan(branch).compile(), {})
        await run.wait()
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    assert run.status is RunStatus.CANCELLED and isinstance(run.error, RunCancelled)
    assert ran == [0]
    assert after == before


async def test_a_failed_branch_fails_its_run_and_no_other() -> None:
    ran: list[int] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        ran.append(config["i"])
        if config["i"] == 5:
            raise ValueError("branch five broke")
        await anyio.sleep(0)
        return {"vals": [config["i"]]}

    async def fine(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        await anyio.sleep(0)
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        failing = await rt.start(fan(branch).compile(), {})
        other = await rt.start(fan(fine).compile(), {})
        with pytest.raises(RunFailed, match="branch five broke") as info:
            await failing.result()
        final = await other.result()
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    assert info.value.node == "b5" and failing.status is RunStatus.FAILED
    assert final.data["vals"] == list(range(WIDTH))
    assert 5 in ran and after == before


async def test_branches_that_wait_all_start_before_the_first_one_is_done() -> None:
    # Each branch waits five turns of the event loop. A worker called in case the
    # first branch waits finds it waiting and calls a worker for every branch left:
    # all have started two turns later, not one branch per turn.
    order: list[str] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        order.append(f"start {config['i']}")
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        order.append(f"end {config['i']}")
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        final = await (await rt.start(fan(branch).compile(), {})).result()
    assert final.data["vals"] == list(range(WIDTH))
    first_end = next(i for i, e in enumerate(order) if e.startswith("end"))
    assert sorted(order[:first_end]) == sorted(f"start {i}" for i in range(WIDTH))
