"""The Runtime: many runs at once, a limit on concurrent runs, waiting, listing, lifecycle."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime import (
    END,
    CompiledGraph,
    Graph,
    RunCancelled,
    RunNotFoundError,
    RunStatus,
    Runtime,
    RuntimeClosedError,
    WorkflowState,
)


class Gates:
    """A graph whose single node waits until the test releases that run (by its ``key``)."""

    def __init__(self) -> None:
        self.gates: dict[Any, anyio.Event] = {}
        self.started: list[Any] = []
        self.running = 0
        self.peak = 0

    def graph(self) -> CompiledGraph:
        async def wait(state: WorkflowState) -> dict[str, Any]:
            key = state.data["key"]
            self.started.append(key)
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                await self.gate(key).wait()
            finally:
                self.running -= 1
            return {"done": key}

        return Graph("gated").add_node("wait", wait).add_edge("wait", END).compile()

    def gate(self, key: Any) -> anyio.Event:
        return self.gates.setdefault(key, anyio.Event())


async def quick(state: WorkflowState) -> dict[str, Any]:
    return {"quick": True}


QUICK = Graph("quick").add_node("q", quick).add_edge("q", END)


async def test_start_returns_a_pending_run_and_result_gives_the_final_state() -> None:
    async with Runtime() as rt:
        run = await rt.start(QUICK.compile(), {"x": 1})
        assert run.status is RunStatus.PENDING
        final = await run.result()
    assert final.data == {"x": 1, "quick": True}
    assert run.status is RunStatus.COMPLETED


async def test_start_accepts_an_uncompiled_graph() -> None:
    async with Runtime() as rt:
        run = await rt.start(QUICK)
        assert (await run.result()).data == {"quick": True}


async def test_start_with_an_explicit_run_id_uses_it() -> None:
    async with Runtime() as rt:
        run = await rt.start(QUICK, run_id="my-run")
        assert run.id == "my-run"
        assert (await run.result()).run_id == "my-run"


async def test_many_runs_execute_at_once() -> None:
    g = Gates()
    graph = g.graph()
    async with Runtime() as rt:
        runs = [await rt.start(graph, {"key": i}) for i in range(50)]
        await anyio.wait_all_tasks_blocked()
        assert g.running == 50
        assert all(r.status is RunStatus.RUNNING for r in runs)
        for i in range(50):
            g.gate(i).set()
        finals = [await r.result() for r in runs]
    assert [f.data["done"] for f in finals] == list(range(50))


async def test_max_concurrent_runs_limits_runs_executing_at_once() -> None:
    g = Gates()
    graph = g.graph()
    async with Runtime(max_concurrent_runs=2) as rt:
        runs = [await rt.start(graph, {"key": i}) for i in range(6)]
        for i in range(6):
            await anyio.wait_all_tasks_blocked()
            assert g.running == min(2, 6 - i)
            assert sum(r.status is RunStatus.PENDING for r in runs) == max(0, 6 - i - 2)
            g.gate(g.started[i]).set()
        for r in runs:
            await r.result()
    assert g.peak == 2


async def test_runs_waiting_for_the_limit_start_in_the_order_they_were_started() -> None:
    g = Gates()
    graph = g.graph()
    async with Runtime(max_concurrent_runs=1) as rt:
        runs = [await rt.start(graph, {"key": i}) for i in range(8)]
        for i in range(8):
            await anyio.wait_all_tasks_blocked()
            g.gate(i).set()
        for r in runs:
            await r.result()
    assert g.started == list(range(8))


async def test_wait_returns_the_view_of_the_run_once_it_has_ended() -> None:
    async with Runtime() as rt:
        run = await rt.start(QUICK)
        waited = await rt.wait(run.id)
        assert run.done
        assert waited.id == run.id and waited.stopped and not waited.live
        assert waited.status is RunStatus.COMPLETED and waited.data == run.state.data


async def test_wait_with_a_timeout_returns_the_view_of_the_unfinished_run() -> None:
    g = Gates()
    async with Runtime() as rt:
        run = await rt.start(g.graph(), {"key": 0})
        waited = await rt.wait(run.id, timeout=0.01)
        assert waited.live and not waited.stopped and not run.done
        g.gate(0).set()


async def test_wait_does_not_raise_for_a_failed_run() -> None:
    async def bad(state: WorkflowState) -> None:
        raise ValueError("x")

    async with Runtime() as rt:
        run = await rt.start(Graph("bad").add_node("bad", bad))
        assert (await rt.wait(run.id)).status is RunStatus.FAILED


async def test_wait_for_an_unknown_run_raises_run_not_found() -> None:
    async with Runtime() as rt:
        with pytest.raises(RunNotFoundError, match="'nope'"):
            await rt.wait("nope")


async def test_get_returns_a_run_by_id() -> None:
    async with Runtime() as rt:
        run = await rt.start(QUICK)
        assert rt.get(run.id) is run


async def test_runs_lists_runs_by_status() -> None:
    g = Gates()
    graph = g.graph()
    async with Runtime(max_concurrent_runs=1) as rt:
        done = await rt.start(QUICK)
        await done.result()
        running = await rt.start(graph, {"key": "r"})
        await anyio.wait_all_tasks_blocked()
        pending = await rt.start(graph, {"key": "p"})
        await anyio.wait_all_tasks_blocked()
        assert rt.runs() == [done, running, pending]
        assert rt.runs(RunStatus.COMPLETED) == [done]
        assert rt.runs(RunStatus.RUNNING) == [running]
        assert rt.runs(RunStatus.PENDING) == [pending]
        g.gate("r").set()
        g.gate("p").set()


async def test_leaving_the_runtime_normally_waits_for_running_runs() -> None:
    g = Gates()
    async with Runtime() as rt:
        run = await rt.start(g.graph(), {"key": 0})
        await anyio.wait_all_tasks_blocked()
        g.gate(0).set()
    assert run.status is RunStatus.COMPLETED


async def test_start_before_entering_the_runtime_raises_runtime_closed() -> None:
    with pytest.raises(RuntimeClosedError, match="async with Runtime"):
        await Runtime().start(QUICK)


async def test_start_after_leaving_the_runtime_raises_runtime_closed() -> None:
    async with Runtime() as rt:
        pass
    with pytest.raises(RuntimeClosedError):
        await rt.start(QUICK)


async def test_run_cancelled_before_it_started_is_recorded_in_the_store() -> None:
    g = Gates()
    graph = g.graph()
    async with Runtime(max_concurrent_runs=1) as rt:
        first = await rt.start(graph, {"key": 0})
        await anyio.wait_all_tasks_blocked()
        second = await rt.start(graph, {"key": 1})
        second.cancel()
        with pytest.raises(RunCancelled):
            await second.result()  # at once, without waiting for a slot
        g.gate(0).set()
        await first.result()
        await rt.wait(second.id)
        record = await rt.store.get_run(second.id)
    assert g.started == [0]
    assert record is not None and record.status == "cancelled"


async def test_exception_in_the_runtime_block_propagates_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with Runtime():
            raise KeyError("mine")
