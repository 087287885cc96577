"""Threads: a conversation over many runs, one writer at a time (issue 13, item 2)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime import END, Graph, Runtime, RunWaiting
from runtime.errors import RunCancelled, ThreadBusyError, ThreadNotFoundError
from runtime.status import RunStatus


async def reply(state: Any) -> dict[str, Any]:
    return {"messages": [f"echo:{state.data['messages'][-1]}"]}


def chat() -> Graph:
    g = Graph("chat", reducers={"messages": "append"})
    g.add_node("reply", reply)
    g.add_edge("reply", END)
    return g


class Gate:
    """A node that holds its run until released, counting runs inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.entered = anyio.Event()
        self.release = anyio.Event()

    async def __call__(self, state: Any) -> dict[str, Any]:
        self.inside += 1
        self.most = max(self.most, self.inside)
        self.entered.set()
        try:
            await self.release.wait()
        finally:
            self.inside -= 1
        return {"messages": [f"slow:{state.data['messages'][-1]}"]}

    def graph(self) -> Graph:
        g = Graph("slow_chat", reducers={"messages": "append"})
        g.add_node("slow", self)
        g.add_edge("slow", END)
        return g


async def test_a_run_on_a_thread_continues_from_the_thread_s_latest_state(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        first = await rt.start(chat(), {"messages": ["hi"]}, thread_id="t1")
        assert (await first.result()).data["messages"] == ["hi", "echo:hi"]
        second = await rt.start(chat(), {"messages": ["again"]}, thread_id="t1")
        final = await second.result()
        runs = await rt.threads.runs("t1")
        history = await rt.threads.history("t1")
    # The new input merged through the append reducer into the thread's state.
    assert final.data["messages"] == ["hi", "echo:hi", "again", "echo:again"]
    assert [r.id for r in runs] == [first.id, second.id]
    # Run by run, each led by its input (step 0): what it started from, the thread's
    # state with the turn's input merged in.
    assert [(c.run_id, c.step) for c in history] == [
        (first.id, 0), (first.id, 1), (second.id, 0), (second.id, 1)]
    assert history[2].state["data"]["messages"] == ["hi", "echo:hi", "again"]


async def test_a_second_run_is_rejected_while_one_is_active(store_url: str) -> None:
    gate = Gate()
    async with Runtime(store_url) as rt:
        first = await rt.start(gate.graph(), {"messages": ["a"]}, thread_id="t")
        await gate.entered.wait()
        with pytest.raises(ThreadBusyError) as info:
            await rt.start(chat(), {"messages": ["b"]}, thread_id="t")
        assert info.value.active_run_id == first.id
        # Nothing was started for the rejected run.
        assert [r.id for r in await rt.threads.runs("t")] == [first.id]
        gate.release.set()
        await first.result()


async def test_an_enqueued_run_waits_and_starts_from_the_state_the_first_left(
        store_url: str) -> None:
    gate = Gate()
    async with Runtime(store_url) as rt:
        first = await rt.start(gate.graph(), {"messages": ["a"]}, thread_id="q")
        await gate.entered.wait()
        second = await rt.start(gate.graph(), {"messages": ["b"]}, thread_id="q",
                                multitask="enqueue")
        assert second.status is RunStatus.PENDING
        gate.release.set()
        await first.result()
        final = await second.result()
    assert gate.most == 1   # never two writers at once
    assert final.data["messages"] == ["a", "slow:a", "b", "slow:b"]


async def test_an_interrupting_run_cancels_the_active_one_and_goes_on(store_url: str) -> None:
    gate = Gate()
    async with Runtime(store_url) as rt:
        first = await rt.start(gate.graph(), {"messages": ["a"]}, thread_id="i")
        await gate.entered.wait()
        second = await rt.start(chat(), {"messages": ["b"]}, thread_id="i",
                                multitask="interrupt")
        with pytest.raises(RunCancelled):
            await first.result()
        final = await second.result()
    # The cancelled turn left nothing in the thread's state.
    assert final.data["messages"] == ["b", "echo:b"]


async def ask_name(state: Any, ctx: Any) -> dict[str, Any]:
    return {"messages": [await ctx.ask("name?")]}


async def test_a_run_waiting_for_an_answer_still_holds_its_thread(store_url: str) -> None:
    g = Graph("asker", reducers={"messages": "append"})
    g.add_node("ask", ask_name)
    g.add_edge("ask", END)
    async with Runtime(store_url) as rt:
        first = await rt.start(g, {"messages": []}, thread_id="w")
        with pytest.raises(RunWaiting):
            await first.result()
        with pytest.raises(ThreadBusyError):
            await rt.start(chat(), {"messages": ["x"]}, thread_id="w")
        resumed = await rt.resume(first.id, "Ada")
        await resumed.result()
        final = await (await rt.start(chat(), {"messages": ["x"]}, thread_id="w")).result()
    assert final.data["messages"] == ["Ada", "x", "echo:x"]


async def test_a_copied_thread_forks_the_conversation(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        await (await rt.start(chat(), {"messages": ["hi"]}, thread_id="orig")).result()
        copy = await rt.threads.copy("orig", "branch")
        assert copy.copied_from == "orig"
        forked = await (await rt.start(chat(), {"messages": ["b"]}, thread_id="branch")).result()
        kept = await (await rt.start(chat(), {"messages": ["o"]}, thread_id="orig")).result()
    assert forked.data["messages"] == ["hi", "echo:hi", "b", "echo:b"]
    assert kept.data["messages"] == ["hi", "echo:hi", "o", "echo:o"]


async def test_deleting_a_thread_deletes_its_runs(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(chat(), {"messages": ["hi"]}, thread_id="gone")
        await run.result()
        other = await rt.start(chat(), {"messages": ["hi"]})
        await other.result()
        await rt.threads.delete("gone")
        assert await rt.store.get_run(run.id) is None
        assert await rt.store.list_checkpoints(run.id) == []
        assert await rt.store.get_run(other.id) is not None
        with pytest.raises(ThreadNotFoundError):
            await rt.threads.runs("gone")


async def test_a_thread_with_an_active_run_is_not_deleted(store_url: str) -> None:
    gate = Gate()
    async with Runtime(store_url) as rt:
        run = await rt.start(gate.graph(), {"messages": ["a"]}, thread_id="busy")
        await gate.entered.wait()
        with pytest.raises(ThreadBusyError):
            await rt.threads.delete("busy")
        gate.release.set()
        await run.result()


async def test_two_runtimes_on_one_database_never_both_hold_a_thread(durable_url: str) -> None:
    """Two runtimes with stores of their own (as two processes have) start a run on one
    thread at the same moment: the database lets exactly one through."""
    gates = [Gate(), Gate()]
    outcomes: list[str] = []
    async with Runtime(durable_url) as rt1, Runtime(durable_url, recover=False) as rt2:
        await rt1.threads.create("shared")

        async def start(rt: Runtime, gate: Gate) -> None:
            try:
                await rt.start(gate.graph(), {"messages": ["m"]}, thread_id="shared")
                outcomes.append("started")
            except ThreadBusyError:
                outcomes.append("busy")

        async with anyio.create_task_group() as tg:
            for rt, gate in zip((rt1, rt2), gates, strict=True):
                tg.start_soon(start, rt, gate)
        assert sorted(outcomes) == ["busy", "started"]
        for gate in gates:
            gate.release.set()
        for rt in (rt1, rt2):
            for run in rt.runs():
                await run.wait()


async def test_a_queued_run_cancelled_while_it_waits_never_runs(store_url: str) -> None:
    gate = Gate()
    async with Runtime(store_url) as rt:
        first = await rt.start(gate.graph(), {"messages": ["a"]}, thread_id="cq")
        await gate.entered.wait()
        queued = await rt.start(chat(), {"messages": ["q"]}, thread_id="cq",
                                multitask="enqueue")
        assert await rt.cancel(queued.id) is RunStatus.CANCELLED
        gate.release.set()
        await first.result()
        assert await rt.threads.state("cq") == {"messages": ["a", "slow:a"]}
        record = await rt.store.get_run(queued.id)
    assert record is not None and record.status is RunStatus.CANCELLED


async def test_a_fork_of_a_thread_s_run_is_not_a_turn_of_the_thread(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(chat(), {"messages": ["hi"]}, thread_id="f")
        await run.result()
        fork = await rt.fork(run.id, 0)
        await fork.result()
        replay = await rt.replay(run.id)
        await replay.result()
        assert [r.id for r in await rt.threads.runs("f")] == [run.id]
        # The thread is free for its next turn: neither holds it.
        nxt = await rt.start(chat(), {"messages": ["next"]}, thread_id="f")
        assert (await nxt.result()).data["messages"] == ["hi", "echo:hi", "next", "echo:next"]
