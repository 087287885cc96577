"""A one-shot wake-up for one waiting task: the cheapest wait both backends allow.

A run's supervisor waits for its nodes once per node execution, and an idle worker
waits for its next node once per node execution. ``anyio.Event`` does the job but
is built for any number of waiters: on asyncio it wraps an ``asyncio.Event`` (with
its waiter deque, ~600 bytes) and two coroutines; on trio a ``trio.Event`` and its
parking lot. With a thousand runs in flight that is a few thousand objects alive
at every instant, made again for every node, and walked by every collection.

:class:`Wakeup` parks the one task that waits on the backend's own primitive: an
asyncio future, or trio's ``wait_task_rescheduled``. Cancellation reaches the
waiter as it reaches any wait (anyio cancels an asyncio task waiting on a future;
trio aborts the park).
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.lowlevel
import sniffio

__all__ = ["Wakeup"]


class Wakeup:
    """Set once; ``wait()`` (by one task at a time) returns once it is set."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: Any = None   # the parked asyncio future or trio task, if any

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiter, self._waiter = self._waiter, None
        if waiter is None:
            return
        if isinstance(waiter, asyncio.Future):
            if not waiter.done():
                waiter.set_result(None)
        else:
            import trio

            trio.lowlevel.reschedule(waiter)

    async def wait(self) -> None:
        if self._set:
            await anyio.lowlevel.checkpoint()   # as waiting on a set event would
            return
        if sniffio.current_async_library() == "trio":
            await self._park_trio()
            return
        future = asyncio.get_running_loop().create_future()
        self._waiter = future
        try:
            await future
        finally:
            if self._waiter is future:
                self._waiter = None

    async def _park_trio(self) -> None:
        import trio

        self._waiter = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            # Cancelled while parked: never reschedule this task for this wait.
            self._waiter = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
