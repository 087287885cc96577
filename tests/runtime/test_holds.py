"""Changes to a stored run from several runtimes of one cluster (a real SQLite file and
a real PostgreSQL database, in one process): an edit of a run another runtime executes
is refused and writes nothing, an edit of a queued run is refused, a waiting run holds no lease, and of two
answers to one waiting run given through two runtimes at once, one resumes it.

(Real processes behind real HTTP servers: tests/api/test_cluster_time_travel.py.)
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime import END, Graph, Runtime
from runtime.errors import RunError
from runtime.interrupts import InvalidResume
from runtime.lease import ClusterSettings
from runtime.status import RunStatus

QUIET = ClusterSettings(lease_seconds=7200, heartbeat_seconds=3600, poll_seconds=0.2)
FRONT = ClusterSettings(execute=False)


def gated(gate: anyio.Event) -> Graph:
    async def first(state):  # type: ignore[no-untyped-def]
        return {"n": 1}

    async def held(state):  # type: ignore[no-untyped-def]
        await gate.wait()
        return {"n": 2}

    g = Graph("holds_gated")
    g.add_node("first", first)
    g.add_node("held", held)
    g.add_edge("first", "held")
    g.add_edge("held", END)
    return g


async def asks(state):  # type: ignore[no-untyped-def]
    from runtime import ask

    return {"answer": await ask({"question": "which?"})}


def asking() -> Graph:
    g = Graph("holds_ask")
    g.add_node("ask", asks)
    g.add_edge("ask", END)
    return g


async def test_an_edit_of_a_run_another_runtime_executes_is_refused(durable_url: str) -> None:
    gate = anyio.Event()
    g = gated(gate)
    front = Runtime(durable_url, cluster=FRONT, graphs=[g])
    worker = Runtime(durable_url, cluster=QUIET, graphs=[g])
    async with front, worker:
        view = await front.submit(g.compile(), {})
        with anyio.fail_after(60):
            while not (run := worker.table.live(view.id)) or "held" not in [
                    e.node for e in run.hub.events_since(0)]:
                await anyio.sleep(0.02)
            while not await front.store.list_checkpoints(view.id):  # its first step is stored
                await anyio.sleep(0.02)
        before = len(await front.store.list_checkpoints(view.id))
        with pytest.raises(RunError, match="executes it"):
            await front.update_state(view.id, {"n": 99})
        assert len(await front.store.list_checkpoints(view.id)) == before  # nothing written
        gate.set()
        await run.wait()
        record = await front.store.get_run(view.id)
    assert record is not None and record.status is RunStatus.COMPLETED
    assert record.final_state is not None and record.final_state["data"]["n"] == 2
    assert record.interruptions == 0


async def test_an_edit_of_a_queued_run_is_refused(durable_url: str) -> None:
    g = asking()
    async with Runtime(durable_url, cluster=FRONT, graphs=[g]) as front:
        view = await front.submit(g.compile(), {})
        with pytest.raises(RunError, match="queued and has not started"):
            await front.update_state(view.id, {"x": 1})
        record = await front.store.get_run(view.id)
        assert record is not None and record.lease_until is None  # claimable as before
        assert await front.store.list_checkpoints(view.id) == []   # nothing written


async def test_two_answers_through_two_runtimes_resume_the_run_once(durable_url: str) -> None:
    g = asking()
    a = Runtime(durable_url, cluster=QUIET, graphs=[g])
    b = Runtime(durable_url, cluster=QUIET, graphs=[g])
    async with a, b:
        run = await a.start(g.compile(), {})
        await run.wait()
        assert run.status is RunStatus.WAITING
        with anyio.fail_after(30):  # a waiting run holds no lease (ours lasts two hours)
            while (waiting := await a.store.get_run(run.id)) and waiting.lease_until:
                await anyio.sleep(0.02)
        outcomes: dict[str, Any] = {}

        async def answer(rt: Runtime, name: str) -> None:
            try:
                outcomes[name] = await rt.resume(run.id, name)
            except InvalidResume as exc:
                outcomes[name] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(answer, a, "a")
            tg.start_soon(answer, b, "b")
        resumed = [n for n, o in outcomes.items() if not isinstance(o, InvalidResume)]
        assert len(resumed) == 1, outcomes
        await outcomes[resumed[0]].wait()
        record = await a.store.get_run(run.id)
        events = await a.store.read_events(run.id)
    assert record is not None and record.status is RunStatus.COMPLETED
    assert record.final_state is not None
    assert record.final_state["data"]["answer"] == resumed[0]
    assert sum(1 for e in events if e.type.value == "resumed") == 1
