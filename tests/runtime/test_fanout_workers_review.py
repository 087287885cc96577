"""What a branch had with a task of its own stays when branches share a worker task
(runtime.workers): its context, its interrupt, its log fields, its error, its run's
cancellation."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import anyio
import pytest
from looptasks import current_task, live_tasks

from runtime import END, Graph, Runtime, RunFailed, RunWaiting, WorkflowState, ask
from runtime.logcontext import log_fields

WIDTH = 8

marker: ContextVar[str] = ContextVar("review_marker", default="unset")


async def start(state: WorkflowState) -> None:
    return None


joined: list[str] = []


async def join(state: WorkflowState) -> None:
    joined.append(marker.get())


def two_fans(first: Any, second: Any, width: int = WIDTH, fan_in: Any = join) -> Graph:
    """start -> a0..aN -> join -> b0..bN -> END."""
    g = Graph("two_fans", reducers={"vals": "append"}, max_steps=4 * width + 10)
    g.add_node("start", start)
    a = [f"a{i}" for i in range(width)]
    b = [f"b{i}" for i in range(width)]
    for i, name in enumerate(a):
        g.add_node(name, first, config={"i": i})
    g.add_node("join", fan_in)
    for i, name in enumerate(b):
        g.add_node(name, second, config={"i": i})
    g.add_edge("start", a)
    g.add_join(a, "join")
    g.add_edge("join", b)
    for name in b:
        g.add_edge(name, END)
    return g


async def test_a_later_fan_out_sees_no_context_a_branch_left_changed() -> None:
    # Every branch of the first fan-out sets a context variable and never waits; the
    # last one's worker went idle in that context and then took the second fan-out's
    # branches: they saw what a branch of the first set, and the join that fanned them
    # out did not.
    seen: list[str] = []
    joined.clear()

    async def setter(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        marker.set(f"set by a{config['i']}")
        return {"vals": [config["i"]]}

    async def reader(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        seen.append(marker.get())
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        await (await rt.start(two_fans(setter, reader).compile(), {})).result()
    assert joined == ["unset"]
    assert seen == ["unset"] * WIDTH


async def test_a_later_fan_out_sees_the_context_of_the_node_that_fanned_it_out() -> None:
    # The join runs in the supervisor's task (alone in flight) and sets a context
    # variable; its branches saw the context of the worker left idle (or called)
    # by the first fan-out, which predates it, instead of the join's.
    seen: list[str] = []

    async def plain(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        return {"vals": [config["i"]]}

    async def reader(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        seen.append(marker.get())
        return {"vals": [config["i"]]}

    async def setting_join(state: WorkflowState) -> None:
        marker.set("set by the join")

    async with Runtime() as rt:
        await (await rt.start(two_fans(plain, reader, fan_in=setting_join).compile(),
                              {})).result()
    assert seen == ["set by the join"] * WIDTH


async def test_branches_in_one_worker_each_ask_under_their_own_node(store_url: str) -> None:
    async def asker(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        answer = await ask({"i": config["i"]})
        return {"vals": [answer]}

    async def done(state: WorkflowState, config: dict[str, Any]) -> None:
        return None

    async with Runtime(store_url) as rt:
        run = await rt.start(two_fans(asker, done).compile(), {})
        with pytest.raises(RunWaiting) as info:
            await run.result()
        asked = {i["node"]: i for i in info.value.interrupts}
        assert set(asked) == {f"a{i}" for i in range(WIDTH)}
        assert all(asked[f"a{i}"]["payload"] == {"i": i} for i in range(WIDTH))
        for i in range(WIDTH):
            run = await rt.resume(run.id, f"answer {i}", interrupt_id=asked[f"a{i}"]["id"])
            if i < WIDTH - 1:
                with pytest.raises(RunWaiting):
                    await run.result()
        final = await run.result()
    assert sorted(final.data["vals"]) == sorted(f"answer {i}" for i in range(WIDTH))


async def test_each_branch_in_one_worker_logs_under_its_own_node() -> None:
    fields: list[tuple[int, dict[str, str]]] = []
    tasks: set[int] = set()

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        tasks.add(id(current_task()))
        fields.append((config["i"], log_fields()))
        return {"vals": [config["i"]]}

    async with Runtime() as rt:
        run = await rt.start(two_fans(branch, branch).compile(), {})
        await run.result()
    assert len(tasks) < 2 * WIDTH   # (shared workers: what this test is about)
    for i, f in fields[:WIDTH]:
        assert f == {"run_id": run.id, "node": f"a{i}"}
    for i, f in fields[WIDTH:]:
        assert f == {"run_id": run.id, "node": f"b{i}"}


async def test_a_failing_branch_in_a_shared_worker_fails_its_run_and_leaves_no_task() -> None:
    ran: list[int] = []

    async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        ran.append(config["i"])
        if config["i"] == 2:
            raise ValueError("a2 broke")
        return {"vals": [config["i"]]}

    async def never(state: WorkflowState, config: dict[str, Any]) -> None:
        raise AssertionError("unreachable")

    async with Runtime() as rt:
        await anyio.wait_all_tasks_blocked()
        before = live_tasks()
        run = await rt.start(two_fans(branch, never).compile(), {})
        with pytest.raises(RunFailed, match="a2 broke") as info:
            await run.result()
        events = [e async for e in run.events()]
        await anyio.wait_all_tasks_blocked()
        after = live_tasks()
    assert info.value.node == "a2" and after == before
    # The branches that ran in the same turn (as their own tasks would have) keep
    # their events, the failing one its failure.
    started = {e.node for e in events if e.type.value == "node_started"}
    assert {f"a{i}" for i in ran} <= started
    assert any(e.node == "a2" and e.type.value == "node_failed" for e in events)
