"""One turn of the event loop, as the backend itself yields it, when a turn is due.

A supervisor that executes a chain of nodes inline yields once per node execution (see
``Supervisor._loop``), so that a run of nodes that never wait still lets the other
tasks run, and its timeout and cancellation reach it. ``anyio.lowlevel.checkpoint()``
finds the backend (sniffio, a context variable and a dict look-up) and goes through
two wrapping coroutines before the backend's own yield, at every call: :func:`turns`
looks the backend's own checkpoint up once per run instead. It is the very call anyio
makes (``asyncio.sleep(0)``, ``trio.lowlevel.checkpoint()``), so cancellation reaches
it as it reaches anyio's.

A node that waited on something (a sleep, a socket, a lock) has already done what the
turn is for: the other tasks ran meanwhile. Under trio the task counts its yields to
the scheduler (its schedule points) and knows whether it is cancelled, so the turn
after a node that yielded is skipped unless the task is cancelled (then the turn is
where the cancellation reaches it, as before: a node that swallowed it does not let
the run go on): a task step and a scheduler pass less per node execution, the most
a trio run of waiting nodes pays beside the waits themselves. asyncio counts nothing
of the kind; its turn is always taken (there it is a callback, not a pass).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import sniffio

__all__ = ["Turns", "turns"]


class Turns(Protocol):
    """The turns of one task: ``if t.due(): await t.take()`` before each inline node."""

    def due(self) -> bool:
        """Whether the task must yield now (else it has, and checked for cancellation,
        since its last turn)."""
        ...

    def take(self) -> Awaitable[None]:
        """The turn: the backend's checkpoint."""
        ...


class _EveryTurn:
    """Every turn due: asyncio's (which cannot tell whether a node yielded), or trio's
    without the task's count and status (a trio that no longer has them)."""

    __slots__ = ("take",)

    def __init__(self, checkpoint: Callable[[], Awaitable[None]]) -> None:
        self.take = checkpoint

    def due(self) -> bool:
        return True


def _asyncio_turn() -> Awaitable[None]:
    # Returns asyncio's coroutine itself: no coroutine of our own per turn.
    return asyncio.sleep(0)


class _TrioTurns:
    """trio: due unless the task has yielded to the scheduler since its last turn and is
    not cancelled (the task's own schedule-point count, which
    ``trio.testing.assert_checkpoints`` reads, and its cancel status)."""

    __slots__ = ("_checkpoint", "_task", "_yields")

    def __init__(self, task: Any, checkpoint: Any) -> None:
        self._task = task
        self._checkpoint = checkpoint
        self._yields: int = task._schedule_points

    def due(self) -> bool:
        task = self._task
        yields = task._schedule_points
        if yields != self._yields and not task._cancel_status.effectively_cancelled:
            self._yields = yields
            return False
        return True

    async def take(self) -> None:
        await self._checkpoint()
        # (Counted from after the turn: its own yield is not the next node's.)
        self._yields = self._task._schedule_points


_ASYNCIO_TURNS = _EveryTurn(_asyncio_turn)


def turns() -> Turns:
    """The turns of the calling task, on the backend running it."""
    if sniffio.current_async_library() != "trio":
        return _ASYNCIO_TURNS
    import trio

    task = trio.lowlevel.current_task()
    status = getattr(task, "_cancel_status", None)
    if isinstance(getattr(task, "_schedule_points", None), int) and isinstance(
            getattr(status, "effectively_cancelled", None), bool):
        return _TrioTurns(task, trio.lowlevel.checkpoint)
    return _EveryTurn(trio.lowlevel.checkpoint)
