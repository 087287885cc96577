"""Failures: node timeouts, retries, failing runs, cancellation, run timeouts, error edges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from runtime import (
    END,
    EventType,
    Graph,
    NodeTimeoutError,
    ParallelWriteConflict,
    RetryPolicy,
    RunCancelled,
    RunFailed,
    RunStatus,
    Runtime,
    RunTimeoutError,
    WorkflowState,
)

Node = Callable[[WorkflowState], Any]

NO_WAIT = {"initial_delay": 0.0, "jitter": False}


async def run_graph(graph: Graph, data: dict[str, Any] | None = None,
                    **start_kw: Any) -> WorkflowState:
    async with Runtime() as rt:
        run = await rt.start(graph.compile(), data, **start_kw)
        return await run.result()


async def nothing(state: WorkflowState) -> None:
    return None


async def forever(state: WorkflowState) -> None:
    await anyio.sleep_forever()


def failing(times: int, exc: type[Exception] = ValueError) -> tuple[Node, list[int]]:
    """A node that raises ``exc`` on its first ``times`` calls, then writes ``ok``."""
    calls: list[int] = []

    async def node(state: WorkflowState) -> dict[str, Any]:
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            raise exc(f"failure {len(calls)}")
        return {"ok": True}

    return node, calls


def single(fn: Node, **node_kw: Any) -> Graph:
    g = Graph("g").add_node("n", fn, **node_kw)
    g.add_edge("n", END)
    return g


# --- node timeout -------------------------------------------------------------------------


async def test_node_exceeding_its_timeout_fails_the_run_with_node_timeout_error() -> None:
    with pytest.raises(NodeTimeoutError) as info:
        await run_graph(single(forever, timeout=0.01))
    assert info.value.node == "n"
    assert info.value.attempt == 1
    assert "timed out after 0.01s" in str(info.value)
    assert info.value.run_id is not None


async def test_node_within_its_timeout_completes() -> None:
    final = await run_graph(single(failing(0)[0], timeout=60))
    assert final.data == {"ok": True}


async def test_node_timeout_is_retried_by_its_retry_policy() -> None:
    calls = 0

    async def slow_then_fast(state: WorkflowState) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await anyio.sleep_forever()
        return {"calls": calls}

    g = single(slow_then_fast, timeout=0.01, retry=RetryPolicy(max_attempts=2, **NO_WAIT))
    assert (await run_graph(g)).data == {"calls": 2}


# --- retries -------------------------------------------------------------------------------


async def test_failing_node_is_retried_until_it_succeeds() -> None:
    node, calls = failing(2)
    final = await run_graph(single(node, retry=RetryPolicy(max_attempts=3, **NO_WAIT)))
    assert final.data == {"ok": True}
    assert calls == [1, 2, 3]


async def test_retries_stop_after_max_attempts_and_report_the_last_attempt() -> None:
    node, calls = failing(5)
    with pytest.raises(RunFailed) as info:
        await run_graph(single(node, retry=RetryPolicy(max_attempts=3, **NO_WAIT)))
    assert calls == [1, 2, 3]
    assert info.value.attempt == 3
    assert str(info.value.__cause__) == "failure 3"


async def test_only_retry_on_exception_types_are_retried() -> None:
    node, calls = failing(1, ValueError)
    with pytest.raises(RunFailed) as info:
        await run_graph(single(node, retry=RetryPolicy(max_attempts=3, retry_on=(KeyError,),
                                                       **NO_WAIT)))
    assert calls == [1]
    assert info.value.attempt == 1


async def test_subclasses_of_retry_on_types_are_retried() -> None:
    node, calls = failing(1, KeyError)
    await run_graph(single(node, retry=RetryPolicy(max_attempts=2, retry_on=(LookupError,),
                                                   **NO_WAIT)))
    assert calls == [1, 2]


async def test_each_retry_publishes_an_event_with_attempt_delay_and_error() -> None:
    node, _ = failing(2)
    policy = RetryPolicy(max_attempts=3, initial_delay=0.001, backoff=2.0, jitter=False)
    async with Runtime() as rt:
        run = await rt.start(single(node, retry=policy).compile())
        await run.result()
        retries = [e for e in [e async for e in run.events()] if e.type is EventType.NODE_RETRYING]
    assert [(e.node, e.data["attempt"], e.data["delay"]) for e in retries] == [
        ("n", 1, 0.001), ("n", 2, 0.002)]
    assert retries[0].data["error"] == "ValueError: failure 1"


def test_backoff_grows_exponentially_up_to_max_delay() -> None:
    policy = RetryPolicy(initial_delay=0.1, backoff=2.0, max_delay=0.5, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_jitter_draws_each_delay_between_half_and_all_of_the_backoff() -> None:
    policy = RetryPolicy(initial_delay=1.0, backoff=2.0, max_delay=100.0, jitter=True)
    draws = [policy.delay(3) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in draws)
    assert len(set(draws)) > 1


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(backoff=0.5)


def test_retry_policy_round_trips_through_a_dict() -> None:
    policy = RetryPolicy(max_attempts=5, retry_on=(KeyError, NodeTimeoutError))
    assert RetryPolicy.from_dict(policy.to_dict()) == policy


# --- a failing node fails the run ----------------------------------------------------------


async def test_failing_node_fails_the_run_with_run_id_node_attempt_and_cause() -> None:
    node, _ = failing(1)
    async with Runtime() as rt:
        run = await rt.start(single(node).compile())
        with pytest.raises(RunFailed) as info:
            await run.result()
    err = info.value
    assert (err.run_id, err.node, err.attempt) == (run.id, "n", 1)
    assert isinstance(err.__cause__, ValueError)
    assert str(err.__cause__) == "failure 1"
    assert "node 'n' failed on attempt 1: ValueError: failure 1" in str(err)
    assert run.status is RunStatus.FAILED
    assert run.error is err


async def test_failing_sync_node_fails_the_run_with_its_cause() -> None:
    def sync(state: WorkflowState) -> None:
        raise KeyError("sync")

    with pytest.raises(RunFailed) as info:
        await run_graph(single(sync))
    assert isinstance(info.value.__cause__, KeyError)


async def test_failing_node_stops_the_run_before_its_successors() -> None:
    ran: list[str] = []

    async def after(state: WorkflowState) -> None:
        ran.append("after")

    g = Graph("g").add_node("bad", failing(1)[0]).add_node("after", after)
    g.add_edge("bad", "after")
    with pytest.raises(RunFailed):
        await run_graph(g)
    assert ran == []


async def test_failing_branch_cancels_its_siblings_and_their_cleanup_runs() -> None:
    sibling_started = anyio.Event()
    cleaned: list[str] = []
    finished: list[str] = []

    async def sibling(state: WorkflowState) -> None:
        try:
            sibling_started.set()
            await anyio.sleep_forever()
            finished.append("sibling")
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()  # awaiting cleanup is possible
            cleaned.append("sibling")

    async def bad(state: WorkflowState) -> None:
        await sibling_started.wait()
        raise ValueError("boom")

    g = Graph("g").add_node("s", nothing).add_node("bad", bad).add_node("sibling", sibling)
    g.add_edge("s", ["bad", "sibling"])
    with pytest.raises(RunFailed) as info:
        await run_graph(g)
    assert info.value.node == "bad"
    assert cleaned == ["sibling"]
    assert finished == []


async def test_run_failure_is_published_as_an_event() -> None:
    async with Runtime() as rt:
        run = await rt.start(single(failing(1)[0]).compile())
        await run.wait()
        events = [e async for e in run.events()]
    last = events[-1]
    assert last.type is EventType.RUN_FAILED
    assert last.node == "n"
    assert last.data["error_type"] == "RunFailed"
    assert last.data["cause"] == "ValueError: failure 1"
    assert [e.type for e in events if e.type is EventType.NODE_FAILED] == [EventType.NODE_FAILED]


async def test_parallel_branches_writing_same_key_without_reducer_fail_at_run_naming_both() -> None:
    # Writes that were not declared can only be caught while running.
    async def write(state: WorkflowState) -> dict[str, Any]:
        return {"summary": "mine"}

    g = Graph("fan").add_node("s", nothing).add_node("left", write).add_node("right", write)
    g.add_edge("s", ["left", "right"])
    with pytest.raises(RunFailed) as info:
        await run_graph(g)
    conflict = info.value.__cause__
    assert isinstance(conflict, ParallelWriteConflict)
    assert conflict.key == "summary"
    assert set(conflict.branches) == {"left", "right"}
    assert "'left'" in str(info.value) and "'right'" in str(info.value)
    assert "'summary'" in str(info.value)


async def test_runtime_write_conflict_names_nodes_deep_inside_branches() -> None:
    async def write(state: WorkflowState) -> dict[str, Any]:
        return {"summary": "mine"}

    g = Graph("fan").add_node("s", nothing)
    g.add_node("left", nothing).add_node("left2", write).add_node("right", write)
    g.add_edge("s", ["left", "right"]).add_edge("left", "left2")
    with pytest.raises(RunFailed) as info:
        await run_graph(g)
    conflict = info.value.__cause__
    assert isinstance(conflict, ParallelWriteConflict)
    assert set(conflict.branches) == {"left2", "right"}


async def test_same_branch_writing_a_key_twice_is_not_a_conflict() -> None:
    async def write(state: WorkflowState) -> dict[str, Any]:
        return {"summary": state.data.get("summary", 0) + 1}

    g = Graph("fan").add_node("s", nothing)
    g.add_node("left", write).add_node("left2", write).add_node("right", nothing)
    g.add_edge("s", ["left", "right"]).add_edge("left", "left2")
    assert (await run_graph(g)).data["summary"] == 2


# --- per-run timeout and cancellation --------------------------------------------------------


async def test_run_exceeding_its_timeout_fails_with_run_timeout_error() -> None:
    async with Runtime() as rt:
        run = await rt.start(single(forever).compile(), timeout=0.01)
        with pytest.raises(RunTimeoutError) as info:
            await run.result()
    assert info.value.run_id == run.id
    assert "exceeded its timeout of 0.01s" in str(info.value)
    assert run.status is RunStatus.FAILED


async def test_run_timeout_runs_the_nodes_cleanup() -> None:
    cleaned = anyio.Event()

    async def node(state: WorkflowState) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.set()

    with pytest.raises(RunTimeoutError):
        await run_graph(single(node), timeout=0.01)
    assert cleaned.is_set()


async def test_cancel_stops_a_running_run_with_run_cancelled() -> None:
    started = anyio.Event()
    cleaned = anyio.Event()

    async def node(state: WorkflowState) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.set()

    async with Runtime() as rt:
        run = await rt.start(single(node).compile())
        await started.wait()
        run.cancel()
        with pytest.raises(RunCancelled) as info:
            await run.result()
    assert info.value.run_id == run.id
    assert run.status is RunStatus.CANCELLED
    assert cleaned.is_set()


async def test_cancel_publishes_run_cancelled_as_the_last_event() -> None:
    started = anyio.Event()

    async def node(state: WorkflowState) -> None:
        started.set()
        await anyio.sleep_forever()

    async with Runtime() as rt:
        run = await rt.start(single(node).compile())
        await started.wait()
        run.cancel()
        await run.wait()
        events = [e async for e in run.events()]
    assert events[-1].type is EventType.RUN_CANCELLED


async def test_cancel_before_the_run_starts_cancels_it() -> None:
    blocker_started = anyio.Event()
    release = anyio.Event()

    async def block(state: WorkflowState) -> None:
        blocker_started.set()
        await release.wait()

    ran: list[str] = []

    async def never(state: WorkflowState) -> None:
        ran.append("never")

    async with Runtime(max_concurrent_runs=1) as rt:
        first = await rt.start(single(block).compile())
        await blocker_started.wait()
        second = await rt.start(single(never).compile())
        second.cancel()
        release.set()
        await first.result()
        with pytest.raises(RunCancelled):
            await second.result()
    assert ran == []
    assert second.status is RunStatus.CANCELLED


async def test_cancelling_a_finished_run_changes_nothing() -> None:
    async with Runtime() as rt:
        run = await rt.start(single(nothing).compile())
        await run.result()
        run.cancel()
        assert run.status is RunStatus.COMPLETED
        await run.result()


# --- error edges -------------------------------------------------------------------------------


def with_handler(bad: Node) -> tuple[Graph, list[WorkflowState]]:
    handled: list[WorkflowState] = []

    async def handler(state: WorkflowState) -> dict[str, Any]:
        handled.append(state)
        return {"recovered": True}

    g = Graph("g").add_node("bad", bad).add_node("handler", handler).add_node("next", nothing)
    g.add_edge("bad", "next")
    g.add_error_edge("bad", "handler")
    g.add_edge("handler", END)
    return g, handled


async def test_error_edge_routes_a_failed_node_to_its_handler() -> None:
    g, handled = with_handler(failing(1)[0])
    final = await run_graph(g)
    assert len(handled) == 1
    assert final.data == {"recovered": True}


async def test_error_edge_appends_the_error_to_state_errors() -> None:
    g, handled = with_handler(failing(1)[0])
    final = await run_graph(g)
    assert final.errors == ["bad: ValueError: failure 1"]
    assert handled[0].errors == ["bad: ValueError: failure 1"]


async def test_error_edge_is_taken_only_after_retries_are_exhausted() -> None:
    node, calls = failing(5)
    g, handled = with_handler(node)
    g.nodes["bad"].retry = RetryPolicy(max_attempts=2, **NO_WAIT)
    await run_graph(g)
    assert calls == [1, 2]
    assert len(handled) == 1


async def test_error_edge_is_not_taken_when_the_node_succeeds() -> None:
    g, handled = with_handler(failing(0)[0])
    final = await run_graph(g)
    assert handled == []
    assert final.errors == []


async def test_handled_failure_is_published_as_a_handled_node_failed_event() -> None:
    g, _ = with_handler(failing(1)[0])
    async with Runtime() as rt:
        run = await rt.start(g.compile())
        await run.result()
        events = [e async for e in run.events()]
    (failed,) = [e for e in events if e.type is EventType.NODE_FAILED]
    assert failed.node == "bad" and failed.data["handled"] is True
    assert events[-1].type is EventType.RUN_COMPLETED


def map_with_failing_item(fail_last: bool) -> tuple[Graph, list[str]]:
    """Map over [0, 1]; item 1 fails (handled). ``fail_last``: it fails after item 0 is done."""
    order: list[str] = []
    item0_done = anyio.Event()
    item1_failed = anyio.Event()

    async def work(state: WorkflowState) -> dict[str, Any]:
        if state.data["item"] == 1:
            if fail_last:
                await item0_done.wait()
            item1_failed.set()
            raise ValueError("item 1")
        if not fail_last:
            await item1_failed.wait()
        item0_done.set()
        return {"out": 0}

    async def handler(state: WorkflowState) -> None:
        order.append("handler")

    async def after(state: WorkflowState) -> None:
        order.append("after")

    g = Graph("map", reducers={"out": "append"})
    g.add_node("split", nothing).add_node("work", work)
    g.add_node("handler", handler).add_node("after", after)
    g.add_map_edge("split", "work", over="items")
    g.add_edge("work", "after")
    g.add_error_edge("work", "handler")
    return g, order


@pytest.mark.parametrize("fail_last", [False, True], ids=["fails-first", "fails-last"])
async def test_handled_map_item_failure_still_merges_the_other_items(fail_last: bool) -> None:
    g, order = map_with_failing_item(fail_last)
    final = await run_graph(g, {"items": [0, 1], "out": []})
    assert final.data["out"] == [0]
    assert final.errors == ["work: ValueError: item 1"]
    assert sorted(order) == ["after", "handler"]


async def test_handled_failure_in_a_fan_out_branch_still_reaches_the_join_once() -> None:
    ran: list[str] = []

    def record(name: str) -> Node:
        async def fn(state: WorkflowState) -> None:
            ran.append(name)

        return fn

    g = Graph("fan").add_node("s", nothing).add_node("bad", failing(1)[0])
    g.add_node("ok", record("ok")).add_node("fix", record("fix")).add_node("join", record("join"))
    g.add_edge("s", ["bad", "ok"]).add_join(["bad", "ok"], "join")
    g.add_error_edge("bad", "fix")
    g.add_edge("fix", "join")
    final = await run_graph(g)
    assert sorted(ran) == ["fix", "join", "ok"]
    assert ran[-1] == "join"
    assert final.errors == ["bad: ValueError: failure 1"]
