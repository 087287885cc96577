"""One turn of the event loop, the backend's own checkpoint (runtime.turns)."""

from __future__ import annotations

import anyio

from runtime.turns import turn_taker


async def test_a_turn_lets_a_ready_task_run() -> None:
    turn = turn_taker()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        assert ran == []
        # Without yielding, the spawned task could not have run yet.
        for _ in range(3):
            await turn()
        assert ran == ["other"]


async def test_a_cancelled_scope_stops_a_task_at_its_next_turn() -> None:
    turn = turn_taker()
    after: list[bool] = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        await turn()
        after.append(True)
    assert scope.cancelled_caught
    assert after == []
