"""A run's task starts in the runtime's task group without an anyio TaskHandle (runtime.spawn:
under trio in the group's nursery, under asyncio registered in anyio's group as its own
start_soon does; ~2 KB per run in flight, W3's peak RSS), and is still that group's task:
named for its run, cancelled with the group, cancelled alone by Run.cancel, its failure
raised by the group's ``async with`` and cancelling the others."""

from __future__ import annotations

import gc
from typing import Any

import anyio
import sniffio
from fangraphs import fan_graph

from runtime import END, Graph, Runtime, WorkflowState
from runtime.spawn import AsyncioSpawner, asyncio_supported, spawner
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
    assert per_run == 0, f"{per_run:.2f} anyio task handles per run in flight"


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
    assert held == 0, f"{held} anyio task handles for a run of {width} branches"


async def test_the_spawner_is_the_lean_one_on_this_anyio() -> None:
    # If a new anyio moves the private parts AsyncioSpawner relies on, the runtime
    # silently goes through anyio's start_soon again (correct, slower): fail here.
    async with anyio.create_task_group() as tg:
        got = spawner(tg)
        if sniffio.current_async_library() == "asyncio":
            assert asyncio_supported(tg) and isinstance(got, AsyncioSpawner)
        else:
            assert got is tg._nursery  # type: ignore[attr-defined]


async def test_a_spawned_task_s_failure_is_raised_by_the_group_and_cancels_the_others() -> None:
    cancelled, started = [], anyio.Event()

    async def sibling() -> None:
        try:
            started.set()
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append(anyio.get_current_task().name)
            raise

    async def fail() -> None:
        await started.wait()
        raise ValueError("boom in a spawned task")

    try:
        async with anyio.create_task_group() as tg:
            s = spawner(tg)
            s.start_soon(sibling, name="the sibling")
            s.start_soon(fail, name="the failing one")
    except BaseExceptionGroup as group:
        assert [str(e) for e in group.exceptions] == ["boom in a spawned task"]
    else:
        raise AssertionError("the task group did not raise its task's failure")
    assert cancelled == ["the sibling"]


async def test_a_spawned_task_is_cancelled_with_its_group_and_the_group_waits_for_it() -> None:
    events: list[str] = []

    async def child() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)   # cleanup that takes a while
            events.append("child cleaned up")

    async with anyio.create_task_group() as tg:
        for i in range(3):
            spawner(tg).start_soon(child, name=f"child {i}")
        await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    events.append("group left")
    assert events == ["child cleaned up"] * 3 + ["group left"]


async def test_a_spawned_task_ending_normally_leaves_the_group_clean() -> None:
    results: list[int] = []

    async def child(i: int) -> None:
        await anyio.sleep(0)
        results.append(i)

    async with anyio.create_task_group() as tg:
        s = spawner(tg)
        for i in range(50):
            s.start_soon(child, i, name=f"child {i}")
    assert sorted(results) == list(range(50))
    assert not getattr(tg, "_tasks", set())   # anyio's own bookkeeping emptied
