"""The one-shot wake-up a supervisor and an idle worker wait on (runtime.wakeup)."""

from __future__ import annotations

import anyio

from runtime.wakeup import Wakeup


async def test_waiting_on_a_set_wakeup_returns_at_once() -> None:
    w = Wakeup()
    w.set()
    w.set()   # setting twice is harmless
    await w.wait()
    assert w.is_set()


async def test_a_waiting_task_wakes_when_set() -> None:
    w = Wakeup()
    woke: list[bool] = []

    async def waiter() -> None:
        await w.wait()
        woke.append(True)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert woke == []
        w.set()
    assert woke == [True]


async def test_a_cancelled_waiter_stops_waiting_and_a_later_set_is_harmless() -> None:
    w = Wakeup()
    async with anyio.create_task_group() as tg:
        tg.start_soon(w.wait)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    w.set()              # nobody waits any more: nothing to wake, nothing fails
    await w.wait()


async def test_a_timeout_reaches_a_waiter() -> None:
    w = Wakeup()
    with anyio.move_on_after(0.01) as scope:
        await w.wait()
    assert scope.cancelled_caught
    assert not w.is_set()
