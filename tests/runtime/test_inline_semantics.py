"""What a node may rely on whether the supervisor executes it inline or a worker does.

A lone activation runs in the supervisor's own task (runtime.supervisor._loop); these
tests pin what a user who knows LangGraph or anyio could otherwise trip over: context
variables, cancellation that a node ignores, BaseExceptions, a node's timeout and
retries, and a node's concurrency limit once a chain fans out.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import anyio
import pytest

from runtime import (
    END,
    Graph,
    NodeTimeoutError,
    RetryPolicy,
    RunFailed,
    RunStatus,
    Runtime,
    RunTimeoutError,
    WorkflowState,
)

marker: ContextVar[str] = ContextVar("test_inline_semantics_marker", default="unset")


async def test_a_subgraphs_context_variables_stay_inside_the_subgraph() -> None:
    # The child's node runs inline in the child's supervisor, which runs inside the
    # parent's subgraph node: what it sets must not reach the parent's next nodes (as
    # when each node ran in a task of its own: a subgraph is its own scope).
    seen: list[str] = []

    async def inner(state: WorkflowState) -> dict[str, Any]:
        marker.set("set by the subgraph")
        return {"x": 1}

    async def after(state: WorkflowState) -> dict[str, Any]:
        seen.append(marker.get())
        return {"y": 1}

    async def first(state: WorkflowState) -> dict[str, Any]:
        return {"z": 1}

    child = Graph("child")
    child.add_node("inner", inner).add_edge("inner", END)
    g = Graph("parent")
    g.add_node("first", first).add_subgraph("sub", child.compile()).add_node("after", after)
    g.add_edge("first", "sub").add_edge("sub", "after").add_edge("after", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        await run.result()
    assert seen == ["unset"]


async def test_a_subgraph_sees_the_context_its_parent_node_runs_in() -> None:
    seen: list[str] = []

    async def set_it(state: WorkflowState) -> dict[str, Any]:
        marker.set("set by the parent")
        return {}

    async def inner(state: WorkflowState) -> dict[str, Any]:
        seen.append(marker.get())
        return {}

    child = Graph("child")
    child.add_node("inner", inner).add_edge("inner", END)
    g = Graph("parent")
    g.add_node("first", set_it).add_subgraph("sub", child.compile())
    g.add_edge("first", "sub").add_edge("sub", END)
    async with Runtime() as rt:
        await (await rt.start(g.compile(), {})).result()
    # (Consecutive nodes of a run share a task, inline or in a reused worker.)
    assert seen == ["set by the parent"]


async def test_a_node_that_ignores_cancellation_does_not_let_the_run_go_on() -> None:
    started = anyio.Event()
    ran: list[str] = []

    async def stubborn(state: WorkflowState) -> dict[str, Any]:
        started.set()
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            ran.append("caught")   # and swallowed: the node returns normally
        return {"stubborn": True}

    async def then(state: WorkflowState) -> dict[str, Any]:
        ran.append("then")
        return {}

    g = Graph("stubborn")
    g.add_node("stubborn", stubborn).add_node("then", then)
    g.add_edge("stubborn", "then").add_edge("then", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        await started.wait()
        run.cancel()
        await run.wait()
    assert run.status is RunStatus.CANCELLED
    assert ran == ["caught"]


class Stop(BaseException):
    """Not an Exception: must never be turned into a failed run."""


async def test_a_base_exception_from_a_node_is_not_turned_into_a_failed_run() -> None:
    async def first(state: WorkflowState) -> dict[str, Any]:
        return {}

    async def stop(state: WorkflowState) -> dict[str, Any]:
        raise Stop

    g = Graph("stop")
    g.add_node("first", first).add_node("stop", stop)
    g.add_edge("first", "stop").add_edge("stop", END)
    with pytest.raises(BaseException) as caught:
        async with Runtime() as rt:
            run = await rt.start(g.compile(), {})
            await run.wait()

    def found(exc: BaseException) -> bool:
        if isinstance(exc, BaseExceptionGroup):
            return any(found(e) for e in exc.exceptions)
        return isinstance(exc, Stop)

    assert found(caught.value)


async def test_a_nodes_timeout_and_retries_hold_when_it_runs_inline() -> None:
    attempts = 0

    async def first(state: WorkflowState) -> dict[str, Any]:
        return {}

    async def slow_once(state: WorkflowState) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await anyio.sleep(60)   # the node's timeout ends this attempt
        return {"done": attempts}

    g = Graph("timed")
    g.add_node("first", first)
    g.add_node("slow", slow_once, timeout=0.05,
               retry=RetryPolicy(max_attempts=2, initial_delay=0.0, jitter=False))
    g.add_edge("first", "slow").add_edge("slow", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        final = await run.result()
        events = [e for e in run.hub.events_since(0) if e.node == "slow"]
    assert final.data == {"done": 2}
    assert [e.type.value for e in events] == [
        "node_started", "node_retrying", "node_started", "node_completed", "state_updated"]
    assert events[1].data["error"].startswith("NodeTimeoutError")


async def test_a_nodes_concurrency_limit_holds_when_a_chain_fans_out() -> None:
    busy = peak = 0

    async def split(state: WorkflowState) -> dict[str, Any]:
        return {"items": list(range(6))}

    async def work(state: WorkflowState) -> dict[str, Any]:
        nonlocal busy, peak
        busy += 1
        peak = max(peak, busy)
        await anyio.sleep(0.01)
        busy -= 1
        return {}

    g = Graph("limited")
    g.add_node("split", split).add_node("work", work, concurrency=2)
    g.add_map_edge("split", "work", over="items", item_key="it")
    g.add_edge("work", END)
    async with Runtime() as rt:
        await (await rt.start(g.compile(), {})).result()
    assert peak == 2


async def test_a_cancelled_error_nothing_asked_for_fails_the_node_not_the_run_task() -> None:
    # A node awaiting something that someone else cancelled (an asyncio task or future
    # of a library) sees asyncio's CancelledError without the run being cancelled. It
    # is the node's failure: the run fails saying so (it used to vanish: stuck
    # "running" once the node ran in the run's own task, "completed" without the
    # node's update before that; under trio it tore down the whole runtime).
    async def first(state: WorkflowState) -> dict[str, Any]:
        return {"first": True}

    async def stray(state: WorkflowState) -> dict[str, Any]:
        raise asyncio.CancelledError

    g = Graph("stray")
    g.add_node("first", first).add_node("stray", stray)
    g.add_edge("first", "stray").add_edge("stray", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        with pytest.raises(RunFailed) as failed:
            await run.result()
        # The runtime goes on: another run completes.
        ok = Graph("ok")
        ok.add_node("first", first).add_edge("first", END)
        assert (await (await rt.start(ok.compile(), {})).result()).data == {"first": True}
    assert run.status is RunStatus.FAILED
    assert failed.value.node == "stray"
    assert "raised CancelledError though nothing cancelled it" in str(run.error)


async def test_a_run_timeout_holds_when_its_last_node_ignores_the_cancellation() -> None:
    # The last node swallows the cancellation its run's timeout delivers and returns:
    # the run still exceeded its timeout (when a worker executed the node, the
    # supervisor was cancelled while it waited for the result).
    async def first(state: WorkflowState) -> dict[str, Any]:
        return {}

    async def stubborn(state: WorkflowState) -> dict[str, Any]:
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            pass
        return {"stubborn": True}

    g = Graph("stubborn_last")
    g.add_node("first", first).add_node("stubborn", stubborn)
    g.add_edge("first", "stubborn").add_edge("stubborn", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {}, timeout=0.05)
        with pytest.raises(RunTimeoutError):
            await run.result()
    assert run.status is RunStatus.FAILED


async def test_a_subgraph_nodes_timeout_cancels_its_child_and_a_fan_out_inside_stays_scoped(
) -> None:
    seen: list[str] = []

    async def split(state: WorkflowState) -> dict[str, Any]:
        marker.set("set by the subgraph")
        return {}

    async def branch(state: WorkflowState) -> dict[str, Any]:
        seen.append(marker.get())
        marker.set("set by a branch")
        return {}

    async def hang(state: WorkflowState) -> dict[str, Any]:
        await anyio.sleep(60)
        return {}

    async def after(state: WorkflowState) -> dict[str, Any]:
        seen.append(marker.get())
        return {}

    fan = Graph("fan")
    fan.add_node("split", split).add_node("l", branch).add_node("r", branch)
    fan.add_edge("split", ["l", "r"]).add_edge("l", END).add_edge("r", END)
    g = Graph("parent")
    g.add_subgraph("fan", fan.compile()).add_node("after", after)
    g.add_edge("fan", "after").add_edge("after", END)
    slow = Graph("slow")
    slow.add_node("hang", hang).add_edge("hang", END)
    h = Graph("timed_sub")
    h.add_subgraph("slow", slow.compile(), timeout=0.05).add_edge("slow", END)
    async with Runtime() as rt:
        await (await rt.start(g.compile(), {})).result()
        timed = await rt.start(h.compile(), {})
        with pytest.raises(NodeTimeoutError, match="node 'slow' timed out"):
            await timed.result()
    assert seen == ["set by the subgraph", "set by the subgraph", "unset"]
