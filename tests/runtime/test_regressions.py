"""Regressions found in review: each test pins a bug that once existed (now fixed)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint
from pydantic import BaseModel

from runtime import (
    END,
    ActorflowError,
    EventType,
    Graph,
    MemoryStore,
    RunStatus,
    Runtime,
    RunWaiting,
    WorkflowState,
    ask,
)


# -- stores with hooks --------------------------------------------------------------------
class _Hold:
    def __init__(self) -> None:
        self.reached = anyio.Event()
        self.go = anyio.Event()


class HoldingStore(MemoryStore):
    """A MemoryStore whose writes can be held at a chosen point (after the write is done)."""

    def __init__(self, *, durable: bool = False) -> None:
        super().__init__()
        self.durable = durable
        self.hold_status: str | None = None          # hold update_run(status=...)
        self.status_hold = _Hold()
        self.cp_hold: _Hold | None = None            # hold the next save_checkpoint
        self.saved: list[Any] = []

    async def update_run(self, run_id: str, **fields: Any) -> None:
        await super().update_run(run_id, **fields)
        if self.hold_status is not None and fields.get("status") == self.hold_status:
            self.hold_status = None
            self.status_hold.reached.set()
            await self.status_hold.go.wait()

    async def save_checkpoint(self, checkpoint: Any) -> None:
        await super().save_checkpoint(checkpoint)
        self.saved.append(checkpoint)
        hold, self.cp_hold = self.cp_hold, None
        if hold is not None:
            hold.reached.set()
            await hold.go.wait()


async def _one(state: WorkflowState) -> dict[str, Any]:
    return {"x": 1}


def _single_node_graph() -> Graph:
    g = Graph("single")
    g.add_node("one", _one)
    g.add_edge("one", END)
    return g


# -- 1. cancel / release while the run records its completion ------------------------------
async def test_cancel_while_the_completion_is_being_recorded_keeps_the_run_completed() -> None:
    store = HoldingStore()
    store.hold_status = "completed"
    async with Runtime(store) as rt:
        run = await rt.start(_single_node_graph().compile(), {})
        await store.status_hold.reached.wait()
        assert run.status is RunStatus.COMPLETED
        run.cancel()                      # e.g. DELETE /runs/{id} racing the end of the run
        store.status_hold.go.set()
        await run.wait()
        types = [e.type for e in run.hub.events_since(0)]
        assert run.status is RunStatus.COMPLETED
        # The run completed: result() must not raise, and no second terminal event.
        assert run.error is None, run.error
        assert types.count(EventType.RUN_COMPLETED) == 1
        assert EventType.RUN_CANCELLED not in types


async def test_release_while_the_completion_is_being_recorded_keeps_the_run_completed() -> None:
    store = HoldingStore()
    store.hold_status = "completed"
    async with Runtime(store) as rt:
        run = await rt.start(_single_node_graph().compile(), {})
        await store.status_hold.reached.wait()
        run.release()                      # what Runtime.shutdown() does to every live run
        store.status_hold.go.set()
        await run.wait()
        assert run.status is RunStatus.COMPLETED
        assert run.error is None, run.error
        record = await store.get_run(run.id)
        assert record is not None and record.status == "completed"


# -- 2. a nested fan-out whose join is also the outer join ---------------------------------
async def test_a_join_shared_by_nested_fanouts_runs_once_after_every_branch() -> None:
    calls: list[dict[str, Any]] = []
    gate = anyio.Event()

    async def a(state: WorkflowState) -> None:
        return None

    async def b(state: WorkflowState) -> None:
        return None

    async def c(state: WorkflowState) -> dict[str, Any]:
        await gate.wait()
        return {"c": True}

    async def d(state: WorkflowState) -> dict[str, Any]:
        return {"d": True}

    async def e(state: WorkflowState) -> dict[str, Any]:
        return {"e": True}

    async def j(state: WorkflowState) -> dict[str, Any]:
        calls.append(dict(state.data))
        return {"j": len(calls)}

    g = Graph("nested_join")
    for name, fn in (("a", a), ("b", b), ("c", c), ("d", d), ("e", e), ("j", j)):
        g.add_node(name, fn)
    g.add_edge("a", ["b", "c"])          # outer fan-out, joins at j
    g.add_edge("b", ["d", "e"])          # inner fan-out, also joins at j
    g.add_edge("d", "j")
    g.add_conditional_edge("e", "j", "go == True")   # e may go on to j ...
    g.add_edge("e", END)                              # ... but here ends its branch
    g.add_edge("c", "j")
    g.add_edge("j", END)
    compiled = g.compile()
    async with Runtime() as rt:
        run = await rt.start(compiled, {"go": False})
        await wait_all_tasks_blocked()
        ran_before_c = len(calls)
        gate.set()
        await run.result()
    assert ran_before_c == 0, "the join ran before the outer branch c arrived"
    assert len(calls) == 1, f"the join ran {len(calls)} times"
    assert calls[0].get("c") is True


# -- 3. interrupt_after on a map target ---------------------------------------------------
async def test_interrupt_after_a_node_run_by_a_map_edge_pauses_the_run() -> None:
    async def src(state: WorkflowState) -> dict[str, Any]:
        return {"items": [1, 2]}

    async def work(state: WorkflowState) -> dict[str, Any]:
        return {"out": [state.data["item"] * 10]}

    g = Graph("map_after", reducers={"out": "append"})
    g.add_node("src", src)
    g.add_node("work", work)
    g.add_map_edge("src", "work", "items")
    g.add_edge("work", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {}, interrupt_after=["work"])
        await run.wait()
    assert run.status is RunStatus.WAITING, (
        f"interrupt_after=['work'] was ignored for a map target: run is {run.status.value}")


# -- 4. live resume: a checkpoint between the answer and its dispatch loses the branch ------
async def test_a_checkpoint_taken_while_a_live_answer_is_queued_still_records_that_branch() -> None:
    g1, g2 = anyio.Event(), anyio.Event()

    async def begin(state: WorkflowState) -> None:
        return None

    async def asker(state: WorkflowState) -> dict[str, Any]:
        return {"a": await ask({"q": 1})}

    async def p1(state: WorkflowState) -> dict[str, Any]:
        await g1.wait()
        return {"p1": True}

    async def p2(state: WorkflowState) -> dict[str, Any]:
        await g2.wait()
        return {"p2": True}

    async def join(state: WorkflowState) -> dict[str, Any]:
        return {"joined": True}

    g = Graph("live_resume")
    g.add_node("begin", begin)
    for name, fn in (("asker", asker), ("p1", p1), ("p2", p2)):
        g.add_node(name, fn)
        g.add_edge("begin", name)
        g.add_edge(name, "join")
    g.add_node("join", join)
    g.add_edge("join", END)

    store = HoldingStore(durable=True)
    async with Runtime(store) as rt:
        run = await rt.start(g.compile(), {})
        await wait_all_tasks_blocked()
        [interrupt] = run.interrupts
        first = store.cp_hold = _Hold()
        g1.set()
        await first.reached.wait()        # supervisor is checkpointing p1's step
        g2.set()
        await wait_all_tasks_blocked()    # p2's result is queued behind it
        answered = anyio.Event()

        async def answer() -> None:
            # Returns once the answer is committed: after the held checkpoints below.
            await rt.resume(run.id, "yes", interrupt_id=interrupt["id"])
            answered.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(answer)
            await wait_all_tasks_blocked()    # the answer is queued behind p2's result
            second = store.cp_hold = _Hold()
            first.go.set()
            await second.reached.wait()       # the checkpoint of p2's step was written
            cp = store.saved[-1]
            assert not answered.is_set()      # not acknowledged before it is committed
            second.go.set()
        await run.result()
    assert cp.position is not None
    where = [a.node for a in cp.position.pending] + [w.node for w in cp.position.waiting]
    # A crash now restores from cp: the answered branch must be in it (pending or waiting).
    assert "asker" in where, (
        f"checkpoint at step {cp.step} records neither a pending nor a waiting 'asker' "
        f"branch (pending: {where}); a crash here completes the run without it")


# -- 5. update_state with values the state schema rejects ---------------------------------
class _Schema(BaseModel):
    n: int = 0


async def test_update_state_with_an_invalid_value_raises_a_runtime_error() -> None:
    async def first(state: WorkflowState) -> dict[str, Any]:
        return {"n": 1}

    g = Graph("schema_edit", state_schema=_Schema)
    g.add_node("first", first)
    g.add_edge("first", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        await run.result()
        with pytest.raises(ActorflowError):
            await rt.update_state(run.id, {"n": "not a number"})


# -- 6. following a waiting run leaves an entry behind --------------------------------------
async def test_a_reader_that_stops_following_a_waiting_run_leaves_nothing_behind() -> None:
    async def asker(state: WorkflowState) -> dict[str, Any]:
        return {"a": await ask("?")}

    g = Graph("follow_waiting")
    g.add_node("asker", asker)
    g.add_edge("asker", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        with pytest.raises(RunWaiting):
            await run.result()

        async def follow() -> None:
            async for _ in rt.events(run.id):
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await wait_all_tasks_blocked()
            tg.cancel_scope.cancel()          # the WebSocket client went away
        await checkpoint()
        leaked = rt.table.readers_waiting
    assert leaked == 0, "the feed keeps an anyio.Event per followed run forever"
