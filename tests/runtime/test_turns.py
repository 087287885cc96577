"""One turn of the event loop when one is due, the backend's own checkpoint
(runtime.turns)."""

from __future__ import annotations

import anyio
import pytest
import sniffio

from runtime.turns import turns


async def test_a_turn_lets_a_ready_task_run() -> None:
    turn = turns()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        assert ran == []
        # Without yielding, the spawned task could not have run yet.
        for _ in range(3):
            assert turn.due()
            await turn.take()
        assert ran == ["other"]


async def test_a_cancelled_scope_stops_a_task_at_its_next_turn() -> None:
    turn = turns()
    after: list[bool] = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        assert turn.due()
        await turn.take()
        after.append(True)
    assert scope.cancelled_caught
    assert after == []


async def test_a_turn_is_due_unless_the_task_yielded_since_and_is_not_cancelled() -> None:
    trio = sniffio.current_async_library() == "trio"
    turn = turns()
    assert turn.due()                     # nothing since the task's turns began
    await turn.take()
    assert turn.due()                     # the turn's own yield does not count
    await anyio.sleep(0)                  # a yield
    assert turn.due() is not trio         # (asyncio cannot tell: always due)
    assert turn.due()                     # a skipped turn starts the count again
    await anyio.lowlevel.checkpoint_if_cancelled()        # no yield
    assert turn.due()
    await anyio.lowlevel.cancel_shielded_checkpoint()     # a yield, shielded
    assert turn.due() is not trio
    await anyio.sleep(0.001)              # a real wait
    assert turn.due() is not trio
    with anyio.CancelScope() as scope:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0)          # yielded, and then cancelled: the turn is
            scope.cancel()                # where the cancellation reaches the task
        assert turn.due()
        await turn.take()
        raise AssertionError("the turn did not raise the cancellation")
    assert scope.cancelled_caught


@pytest.mark.backends("trio")
async def test_without_trios_task_counters_every_turn_is_taken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A trio whose tasks no longer count their yields: the turn is always due.
    import trio

    class Bare:
        pass

    monkeypatch.setattr(trio.lowlevel, "current_task", Bare)
    turn = turns()
    monkeypatch.undo()
    await anyio.sleep(0)
    assert turn.due()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await turn.take()
        raise AssertionError("the turn did not raise the cancellation")
    assert scope.cancelled_caught
