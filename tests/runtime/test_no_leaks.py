"""No task outlives its run: after success, failure, timeout and cancel, the task count is back.

Tasks are counted from the event loop itself: ``asyncio.all_tasks()`` on asyncio, and on
trio every task under the root task's nurseries.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from looptasks import live_tasks

from runtime import (
    END,
    Graph,
    Run,
    RunCancelled,
    RunFailed,
    RunStatus,
    Runtime,
    RunTimeoutError,
    WorkflowState,
)


class Busy:
    """A graph that fans out to several node actors (and a map) that block until released."""

    def __init__(self, fail: bool = False) -> None:
        self.release = anyio.Event()
        self.fail = fail

    def graph(self) -> Graph:
        async def split(state: WorkflowState) -> dict[str, Any]:
            return {"items": list(range(5))}

        async def block(state: WorkflowState) -> dict[str, Any]:
            await self.release.wait()
            return {}

        async def maybe_fail(state: WorkflowState) -> None:
            await anyio.wait_all_tasks_blocked()
            if self.fail:
                raise ValueError("boom")
            await self.release.wait()

        def sync(state: WorkflowState) -> None:
            return None

        g = Graph("busy", reducers={"out": "append"})
        g.add_node("split", split).add_node("mapped", block, concurrency=2)
        g.add_node("left", block).add_node("right", maybe_fail).add_node("sync", sync)
        g.add_node("join", block)
        g.add_edge("split", ["left", "right", "sync"])
        g.add_map_edge("split", "mapped", over="items", max_concurrency=3)
        g.add_join(["left", "right", "sync", "mapped"], "join")
        g.add_edge("join", END)
        return g


async def run_and_count(busy: Busy, end: str, **start_kw: Any) -> tuple[int, int, int, Run]:
    """Tasks (before the run, while it is busy, after it ended) inside one Runtime."""
    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = await rt.start(busy.graph().compile(), **start_kw)
        await anyio.wait_all_tasks_blocked()
        during = live_tasks()
        if end == "release":
            busy.release.set()
        elif end == "cancel":
            run.cancel()
        await run.wait()
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    return before, during, after, run


async def test_busy_run_has_node_tasks_the_counter_sees() -> None:
    busy = Busy()
    before, during, _after, _ = await run_and_count(busy, "release")
    assert during > before + 3  # run, supervisor and node actors are counted


async def test_no_task_outlives_a_successful_run() -> None:
    before, _, after, run = await run_and_count(Busy(), "release")
    assert run.status is RunStatus.COMPLETED
    assert after == before


async def test_no_task_outlives_a_failed_run() -> None:
    before, _, after, run = await run_and_count(Busy(fail=True), "none")
    assert isinstance(run.error, RunFailed)
    assert after == before


async def test_no_task_outlives_a_timed_out_run() -> None:
    before, _, after, run = await run_and_count(Busy(), "none", timeout=0.05)
    assert isinstance(run.error, RunTimeoutError)
    assert after == before


async def test_no_task_outlives_a_cancelled_run() -> None:
    before, _, after, run = await run_and_count(Busy(), "cancel")
    assert isinstance(run.error, RunCancelled)
    assert after == before


@pytest.mark.parametrize("end", ["release", "cancel"])
async def test_no_task_outlives_the_runtime(end: str) -> None:
    await anyio.wait_all_tasks_blocked()
    before = live_tasks()
    await run_and_count(Busy(), end)
    await anyio.wait_all_tasks_blocked()
    assert live_tasks() == before
