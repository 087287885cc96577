"""A run's task starts in the runtime's task group without an anyio TaskHandle under trio
(runtime.spawn: ~2 KB per run in flight, W3's peak RSS), and is still that group's task:
named for its run, cancelled with the group, cancelled alone by Run.cancel."""

from __future__ import annotations

import gc
from typing import Any

import anyio
import sniffio
from fangraphs import fan_graph

from runtime import END, Graph, Runtime, WorkflowState
from runtime.status import RunStatus

RUNS = 100


def _blocking(gate: anyio.Event, arrived: list[int], names: list[str] | None = None) -> Any:
    async def wait(state: WorkflowState) -> dict[str, bool]:
        if names is not None:
            names.append(anyio.get_current_task().name)
        arrived[0] += 1
        await gate.wait()
        return {"done": True}

    g = Graph("spawned")
    g.add_node("wait", wait)
    g.add_edge("wait", END)
    return g.compile()


def _handles() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is anyio.TaskHandle)


async def test_a_run_in_flight_holds_no_task_handle_under_trio() -> None:
    gate, arrived = anyio.Event(), [0]
    compiled = _blocking(gate, arrived)
    async with Runtime() as rt:
        before = _handles()
        handles = [await rt.start(compiled, {}) for _ in range(RUNS)]
        while arrived[0] < RUNS:
            await anyio.sleep(0.001)
        per_run = (_handles() - before) / RUNS
        gate.set()
        finals = [await h.result() for h in handles]
    assert all(f.data == {"done": True} for f in finals)
    if sniffio.current_async_library() == "trio":
        assert per_run == 0, f"{per_run:.2f} anyio task handles per run in flight"
    else:
        # asyncio: anyio's task group cancels its tasks by hand, so it starts each one.
        assert per_run <= 1.0


async def test_a_run_s_task_is_named_for_its_run() -> None:
    gate, arrived, names = anyio.Event(), [0], []
    gate.set()
    async with Runtime() as rt:
        run = await rt.start(_blocking(gate, arrived, names), {})
        await run.result()
    # (The node is executed inline, in the run's own task.)
    assert names == [f"run {run.id}"]


async def test_cancelling_the_runtime_s_scope_stops_its_runs_and_leaves_cleanly() -> None:
    gate, arrived = anyio.Event(), [0]
    compiled = _blocking(gate, arrived)
    handles = []
    with anyio.CancelScope() as scope:
        async with Runtime() as rt:
            handles = [await rt.start(compiled, {}) for _ in range(5)]
            while arrived[0] < 5:
                await anyio.sleep(0.001)
            scope.cancel()
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert len(handles) == 5 and all(h.done for h in handles)


async def test_cancelling_one_run_leaves_the_others_running() -> None:
    gate, arrived = anyio.Event(), [0]
    compiled = _blocking(gate, arrived)
    async with Runtime() as rt:
        first, second = await rt.start(compiled, {}), await rt.start(compiled, {})
        while arrived[0] < 2:
            await anyio.sleep(0.001)
        assert await rt.cancel(first.id) is RunStatus.CANCELLED
        assert not second.done
        gate.set()
        assert (await second.result()).data == {"done": True}
    assert first.status is RunStatus.CANCELLED and second.status is RunStatus.COMPLETED


async def test_a_fan_out_s_node_workers_hold_no_task_handle_under_trio() -> None:
    # A fan-out's branches go to node workers, each a task of the run's own task group
    # (runtime.workers): under trio started in its nursery, as the run's task is.
    gate, arrived, width = anyio.Event(), [0], 4

    async def branch(state: WorkflowState) -> dict[str, list[int]]:
        arrived[0] += 1
        await gate.wait()
        return {"vals": [1]}

    async def join(state: WorkflowState) -> None:
        return None

    compiled = fan_graph(width, branch, join, name="spawned-fan").compile()
    async with Runtime() as rt:
        before = _handles()
        run = await rt.start(compiled, {})
        while arrived[0] < width:
            await anyio.sleep(0.001)
        held = _handles() - before
        gate.set()
        final = await run.result()
    assert final.data["vals"] == [1] * width
    if sniffio.current_async_library() == "trio":
        assert held == 0, f"{held} anyio task handles for a run of {width} branches"
    else:
        assert held >= 1   # asyncio: the run's task and its workers go through anyio
