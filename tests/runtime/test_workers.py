"""A run's node workers are reused across its nodes (runtime.workers.WorkerPool).

A chain costs one worker task, not one per node; what a node execution is held to
(ask() finding its node, retries, failures, cancellation, no task left behind) is
the same in a reused worker as in a new one.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from looptasks import current_task, live_tasks

from runtime import (
    END,
    Graph,
    RetryPolicy,
    RunCancelled,
    RunFailed,
    RunStatus,
    Runtime,
    RunWaiting,
    WorkflowState,
    ask,
)


def chain(*bodies: Any) -> Graph:
    g = Graph("chain")
    names = [f"n{i}" for i in range(len(bodies))]
    for name, body in zip(names, bodies, strict=True):
        g.add_node(name, body)
    for a, b in zip(names, names[1:], strict=False):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


async def test_a_chain_of_nodes_runs_in_one_worker_task() -> None:
    tasks: list[object] = []

    async def step(state: WorkflowState) -> dict[str, Any]:
        tasks.append(current_task())
        await anyio.sleep(0)
        return {"n": state.data.get("n", 0) + 1}

    async with Runtime() as rt:
        run = await rt.start(chain(*[step] * 5).compile(), {})
        final = await run.result()
    assert final.data == {"n": 5}
    assert len(tasks) == 5 and all(t is tasks[0] for t in tasks)


async def test_ask_in_a_reused_worker_names_its_own_node() -> None:
    tasks: list[object] = []

    async def first(state: WorkflowState) -> dict[str, Any]:
        tasks.append(current_task())
        return {"a": 1}

    async def second(state: WorkflowState) -> dict[str, Any]:
        tasks.append(current_task())
        return {"answer": await ask({"question": "ok?"})}

    async with Runtime() as rt:
        run = await rt.start(chain(first, second).compile(), {})
        with pytest.raises(RunWaiting) as info:
            await run.result()
        [interrupt] = info.value.interrupts
        assert interrupt["node"] == "n1"
        assert tasks[0] is tasks[1]   # the question came from the reused worker
        resumed = await rt.resume(run.id, "yes")
        final = await resumed.result()
    assert final.data == {"a": 1, "answer": "yes"}


async def test_retries_and_failures_in_a_reused_worker_are_the_nodes_own() -> None:
    attempts: list[str] = []

    async def ok(state: WorkflowState) -> dict[str, Any]:
        attempts.append("n0")
        return {"x": 1}

    async def flaky(state: WorkflowState) -> dict[str, Any]:
        attempts.append("n1")
        if attempts.count("n1") < 3:
            raise ValueError("not yet")
        return {"y": 2}

    async def broken(state: WorkflowState) -> dict[str, Any]:
        attempts.append("n2")
        raise KeyError("gone")

    g = Graph("retrying")
    g.add_node("n0", ok).add_node("n1", flaky, retry=RetryPolicy(max_attempts=3,
                                                                    initial_delay=0))
    g.add_node("n2", broken)
    g.add_edge("n0", "n1").add_edge("n1", "n2").add_edge("n2", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        with pytest.raises(RunFailed) as info:
            await run.result()
    assert attempts == ["n0", "n1", "n1", "n1", "n2"]
    assert info.value.node == "n2" and "KeyError" in str(info.value)


async def test_a_run_with_an_idle_worker_cancels_and_leaves_no_task() -> None:
    blocked = anyio.Event()

    async def quick(state: WorkflowState) -> None:
        return None

    async def slow(state: WorkflowState) -> None:
        blocked.set()
        await anyio.sleep_forever()

    g = Graph("idle")
    g.add_node("start", quick).add_node("quick", quick).add_node("slow", slow)
    g.add_node("join", quick)
    g.add_edge("start", ["quick", "slow"])
    g.add_join(["quick", "slow"], "join")
    g.add_edge("join", END)
    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = await rt.start(g.compile(), {})
        await blocked.wait()
        await anyio.wait_all_tasks_blocked()   # 'quick' is done: its worker is idle
        run.cancel()
        await run.wait()
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    assert run.status is RunStatus.CANCELLED and isinstance(run.error, RunCancelled)
    assert after == before


async def test_a_finished_or_paused_run_leaves_no_idle_worker() -> None:
    async def step(state: WorkflowState) -> None:
        return None

    async def asks(state: WorkflowState) -> dict[str, Any]:
        return {"answer": await ask("?")}

    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        done = await rt.start(chain(step, step, step).compile(), {})
        await done.result()
        paused = await rt.start(chain(step, asks).compile(), {})
        with pytest.raises(RunWaiting):
            await paused.result()
        await anyio.wait_all_tasks_blocked()
        assert live_tasks() == before
