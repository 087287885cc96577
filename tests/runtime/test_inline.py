"""A lone activation is executed by the supervisor itself (runtime.supervisor._loop).

A chain, a loop, a join: while nothing else of the run is in flight, the next node runs
in the run's own task, with no worker task. What a node execution is held to stays the
same (see test_workers.py for ask(), retries and failures): these tests cover what
inline execution could break, namely that the run still yields to other tasks at every
node, that its timeout and cancellation reach nodes that never wait, and that parallel
branches still get workers.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from looptasks import current_task, live_tasks

from runtime import END, Graph, RunStatus, Runtime, RunTimeoutError, WorkflowState


def forever_loop() -> Graph:
    """A -> A for ever, A never waiting for anything."""

    async def spin(state: WorkflowState) -> dict[str, Any]:
        return {"n": state.data.get("n", 0) + 1}

    g = Graph("spin", max_steps=10**9)
    g.add_node("A", spin)
    g.add_conditional_edge("A", "A", "n >= 0")
    g.add_edge("A", END)
    return g


async def test_a_chain_runs_in_the_runs_own_task_with_no_worker_task() -> None:
    tasks: list[object] = []
    counts: list[int] = []

    async def step(state: WorkflowState) -> dict[str, Any]:
        tasks.append(current_task())
        counts.append(live_tasks())
        await anyio.sleep(0)
        return {"n": state.data.get("n", 0) + 1}

    g = Graph("chain")
    for name in ("a", "b", "c"):
        g.add_node(name, step)
    g.add_edge("a", "b").add_edge("b", "c").add_edge("c", END)
    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = await rt.start(g.compile(), {})
        final = await run.result()
    assert final.data == {"n": 3}
    assert all(t is tasks[0] for t in tasks)
    # The run's task is the only task the run adds while its nodes execute.
    assert counts == [before + 1] * 3


async def test_nodes_that_never_wait_still_let_other_tasks_run_and_can_be_cancelled() -> None:
    ticks = 0
    async with Runtime() as rt:
        run = await rt.start(forever_loop().compile(), {})

        async def ticker() -> None:
            nonlocal ticks
            while ticks < 100:
                await anyio.lowlevel.checkpoint()
                ticks += 1
            run.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            await run.wait()
    assert ticks == 100
    assert run.status is RunStatus.CANCELLED
    # The loop went on while the other task ticked: it shared the event loop.
    assert run.state.data["n"] >= 50


async def test_a_run_timeout_reaches_nodes_that_never_wait() -> None:
    async with Runtime() as rt:
        run = await rt.start(forever_loop().compile(), {}, timeout=0.05)
        with pytest.raises(RunTimeoutError):
            await run.result()
    assert run.status is RunStatus.FAILED


async def test_parallel_branches_get_workers_and_the_join_runs_inline() -> None:
    tasks: dict[str, object] = {}
    both = anyio.Event()
    arrived = 0

    def body(name: str) -> Any:
        async def node(state: WorkflowState) -> dict[str, Any]:
            nonlocal arrived
            tasks[name] = current_task()
            if name in ("l", "r"):
                arrived += 1
                if arrived == 2:
                    both.set()
                await both.wait()   # each branch waits for the other: two tasks
            return {name: True}

        node.__name__ = node.__qualname__ = f"node_{name}"
        return node

    g = Graph("fan")
    for name in ("start", "l", "r", "join", "after"):
        g.add_node(name, body(name))
    g.add_edge("start", ["l", "r"])
    g.add_join(["l", "r"], "join")
    g.add_edge("join", "after").add_edge("after", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        final = await run.result()
    assert final.data == {"start": True, "l": True, "r": True, "join": True, "after": True}
    assert tasks["l"] is not tasks["r"]
    assert tasks["l"] is not tasks["start"] and tasks["r"] is not tasks["start"]
    # Once the branches have joined, the supervisor executes the rest itself again.
    assert tasks["join"] is tasks["start"] and tasks["after"] is tasks["start"]


def chain_of(node: Any, length: int) -> Any:
    """``length`` nodes running ``node``, one after another."""
    g = Graph("chain_of", max_steps=length + 10)
    g.add_node("n0", node)
    for i in range(1, length):
        g.add_node(f"n{i}", node).add_edge(f"n{i - 1}", f"n{i}")
    return g.add_edge(f"n{length - 1}", END).compile()


async def test_every_node_that_never_waits_is_preceded_by_a_turn() -> None:
    # A chain of nodes that never wait, beside a task that takes a turn after another:
    # each node execution lets it run once.
    seen: list[int] = []
    ticks = 0
    done = False

    async def node(state: WorkflowState) -> dict[str, Any]:
        seen.append(ticks)
        return {}

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with Runtime() as rt, anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        run = await rt.start(chain_of(node, 20), {})
        await run.result()
        done = True
    assert len(seen) == 20
    # Each node execution is a pass of the scheduler of its own, in which the ticker
    # ticks once (before or after it: trio may run a pass's tasks in either order).
    assert all(seen[i + 2] > seen[i] for i in range(18)), seen
    assert seen[-1] - seen[0] >= 18, seen


@pytest.mark.backends("trio")
async def test_a_node_that_waited_is_not_followed_by_a_turn_of_its_own() -> None:
    # Under trio the run's task yields once per node execution of a chain of nodes that
    # each wait once: its waits, and no extra turn (runtime.turns).
    import trio

    points: list[int] = []

    async def node(state: WorkflowState) -> dict[str, Any]:
        points.append(trio.lowlevel.current_task()._schedule_points)
        await anyio.sleep(0)
        return {}

    async with Runtime() as rt:
        run = await rt.start(chain_of(node, 10), {})
        await run.result()
    assert [b - a for a, b in zip(points, points[1:], strict=False)] == [1] * 9
