"""History, state at any step, editing state, forking and replaying runs."""

from __future__ import annotations

from typing import Any

import hitlgraphs as hg
import pytest

from runtime import (
    END,
    ActorflowError,
    CheckpointNotFoundError,
    Graph,
    Runtime,
    RunWaiting,
    WorkflowState,
)


async def test_history_lists_the_input_then_the_state_after_every_step(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(4).compile(), {"n": 0, "note": "in"})
        await run.result()
        history = await rt.history(run.id)
        record = await rt.store.get_run(run.id)
        # Pages: step 0 leads the first page only, and counts in its limit.
        first_two = await rt.history(run.id, limit=2)
        after_0 = await rt.history(run.id, after=0, limit=2)
        from_the_handle = await run.history()
    assert [c.step for c in history] == [0, 1, 2, 3, 4]
    assert [c.state["data"]["n"] for c in history] == [0, 1, 2, 3, 4]
    # Step 0 is the input, about to enter the graph: no node wrote it.
    assert history[0].state["data"] == {"n": 0, "note": "in"}
    assert history[0].nodes == [] and history[0].changed == {"n": 0, "note": "in"}
    assert record is not None and history[0].created_at == record.created_at
    assert all(c.nodes == ["step"] for c in history[1:])
    assert [c.step for c in first_two] == [0, 1]
    assert [c.step for c in after_0] == [1, 2]
    assert [(c.step, c.state) for c in from_the_handle] == [(c.step, c.state) for c in history]


