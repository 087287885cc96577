"""An answer is acknowledged once it is recorded, and never waits for anything else.

``Runtime.resume`` of a paused run commits the answer as a step of its own before the
run goes on: a run that must wait for a slot (``max_concurrent_runs``) or never gets one
(a shutdown) still has it, and the caller is not held behind the other runs. An answer
that comes as the run's last branch ends is refused, not dropped. The history is the
same on every store.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import hitlgraphs as hg
from runtime import END, Graph, InvalidResume, Runtime, RunStatus, RunWaiting, WorkflowState, ask

#: Set by the test to let the run that holds the only slot finish.
GATE: dict[str, anyio.Event] = {}


async def hold_the_slot(state: WorkflowState) -> dict[str, Any]:
    await GATE["slot"].wait()
    return {"held": True}


def slot_holder() -> Graph:
    g = Graph("slot_holder")
    g.add_node("hold", hold_the_slot)
    g.add_edge("hold", END)
    return g


async def test_an_answer_to_a_run_queued_behind_a_slot_is_committed_without_waiting(
        durable_url: str) -> None:
    GATE["slot"] = anyio.Event()
    approval = hg.approval_graph()
    async with Runtime(durable_url, max_concurrent_runs=1, graphs=[approval]) as rt:
        paused = await rt.start(approval.compile(), {})
        with pytest.raises(RunWaiting):
            await paused.result()
        holder = await rt.start(slot_holder().compile(), {})
        with anyio.fail_after(10):
            while holder.status is not RunStatus.RUNNING:
                await anyio.sleep(0.01)
            # Not held behind the run in the slot: the answer is committed here.
            answered = await rt.resume(paused.id, {"approved": True, "comment": "ok"})
        assert holder.status is RunStatus.RUNNING and not answered.done
        cp = await rt.store.latest_checkpoint(paused.id)
        assert cp is not None and cp.nodes == [] and cp.position is not None
        [again] = cp.position.pending
        assert again.node == "approve" and list((again.answers or {}).values()) == [
            {"approved": True, "comment": "ok"}]
        record = await rt.store.get_run(paused.id)
        assert record is not None and record.status is RunStatus.PENDING   # no slot yet
        # The runtime goes away before the answered run ever had a slot.
        await rt.shutdown()
    GATE["slot"].set()
    async with Runtime(durable_url, graphs=[approval, slot_holder()]) as rt:
        run = rt.get(paused.id)
        assert run is not None
        with anyio.fail_after(20):
            final = await run.result()
        steps = await rt.history(paused.id)
    assert final.data["approved"] is True and final.data["comment"] == "ok"
    # The input, draft, the answer (a step of its own), then approve once answered.
    assert [(c.step, c.nodes) for c in steps] == [
        (0, []), (1, ["draft"]), (2, []), (3, ["approve"])]


async def test_an_answer_is_a_step_of_its_own_on_every_store(store_url: str) -> None:
    approval = hg.approval_graph()
    async with Runtime(store_url) as rt:
        run = await rt.start(approval.compile(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        resumed = await rt.resume(run.id, {"approved": False})
        final = await resumed.result()
        steps = await rt.history(run.id)
    assert final.data["approved"] is False
    assert [(c.step, c.nodes) for c in steps] == [
        (0, []), (1, ["draft"]), (2, []), (3, ["approve"])]
    # The answer's step holds the state as the pause left it.
    assert steps[2].state["data"] == steps[1].state["data"] == {"draft": "v1"}


async def slow_plain(state: WorkflowState) -> dict[str, Any]:
    await GATE["plain"].wait()
    return {"plain": True}


async def asks(state: WorkflowState) -> dict[str, Any]:
    return {"answer": await ask({"q": "?"})}


def ask_beside_work(name: str, begin: Any) -> Graph:
    """``begin``, then a branch that asks beside one that works until GATE["plain"]."""
    GATE["plain"] = anyio.Event()
    g = Graph(name)
    g.add_node("begin", begin)
    g.add_node("asks", asks)
    g.add_node("plain", slow_plain)
    g.add_edge("begin", ["asks", "plain"])
    g.add_edge("asks", END)
    g.add_edge("plain", END)
    return g


async def test_an_answer_given_as_the_last_branch_ends_is_refused_not_dropped(
        durable_url: str) -> None:
    # One branch asks, the other works on; the answer arrives while the run is
    # closing its workers after that other branch ended. It must either be taken or
    # refused: never acknowledged and then lost from a completed run.
    g = ask_beside_work("ask_beside_work", hg.begin)
    async with Runtime(durable_url) as rt:
        run = await rt.start(g.compile(), {})
        with anyio.fail_after(10):
            while not run.interrupts:
                await anyio.sleep(0.01)
        outcome: list[Any] = []

        async def answer_when_plain_ends() -> None:
            async for event in run.events():
                if event.type == "node_completed" and event.node == "plain":
                    try:
                        outcome.append(await rt.resume(run.id, "late"))
                    except InvalidResume as exc:
                        outcome.append(exc)
                    return

        async with anyio.create_task_group() as tg:
            tg.start_soon(answer_when_plain_ends)
            await anyio.wait_all_tasks_blocked()
            GATE["plain"].set()
        state = await rt.view(run.id)
    [result] = outcome
    if isinstance(result, InvalidResume):
        # Refused: the run paused with the question still open.
        assert state.status == "waiting"
    else:
        # Taken: the run finished with the answer.
        with anyio.fail_after(10):
            final = await result.result()
        assert final.data["answer"] == "late"


async def test_a_live_answer_after_a_restart_keeps_who_wrote_the_restored_step(
        durable_url: str) -> None:
    # Released by a shutdown while one branch waits for an answer and another works;
    # the next runtime goes on from that step, and an answer taken live before any
    # node completes is saved at the same step: it must keep the step's nodes and
    # writes, not replace them with none.
    g = ask_beside_work("answer_after_restart", hg.step)
    async with Runtime(durable_url, graphs=[g]) as rt:
        run = await rt.start(g.compile(), {})
        with anyio.fail_after(10):
            while not run.interrupts:
                await anyio.sleep(0.01)
        await rt.shutdown()
    async with Runtime(durable_url, graphs=[g]) as rt:
        before = await rt.store.latest_checkpoint(run.id)
        assert before is not None and before.nodes == ["begin"]
        resumed = rt.get(run.id)
        with anyio.fail_after(10):
            while not resumed.supervisor.accepting_resume:
                await anyio.sleep(0.01)
            await rt.resume(run.id, "yes")
        after = await rt.store.get_checkpoint(run.id, before.step)
        GATE["plain"].set()
        final = await resumed.result()
    assert after is not None
    assert (after.nodes, after.changed) == (["begin"], {"n": 1})
    assert final.data == {"n": 1, "answer": "yes", "plain": True}
