"""What an application embedding the runtime meets on its first day: its own task group
cancelled around the runtime, readers of a run outliving the runtime, a LangGraph habit
or two (a TypedDict state, a sync node that asks)."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
import pytest

from runtime import (
    END,
    Graph,
    GraphError,
    RunCancelled,
    RunFailed,
    RunStatus,
    Runtime,
    WorkflowState,
    ask,
)


def _stuck_graph(started: anyio.Event) -> Graph:
    async def stuck(state: WorkflowState) -> dict[str, Any]:
        started.set()
        await anyio.sleep_forever()
        return {"never": True}

    return Graph("stuck").add_node("stuck", stuck).add_edge("stuck", END)


async def test_a_run_cut_off_by_a_cancelled_runtime_does_not_report_a_result() -> None:
    started = anyio.Event()
    with anyio.CancelScope() as outer:
        async with Runtime() as rt:
            run = await rt.start(_stuck_graph(started), {"x": 1})
            await started.wait()
            outer.cancel()            # the application's task group goes away
            await anyio.sleep_forever()
    assert run.done
    assert run.status is not RunStatus.RUNNING
    with pytest.raises(RunCancelled, match="cancelled"):
        await run.result()           # not the half-done state as if it had completed
    with anyio.fail_after(5):        # its readers end instead of waiting forever
        types = [e.type.value async for e in run.events()]
    assert types[0] == "run_started" and types[-1] == "run_released"


async def test_a_run_cut_off_by_a_cancelled_runtime_resumes_from_a_durable_store(
        tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    gate = {"stuck": True}

    async def step(state: WorkflowState) -> dict[str, Any]:
        if gate["stuck"]:
            await anyio.sleep_forever()
        return {"done": True}

    g = Graph("cut").add_node("a", lambda s: {"a": 1}).add_node("step", step)
    g.add_edge("a", "step").add_edge("step", END)
    with anyio.CancelScope() as outer:
        async with Runtime(url) as rt:
            run = await rt.start(g, {})
            while run.supervisor.steps < 1:
                await anyio.sleep(0.01)
            outer.cancel()
            await anyio.sleep_forever()
    gate["stuck"] = False
    async with Runtime(url, graphs=[g]) as rt:
        view = await rt.wait(run.id, 10)
    assert view.status is RunStatus.COMPLETED
    assert view.data == {"a": 1, "done": True}


async def test_following_a_released_run_ends_when_the_runtime_closes() -> None:
    started = anyio.Event()
    async with Runtime() as rt:
        run = await rt.start(_stuck_graph(started), {})
        await started.wait()
        await rt.shutdown()
    with anyio.fail_after(5):
        types = [e.type.value async for e in rt.events(run.id)]
    assert types[-1] == "run_released"


async def test_following_a_waiting_run_ends_when_the_runtime_closes() -> None:
    async def asks(state: WorkflowState) -> dict[str, Any]:
        return {"answer": await ask("go on?")}

    g = Graph("asks").add_node("asks", asks).add_edge("asks", END)
    seen: list[str] = []
    with anyio.fail_after(10):            # the reader stops with the runtime
        async with anyio.create_task_group() as tg:
            async with Runtime() as rt:
                run = await rt.start(g, {})
                await rt.wait(run.id, 5)

                async def follow() -> None:
                    async for event in rt.events(run.id):
                        seen.append(event.type.value)

                tg.start_soon(follow)
                await anyio.sleep(0.05)
    assert seen == ["run_started", "node_started", "waiting"]


class TypedState(TypedDict):
    n: int


def test_a_typeddict_state_schema_is_refused_where_the_graph_is_made() -> None:
    with pytest.raises(GraphError, match=r"pydantic BaseModel.*TypedDict TypedState"):
        Graph("typed", state_schema=TypedState)  # type: ignore[arg-type]


async def test_ask_from_a_sync_node_fails_the_run_saying_to_make_it_async() -> None:
    def sync_asks(state: WorkflowState) -> dict[str, Any]:
        return {"answer": ask("go on?")}   # LangGraph's interrupt() habit: no await

    g = Graph("sync_asks").add_node("n", sync_asks).add_edge("n", END)
    async with Runtime() as rt:
        run = await rt.start(g, {})
        with pytest.raises(RunFailed, match=r"ask\(\).*async def") as info:
            await run.result()
    assert info.value.node == "n"
