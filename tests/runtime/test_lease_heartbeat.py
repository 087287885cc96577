"""The lease heartbeat runs on its own thread: a node that blocks the event loop for
several lease periods does not get its run taken over by another process."""

from __future__ import annotations

import threading
import time

import anyio

from runtime import END, Graph, Runtime, WorkflowState
from runtime.lease import ClusterSettings

#: The blocking step blocks once per process (the taken-over copy would not).
BLOCKED: list[str] = []
BLOCK_SECONDS = 5.0  # more than three leases
LEASE = ClusterSettings(lease_seconds=1.5, heartbeat_seconds=0.3, poll_seconds=0.1)


async def block(state: WorkflowState) -> dict[str, int]:
    if state.run_id not in BLOCKED:
        BLOCKED.append(state.run_id)
        time.sleep(BLOCK_SECONDS)  # noqa: ASYNC251 - on purpose: the loop is blocked
    return {"blocked": 1}


async def after(state: WorkflowState) -> dict[str, int]:
    return {"after": 1}


def blocking() -> Graph:
    g = Graph("blocks_the_loop")
    g.add_node("block", block)
    g.add_node("after", after)
    g.add_edge("block", "after")
    g.add_edge("after", END)
    return g


def _other_process(url: str, ready: threading.Event, done: threading.Event) -> None:
    """Another cluster member with a loop of its own (a thread here), eager to claim."""
    async def main() -> None:
        async with Runtime(url, graphs=[blocking()], cluster=LEASE, instance_id="B"):
            ready.set()
            while not done.is_set():
                await anyio.sleep(0.05)

    anyio.run(main)


async def test_a_node_blocking_the_event_loop_keeps_its_run_s_lease(
        postgres_database: str) -> None:
    ready, done = threading.Event(), threading.Event()
    other = threading.Thread(target=_other_process, args=(postgres_database, ready, done))
    other.start()
    try:
        await anyio.to_thread.run_sync(ready.wait, 60)
        async with Runtime(postgres_database, graphs=[blocking()], cluster=LEASE,
                           instance_id="A") as a:
            run = await a.start(blocking().compile(), {})
            with anyio.fail_after(120):
                final = await run.result()
            record = await a.store.get_run(run.id)
            steps = [c.step for c in await a.store.list_checkpoints(run.id)]
    finally:
        done.set()
        await anyio.to_thread.run_sync(other.join, 60)
    assert run.id in BLOCKED
    assert final.data == {"blocked": 1, "after": 1}
    assert record is not None
    assert (record.status, record.owner, record.interruptions) == ("completed", "A", 0)
    assert steps == [1, 2]


async def test_a_loop_blocked_past_max_stall_loses_its_leases_to_another_process(
        postgres_database: str) -> None:
    wedged = ClusterSettings(lease_seconds=1.5, heartbeat_seconds=0.3, poll_seconds=0.1,
                             max_stall_seconds=1.0)
    ready, done = threading.Event(), threading.Event()
    other = threading.Thread(target=_other_process, args=(postgres_database, ready, done))
    other.start()
    try:
        await anyio.to_thread.run_sync(ready.wait, 60)
        async with Runtime(postgres_database, graphs=[blocking()], cluster=wedged,
                           instance_id="A") as a:
            run = await a.start(blocking().compile(), {})
            with anyio.fail_after(120):
                while (record := await a.store.get_run(run.id)) is None or \
                        not record.status.finished:
                    await anyio.sleep(0.1)
    finally:
        done.set()
        await anyio.to_thread.run_sync(other.join, 60)
    assert (record.status, record.owner, record.interruptions) == ("completed", "B", 1)
