"""What the runtime offers about a run wherever it is (executing here, elsewhere, or only
stored): one view, one wait, its interrupts; and the handle's event stream across pauses."""

from __future__ import annotations

import pydoc
from typing import Any

import anyio
import hitlgraphs as hg
import pytest

from runtime import (
    END,
    EventType,
    Graph,
    MemoryStore,
    Run,
    RunNotFoundError,
    RunStatus,
    Runtime,
    RunWaiting,
    WorkflowState,
    ask,
)


def _gated(gate: anyio.Event) -> Graph:
    async def hold(state: WorkflowState) -> dict[str, Any]:
        await gate.wait()
        return {"held": True}

    async def warn(state: WorkflowState) -> WorkflowState:
        return state.model_copy(update={"warnings": [*state.warnings, "careful"]})

    g = Graph("gated_view")
    g.add_node("warn", warn)
    g.add_node("hold", hold)
    g.add_edge("warn", "hold")
    g.add_edge("hold", END)
    return g


async def test_view_of_a_run_executing_here_is_live_then_stored_once_it_ended(
        store_url: str) -> None:
    gate = anyio.Event()
    async with Runtime(store_url, keep_finished=0) as rt:
        run = await rt.start(_gated(gate), {"x": 1})
        while run.status is not RunStatus.RUNNING or not run.state.warnings:
            await anyio.lowlevel.checkpoint()
        live = await rt.view(run.id)
        assert live.live and live.status is RunStatus.RUNNING
        assert live.input == {"x": 1} and live.warnings == ["careful"]
        gate.set()
        await run.result()
        await rt.start(_gated(gate), {})  # evicts the finished run from memory
        stored = await rt.view(run.id)
    assert not stored.live and stored.status is RunStatus.COMPLETED
    assert stored.data == stored.final == {"x": 1, "held": True}
    assert stored.warnings == ["careful"] and stored.input == {"x": 1}


async def test_view_of_an_unknown_run_raises_run_not_found() -> None:
    async with Runtime() as rt:
        with pytest.raises(RunNotFoundError, match="'nope'"):
            await rt.view("nope")


async def test_wait_answers_at_once_for_a_run_paused_in_the_store(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        waited = await rt.wait(run.id)
    assert waited.status is RunStatus.WAITING and waited.stopped and not waited.live


async def test_wait_follows_a_run_that_another_runtime_executes() -> None:
    gate = anyio.Event()
    store = MemoryStore()
    async with Runtime(store) as executing, Runtime(store, recover=False) as other:
        run = await executing.start(_gated(gate), {})
        with pytest.raises(RunNotFoundError):
            other.get(run.id)  # nothing of it in this runtime's memory
        async with anyio.create_task_group() as tg:
            seen: list[Any] = []

            async def wait() -> None:
                seen.append(await other.wait(run.id))

            tg.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            assert seen == []  # the run still executes over there
            gate.set()
    [view] = seen
    assert view.status is RunStatus.COMPLETED and view.data == {"held": True}


async def test_wait_goes_on_with_the_run_resumed_while_it_waits(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        resumed = await rt.resume(run.id, {"approved": True})
        waited = await rt.wait(run.id)
        assert resumed.done
    assert waited.status is RunStatus.COMPLETED and waited.data["approved"] is True


async def test_interrupts_of_a_paused_run_come_from_the_store(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.parallel_graph(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        with pytest.raises(RunNotFoundError):
            rt.get(run.id)  # paused: only the store knows it
        items = await rt.interrupts(run.id)
    assert sorted(i["node"] for i in items) == ["ask_a", "ask_b"]
    assert {i["kind"] for i in items} == {"ask"}


async def test_interrupts_of_an_executing_run_list_its_waiting_branches() -> None:
    gate = anyio.Event()

    async def slow(state: WorkflowState) -> dict[str, bool]:
        await gate.wait()
        return {"slow": True}

    async def asking(state: WorkflowState) -> dict[str, str]:
        return {"asked": await ask("quick question")}

    g = Graph("live_interrupts")
    g.add_node("begin", hg.begin)
    g.add_node("slow", slow)
    g.add_node("asking", asking)
    g.add_edge("begin", ["slow", "asking"])
    g.add_edge(["slow", "asking"], END)
    async with Runtime() as rt:
        run = await rt.start(g, {})
        while not run.interrupts:
            await anyio.lowlevel.checkpoint()
        [item] = await rt.interrupts(run.id)
        assert item["node"] == "asking" and item["payload"] == "quick question"
        run.cancel()


async def test_interrupts_of_an_unknown_run_raise_run_not_found() -> None:
    async with Runtime() as rt:
        with pytest.raises(RunNotFoundError):
            await rt.interrupts("nope")


async def test_run_events_follow_the_run_across_a_pause_and_its_resume(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph(), {})
        types: list[EventType] = []

        async def read() -> None:
            async for event in run.events():
                types.append(event.type)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            with pytest.raises(RunWaiting):
                await run.result()
            resumed = await rt.resume(run.id, {"approved": True})
            await resumed.result()
    assert types[0] is EventType.RUN_STARTED
    assert EventType.WAITING in types and EventType.RESUMED in types
    assert types[-1] is EventType.RUN_COMPLETED


async def test_run_events_without_follow_end_when_the_run_pauses() -> None:
    async with Runtime() as rt:
        run = await rt.start(hg.approval_graph(), {})
        types = [e.type async for e in run.events(follow=False)]
    assert types[-1] is EventType.WAITING and run.status is RunStatus.WAITING


def test_help_of_run_lists_its_id() -> None:
    text = pydoc.render_doc(Run, renderer=pydoc.plaintext)
    assert "id: the run id" in text  # the class docstring's attribute list
    properties = text.split("Readonly properties defined here:")[1]
    assert "\n |  id\n |      The run id." in properties
