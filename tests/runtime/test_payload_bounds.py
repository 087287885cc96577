"""A run's size bounds (runtime.payload_bounds): its state's size and one node event's
payload. Past one only that run fails (or the node catches the error), naming the bound
and the node; a run without bounds, in the same runtime, goes on."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import (
    END,
    EventTooLargeError,
    EventType,
    Graph,
    RunBounds,
    RunFailed,
    Runtime,
    StateTooLargeError,
    WorkflowState,
)
from runtime.context import NodeContext


def _growing(steps: int, chunk: int) -> Graph:
    """A loop appending ``chunk`` bytes to ``items`` ``steps`` times."""

    async def grow(state: WorkflowState) -> dict[str, Any]:
        return {"items": ["x" * chunk], "count": 1}

    g = Graph("grow", reducers={"items": "append", "count": "add"}).add_node("grow", grow)
    g.add_conditional_edges("grow", lambda s: "grow" if s.data["count"] < steps else END,
                            ["grow", END])
    return g


def _logging(size: int, *, catch: bool = False) -> Graph:
    async def talk(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
        try:
            ctx.log("a blob", blob="y" * size)
        except EventTooLargeError as exc:
            if not catch:
                raise
            return {"refused": exc.limit}
        return {"logged": size}

    g = Graph("talk").add_node("talk", talk)
    g.add_edge("talk", END)
    return g


async def test_a_state_past_max_state_bytes_fails_the_run_naming_node_and_limit() -> None:
    async with Runtime() as rt:
        run = await rt.start(_growing(500, 1000).compile(), {"count": 0},
                             bounds=RunBounds(max_state_bytes=10_000))
        with pytest.raises(RunFailed) as info:
            await run.result()
    cause = info.value.__cause__
    assert isinstance(cause, StateTooLargeError)
    assert cause.limit == 10_000 and cause.size > 10_000 and cause.node == "grow"
    message = str(run.error)
    assert "max_state_bytes=10000" in message and "'grow'" in message
    assert "'items'" in message  # the largest key is named
    assert run.state.data["count"] < 500  # stopped early, not after the loop


async def test_the_same_loop_without_bounds_and_other_runs_beside_it_complete() -> None:
    async with Runtime() as rt:
        bounded = await rt.start(_growing(50, 1000).compile(), {"count": 0},
                                 bounds=RunBounds(max_state_bytes=10_000))
        free = await rt.start(_growing(50, 1000).compile(), {"count": 0})
        roomy = await rt.start(_growing(50, 1000).compile(), {"count": 0},
                               bounds=RunBounds(max_state_bytes=1_000_000))
        assert (await free.result()).data["count"] == 50
        assert (await roomy.result()).data["count"] == 50
        with pytest.raises(RunFailed):
            await bounded.result()


async def test_a_node_event_past_max_event_bytes_fails_the_node_naming_the_limit() -> None:
    async with Runtime() as rt:
        run = await rt.start(_logging(5000).compile(), bounds=RunBounds(max_event_bytes=1000))
        with pytest.raises(RunFailed):
            await run.result()
        message = str(run.error)
        assert "max_event_bytes=1000" in message and "'talk'" in message and "'log'" in message
        assert isinstance(run.error.__cause__, EventTooLargeError) if run.error else False
        # the oversized event reached no reader (nor the store)
        events = [e async for e in rt.events(run.id)]
        assert events and all(e.type is not EventType.LOG for e in events)


async def test_a_node_may_catch_the_refusal_and_go_on() -> None:
    async with Runtime() as rt:
        run = await rt.start(_logging(5000, catch=True).compile(),
                             bounds=RunBounds(max_event_bytes=1000))
        assert (await run.result()).data == {"refused": 1000}
        small = await rt.start(_logging(100).compile(), bounds=RunBounds(max_event_bytes=1000))
        assert (await small.result()).data == {"logged": 100}


async def test_a_runs_bounds_are_kept_with_it_for_a_resume() -> None:
    async with Runtime() as rt:
        run = await rt.start(_logging(10).compile(), bounds=RunBounds(1234, 567))
        await run.result()
        record = await rt.store.get_run(run.id)
    assert record is not None
    assert RunBounds.from_options(record.options) == RunBounds(1234, 567)


async def test_bounds_cost_nothing_when_absent() -> None:
    # No bound given: the run keeps the plain hub and no gauge (an embedding
    # application's runs behave exactly as before).
    async with Runtime() as rt:
        run = await rt.start(_logging(10).compile())
        assert run.supervisor.state_gauge is None and run.supervisor.hub is run.hub
        await run.result()


async def test_a_replay_and_a_fork_keep_the_runs_bounds() -> None:
    async with Runtime("memory://") as rt:
        run = await rt.start(_logging(10).compile(), bounds=RunBounds(50_000, 4321))
        await run.result()
        for again in (await rt.replay(run.id), await rt.fork(run.id)):
            await again.result()
            record = await rt.store.get_run(again.id)
            assert record is not None
            assert RunBounds.from_options(record.options) == RunBounds(50_000, 4321)


async def test_a_bounded_run_with_a_subgraph_publishes_its_node_events_with_the_path() -> None:
    # The bound wraps the run's hub, and a subgraph's hub wraps the bound: the child's
    # node events go through both and arrive as an unbounded run's do.
    async def inner(state: WorkflowState) -> dict[str, Any]:
        return {"n": state.data["n"] + 1}

    child = Graph("child").add_node("inc", inner)
    child.add_edge("inc", END)
    g = Graph("parent")
    g.add_subgraph("sub", child.compile(), inputs=["n"], outputs=["n"])
    g.add_edge("sub", END)
    seen: dict[bool, list[tuple[str, str | None, dict[str, Any]]]] = {}
    async with Runtime() as rt:
        for bounded in (False, True):
            run = await rt.start(g.compile(), {"n": 1},
                                 bounds=RunBounds(max_event_bytes=10_000) if bounded else None)
            assert (await run.result()).data == {"n": 2}
            seen[bounded] = [
                (e.type.value, e.node, {k: v for k, v in e.data.items() if k != "duration_ms"})
                async for e in rt.events(run.id)
                if e.type.value in ("node_started", "node_completed", "state_updated")]
    assert seen[True] == seen[False]
    assert [(t, n) for t, n, _ in seen[True]] == [
        ("node_started", "sub"), ("node_started", "sub/inc"), ("node_completed", "sub/inc"),
        ("state_updated", "sub/inc"), ("node_completed", "sub"), ("state_updated", "sub")]
    assert seen[True][2][2]["update"] == {"n": 2}