async def test_a_fork_lists_its_own_first_step_and_a_replay_its_input(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(4).compile(), {"n": 0})
        await run.result()
        later = await rt.fork(run.id, 2)
        edited_input = await rt.fork(run.id, 0, values={"n": 2})
        again = await rt.replay(run.id, None)
        for r in (later, edited_input, again):
            await r.result()
        later_history = await rt.history(later.id)
        input_history = await rt.history(edited_input.id)
        again_history = await rt.history(again.id)
    # A fork from step 2 begins there (its input is that step's state, not a step 0).
    assert [c.step for c in later_history] == [2, 3, 4]
    # A fork from the input begins with the input as edited; a replay with the input.
    assert [c.state["data"]["n"] for c in input_history] == [2, 3, 4]
    assert input_history[0].step == 0
    assert [(c.step, c.state["data"]["n"]) for c in again_history] == [
        (0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]


async def test_get_state_returns_the_state_at_any_checkpoint(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(4).compile(), {})
        await run.result()
        assert (await rt.get_state(run.id, 2)).data["n"] == 2
        assert (await rt.get_state(run.id)).data["n"] == 4
        # A step it never had: the error says where to list the steps, embedded first.
        with pytest.raises(CheckpointNotFoundError, match=r"no checkpoint at step 9; list "
                           r"its steps \(rt\.history\(run_id\), GET /api/v1/runs/"):
            await rt.get_state(run.id, 9)


async def test_fork_goes_on_from_a_checkpoint_and_leaves_the_original_untouched(durable_url: str) -> None:
    async with Runtime(durable_url) as rt:
        run = await rt.start(hg.counter_graph(5).compile(), {})
        await run.result()
        fork = await rt.fork(run.id, 2, values={"n": 10})
        final = await fork.result()
        # n edited to 10 at step 2, as if `step` had written it: routed from there, the
        # loop's condition (n < 5) no longer holds and the fork ends.
        assert final.data["n"] == 10
        record = await rt.store.get_run(fork.id)
        assert record is not None and record.parent_run_id == run.id
        assert record.options["forked_from"] == {"run_id": run.id, "step": 2}
        original = await rt.store.get_run(run.id)
        assert original is not None and original.final_state is not None
        assert original.final_state["data"]["n"] == 5
        assert [c.step for c in await rt.history(run.id)] == [0, 1, 2, 3, 4, 5]


async def test_fork_and_replay_from_a_step_work_on_every_store(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(3).compile(), {})
        await run.result()
        fork = await rt.fork(run.id, 1, values={"n": -2})
        replay = await rt.replay(run.id, 2)
        # From n=-2 the loop steps back up to 3; the replay goes on from n=2 as before.
        assert (await fork.result()).data["n"] == 3
        assert (await replay.result()).data["n"] == 3
        assert [c.state["data"]["n"] for c in await rt.history(fork.id)] == [-2, -1, 0, 1,
                                                                             2, 3]


async def test_replay_runs_a_finished_run_again_with_the_same_inputs(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(3).compile(), {"n": 0})
        first = await run.result()
        again = await rt.replay(run.id)
        second = await again.result()
        record = await rt.store.get_run(again.id)
    assert second.data == first.data
    assert record is not None and record.options["replay_of"]["run_id"] == run.id


async def test_replay_from_a_checkpoint_records_the_step(durable_url: str) -> None:
    async with Runtime(durable_url) as rt:
        run = await rt.start(hg.counter_graph(3).compile(), {})
        await run.result()
        again = await rt.replay(run.id, 1)
        assert (await again.result()).data["n"] == 3
        record = await rt.store.get_run(again.id)
    assert record is not None and record.options["replay_of"] == {"run_id": run.id, "step": 1}


async def test_replay_of_an_unfinished_run_is_refused(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        with pytest.raises(ActorflowError, match="only a finished run"):
            await rt.replay(run.id)


async def test_update_state_edits_a_waiting_run_before_it_resumes(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        checkpoint = await rt.update_state(run.id, {"draft": "v2"}, as_node="draft")
        assert checkpoint.nodes == ["draft"]
        assert (await rt.get_state(run.id)).data["draft"] == "v2"
        resumed = await rt.resume(run.id, {"approved": True})
        final = await resumed.result()
    assert final.data["draft"] == "v2"


async def test_update_state_as_a_node_then_fork_goes_on_along_that_nodes_edges(durable_url: str) -> None:
    async with Runtime(durable_url) as rt:
        run = await rt.start(hg.counter_graph(3).compile(), {})
        await run.result()
        cp = await rt.update_state(run.id, {"n": 0}, as_node="step")
        fork = await rt.fork(run.id, cp.step)
        # n=0 written "by step": its loop condition holds again, three more steps.
        assert (await fork.result()).data["n"] == 3


async def test_update_state_of_a_running_run_is_refused() -> None:
    import anyio

    gate = anyio.Event()

    async def hold(state: WorkflowState) -> None:
        await gate.wait()

    async with Runtime() as rt:
        run = await rt.start(Graph("hold").add_node("hold", hold).add_edge("hold", END), {})
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(ActorflowError, match="while it executes"):
            await rt.update_state(run.id, {"x": 1})
        gate.set()
        await run.result()


# -- time travel semantics (issue 17, item 6) -----------------------------------------------
async def _draft(state: WorkflowState) -> dict[str, Any]:
    return {"draft": "v1"}


async def _decide(state: WorkflowState) -> dict[str, Any]:
    return {"decision": "yes"}


async def _publish(state: WorkflowState) -> dict[str, Any]:
    return {"published": state.data["draft"]}


def _publishing_graph() -> Graph:
    g = Graph("publishing")
    g.add_node("draft", _draft).add_node("decide", _decide).add_node("publish", _publish)
    g.add_edge("draft", "decide")
    g.add_conditional_edge("decide", "publish", "decision == 'yes'")
    g.add_edge("decide", END)
    g.add_edge("publish", END)
    return g


async def test_a_fork_with_values_routes_from_the_edited_state(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(_publishing_graph(), {})
        assert (await run.result()).data["published"] == "v1"
        # Step 2: `decide` wrote "yes" and `publish` was routed to. Edited to "no", the
        # fork routes from `decide` again, as update_state(as_node="decide") would.
        no = await (await rt.fork(run.id, 2, values={"decision": "no"})).result()
        yes = await (await rt.fork(run.id, 2)).result()
    assert no.data == {"draft": "v1", "decision": "no"}
    assert yes.data == {"draft": "v1", "decision": "yes", "published": "v1"}


async def test_forking_step_0_starts_from_the_input_on_every_store(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(3).compile(), {"n": 1})
        await run.result()
        again = await rt.fork(run.id, 0)
        assert (await again.result()).data["n"] == 3
        # Its own first checkpoint holds the input (step 0), then every step.
        assert [c.state["data"]["n"] for c in await rt.history(again.id)] == [1, 2, 3]
        edited = await rt.fork(run.id, 0, values={"n": 2})
        assert (await edited.result()).data["n"] == 3
        record = await rt.store.get_run(edited.id)
    assert record is not None and record.parent_run_id == run.id
    assert record.options["forked_from"] == {"run_id": run.id, "step": 0}
    assert record.initial_state["data"] == {"n": 2}


async def test_a_fork_and_a_replay_from_a_step_start_as_runs_of_their_own(store_url: str) -> None:
    # Their first execution begins at a checkpoint, but it is a start: run_started
    # first, and started_at recorded (it was null on every fork, even completed).
    async with Runtime(store_url) as rt:
        run = await rt.start(hg.counter_graph(3).compile(), {})
        await run.result()
        for new in (await rt.fork(run.id, 1, values={"n": 0}), await rt.replay(run.id, 2)):
            await new.result()
            record = await rt.store.get_run(new.id)
            assert record is not None and record.status.value == "completed"
            assert record.started_at is not None and record.completed_at is not None
            assert record.created_at <= record.started_at <= record.completed_at
            types = [e.type.value async for e in rt.events(new.id)]
            assert types[0] == "run_started" and "run_resumed" not in types
            assert types[-1] == "run_completed"
