"""Human in the loop: ask, wait without a task, resume by stable id, static interrupts."""

from __future__ import annotations

import hitlgraphs as hg
import pytest

from runtime import (
    END,
    EventType,
    Graph,
    InvalidResume,
    RunStatus,
    Runtime,
    RunWaiting,
    WorkflowState,
    ask,
)


async def _waiting(run) -> RunWaiting:  # type: ignore[no-untyped-def]
    with pytest.raises(RunWaiting) as info:
        await run.result()
    return info.value


async def test_a_node_that_asks_pauses_the_run_and_the_answer_continues_it(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        waiting = await _waiting(run)
        assert run.status is RunStatus.WAITING
        [interrupt] = waiting.interrupts
        assert interrupt["node"] == "approve"
        assert interrupt["payload"] == {"question": "apply?", "draft": "v1"}
        record = await rt.store.get_run(run.id)
        assert record is not None and record.status == "waiting"

        resumed = await rt.resume(run.id, {"approved": True, "comment": "fine"})
        final = await resumed.result()
    assert final.data == {"draft": "v1", "approved": True, "comment": "fine"}


async def test_a_waiting_run_keeps_no_task_and_no_run_object(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        runs = [await rt.start(hg.approval_graph().compile(), {}) for _ in range(50)]
        for run in runs:
            await _waiting(run)
        # Paused runs are dropped from memory; only their records and checkpoints stay.
        assert rt.runs() == []
        records = await rt.store.list_runs(status="waiting", limit=100)
        assert len(records) == 50


async def test_the_event_feed_says_what_the_run_waits_for_and_when_it_resumes(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        await _waiting(run)
        resumed = await rt.resume(run.id, {"approved": False})
        await resumed.result()
        events = [e async for e in rt.events(run.id)]
    types = [e.type for e in events]
    assert [e.seq for e in events] == list(range(len(events)))
    waiting = types.index(EventType.WAITING)
    assert events[waiting].data["interrupt"]["node"] == "approve"
    assert types.index(EventType.RESUMED) > waiting
    assert types[-1] is EventType.RUN_COMPLETED


async def test_parallel_branches_wait_at_once_and_are_resumed_each_by_its_own_id(store_url: str) -> None:
    hg.CALLS.clear()
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.parallel_graph().compile(), {})
        waiting = await _waiting(run)
        ids = {i["node"]: i["id"] for i in waiting.interrupts}
        assert set(ids) == {"ask_a", "ask_b"}
        # The branch that does not wait ran to the join and waits there for the others.
        assert hg.CALLS["plain"] == 1 and "join" not in hg.CALLS

        second = await rt.resume(run.id, "answer-b", interrupt_id=ids["ask_b"])
        still = await _waiting(second)
        assert [i["id"] for i in still.interrupts] == [ids["ask_a"]]

        third = await rt.resume(run.id, "answer-a", interrupt_id=ids["ask_a"])
        final = await third.result()
    assert final.data["a"] == "answer-a" and final.data["b"] == "answer-b"
    assert final.data["joined"] == ["a", "b", "plain"]
    # Resuming never re-ran the work of other branches.
    assert hg.CALLS["begin"] == 1 and hg.CALLS["plain"] == 1 and hg.CALLS["join"] == 1


async def test_interrupt_ids_are_stable_across_resumes(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.parallel_graph().compile(), {})
        first = {i["id"] for i in (await _waiting(run)).interrupts}
        a_id = next(i for i in first if i.startswith("ask_a"))
        b_id = next(i for i in first if i.startswith("ask_b"))
        again = await rt.resume(run.id, "x", interrupt_id=a_id)
        assert {i["id"] for i in (await _waiting(again)).interrupts} == {b_id}


async def test_resume_with_an_unknown_id_is_refused_naming_the_waiting_ones(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        [interrupt] = (await _waiting(run)).interrupts
        with pytest.raises(InvalidResume, match=interrupt["id"]):
            await rt.resume(run.id, {"approved": True}, interrupt_id="nope")


async def test_a_second_answer_to_the_same_interrupt_is_refused(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.parallel_graph().compile(), {})
        ids = [i["id"] for i in (await _waiting(run)).interrupts]
        again = await rt.resume(run.id, "first", interrupt_id=ids[0])
        await _waiting(again)
        with pytest.raises(InvalidResume, match="already answered"):
            await rt.resume(run.id, "second", interrupt_id=ids[0])


async def test_resuming_a_run_that_is_not_waiting_is_refused(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph().compile(), {})
        await run.result()
        with pytest.raises(InvalidResume, match="completed, not waiting"):
            await rt.resume(run.id, "late")


async def test_without_an_id_resume_is_refused_when_several_interrupts_wait(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.parallel_graph().compile(), {})
        await _waiting(run)
        with pytest.raises(InvalidResume, match="say which one"):
            await rt.resume(run.id, "?")


async def test_an_answer_failing_the_interrupt_schema_is_refused_with_the_field(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        await _waiting(run)
        with pytest.raises(InvalidResume) as info:
            await rt.resume(run.id, {"approved": "maybe"})
        assert info.value.details[0]["path"] == "approved"
        # Nothing was consumed: a valid answer still works.
        resumed = await rt.resume(run.id, {"approved": True})
        assert (await resumed.result()).data["approved"] is True


async def test_an_interrupt_with_a_schema_publishes_it_for_forms(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        [waiting] = (await _waiting(run)).interrupts
        schema = waiting["answer_schema"]
        assert schema["required"] == ["approved"]
        assert schema["properties"]["approved"]["type"] == "boolean"
        # Read back from the store, as another process (or the API) sees it.
        [stored] = await rt.interrupts(run.id)
        assert stored["answer_schema"] == schema


async def test_an_interrupt_without_a_schema_publishes_none(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.parallel_graph().compile(), {})
        interrupts = (await _waiting(run)).interrupts
        assert interrupts and all(i["answer_schema"] is None for i in interrupts)


async def test_interrupt_before_a_node_pauses_before_it_runs(store_url: str) -> None:
    hg.CALLS.clear()
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(2).compile(), {}, interrupt_before=["step"])
        [interrupt] = (await _waiting(run)).interrupts
        assert interrupt["kind"] == "before" and "step" not in hg.CALLS
        run = await rt.resume(run.id, "go")
        # It pauses before every execution of the node.
        [again] = (await _waiting(run)).interrupts
        assert again["id"] != interrupt["id"] and hg.CALLS["step"] == 1
        run = await rt.resume(run.id, "go")
        assert (await run.result()).data["n"] == 2


async def test_interrupt_after_a_node_declared_on_the_graph_pauses_after_its_write(store_url: str) -> None:
    g = Graph("after")
    g.add_node("draft", hg.draft, interrupt_after=True)
    g.add_node("plain", hg.plain)
    g.add_edge("draft", "plain")
    g.add_edge("plain", END)
    async with Runtime(store_url) as rt:
        run = await rt.start(g.compile(), {})
        [interrupt] = (await _waiting(run)).interrupts
        assert interrupt["kind"] == "after"
        assert (await rt.get_state(run.id)).data == {"draft": "v1"}
        final = await (await rt.resume(run.id)).result()
    assert final.data == {"draft": "v1", "plain": True}


async def test_an_interrupt_at_an_unknown_node_is_refused_at_start() -> None:
    async with Runtime() as rt:
        with pytest.raises(Exception, match="no such node"):
            await rt.start(hg.counter_graph().compile(), {}, interrupt_before=["nope"])


async def test_a_branch_answered_while_others_still_run_goes_on_without_a_pause() -> None:
    import anyio

    gate = anyio.Event()

    async def slow(state: WorkflowState) -> dict[str, bool]:
        await gate.wait()
        return {"slow": True}

    async def asking(state: WorkflowState) -> dict[str, str]:
        return {"asked": await ask("quick question")}

    g = Graph("live")
    g.add_node("begin", hg.begin)
    g.add_node("slow", slow)
    g.add_node("asking", asking)
    g.add_edge("begin", ["slow", "asking"])
    g.add_edge(["slow", "asking"], END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        while not run.interrupts:
            await anyio.lowlevel.checkpoint()
        assert run.status is RunStatus.RUNNING
        same = await rt.resume(run.id, "live answer")
        assert same is run
        gate.set()
        final = await run.result()
    assert final.data == {"slow": True, "asked": "live answer"}


async def test_ask_outside_a_node_says_where_it_can_be_called() -> None:
    with pytest.raises(RuntimeError, match="inside a running node"):
        await ask("?")


async def test_a_waiting_run_can_be_cancelled_and_then_no_longer_resumed(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        await _waiting(run)
        assert await rt.cancel(run.id) is RunStatus.CANCELLED
        record = await rt.store.get_run(run.id)
        assert record is not None and record.status == "cancelled"
        with pytest.raises(InvalidResume, match="cancelled, not waiting"):
            await rt.resume(run.id, {"approved": True})
        events = [e async for e in rt.events(run.id)]
    assert events[-1].type is EventType.RUN_CANCELLED
    assert [e.seq for e in events] == list(range(len(events)))


async def test_cancelling_an_executing_run_waits_until_it_stopped() -> None:
    import anyio

    started = anyio.Event()
    cleaned = []

    async def hold(state: WorkflowState) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.append(True)

    async with Runtime() as rt:
        run = await rt.start(Graph("hold").add_node("hold", hold).add_edge("hold", END), {})
        await started.wait()
        assert await rt.cancel(run.id) is RunStatus.CANCELLED
        assert cleaned == [True]
