"""The supervisor's mailbox (runtime.mailbox): its node workers report there; it reads
everything that arrived at once, and waiting costs one event, nothing more."""

from __future__ import annotations

import gc
import types
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from runtime import END, Graph, Runtime
from runtime.mailbox import Mailbox


async def test_the_reader_gets_everything_that_arrived_in_order() -> None:
    box: Mailbox[int] = Mailbox()
    assert box.take_all() == []
    for i in range(3):
        box.send_nowait(i)
    await box.wait()                 # something is there: returns at once
    assert box.take_all() == [0, 1, 2]
    assert box.take_all() == []


async def test_a_waiting_reader_wakes_when_a_sender_delivers() -> None:
    box: Mailbox[str] = Mailbox()
    got: list[str] = []

    async def reader() -> None:
        await box.wait()
        got.extend(box.take_all())

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        assert got == []
        box.send_nowait("result")
    assert got == ["result"]


async def test_a_waiting_reader_can_be_cancelled_and_waits_again_later() -> None:
    box: Mailbox[int] = Mailbox()
    with anyio.move_on_after(0):
        await box.wait()
    box.send_nowait(1)   # no stale waiter left behind to wake
    await box.wait()
    assert box.take_all() == [1]


async def test_a_closed_mailbox_refuses_sends() -> None:
    box: Mailbox[int] = Mailbox()
    box.close()
    with pytest.raises(anyio.ClosedResourceError):
        box.send_nowait(1)


async def test_runs_waiting_for_their_nodes_keep_no_exception_or_traceback_alive() -> None:
    # (A memory object stream's receive() waits inside its WouldBlock handler: an
    # exception and two tracebacks per waiting run, walked by every collection.)
    gate = anyio.Event()

    async def blocked(state: Any) -> None:
        await gate.wait()

    g = Graph("mailbox_waits")
    g.add_node("blocked", blocked)
    g.add_edge("blocked", END)
    compiled = g.compile()
    async with Runtime() as rt:
        await anyio.lowlevel.checkpoint()
        gc.collect()
        before = sum(1 for o in gc.get_objects() if isinstance(o, types.TracebackType))
        runs = [await rt.start(compiled, {}) for _ in range(50)]
        await anyio.wait_all_tasks_blocked()
        during = sum(1 for o in gc.get_objects() if isinstance(o, types.TracebackType))
        gate.set()
        for run in runs:
            await run.result()
    assert during - before < 50, f"{during - before} tracebacks alive for 50 waiting runs"
