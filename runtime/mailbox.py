"""The supervisor's mailbox: where a run's node workers report, read in batches.

A memory object stream did this job, but its ``receive()`` is made for one item per
call from any of several readers: each wait costs a scheduling round trip
(``checkpoint()``) before it even looks, then a ``WouldBlock`` with two tracebacks
kept alive for the whole wait, an item receiver and a set of waiters. With a
thousand runs in flight, a thousand of those stay alive at every instant, each one
walked by every collection of the garbage collector, and they are made again for
each node execution.

This mailbox has one reader (the supervisor), never blocks a sender, and hands the
reader everything that has arrived at once: a deque (made on the first send: a run
whose nodes the supervisor executes itself gets none, and an empty deque is ~600
bytes), and one wake-up (runtime.wakeup) made only when the reader finds it empty and
waits.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, Protocol, TypeVar

import anyio
import anyio.lowlevel

from .wakeup import Wakeup

__all__ = ["Mailbox", "Outbox"]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Outbox(Protocol[T_contra]):
    """The sending side of a mailbox, as a node worker sees it."""

    def send_nowait(self, item: T_contra) -> None:
        """Deliver ``item`` now; never blocks."""


class Mailbox(Generic[T]):
    """An unbounded single-reader mailbox. Closing it (``close()``) refuses later sends
    with ``anyio.ClosedResourceError``, as a closed memory object stream does."""

    __slots__ = ("_closed", "_items", "_wakeup")

    def __init__(self) -> None:
        self._items: deque[T] | None = None   # made on the first send
        self._wakeup: Wakeup | None = None   # set while the reader waits
        self._closed = False

    def send_nowait(self, item: T) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        items = self._items
        if items is None:
            items = self._items = deque()
        items.append(item)
        wakeup = self._wakeup
        if wakeup is not None:
            self._wakeup = None
            wakeup.set()

    def take_all(self) -> list[T]:
        """Everything that has arrived, oldest first (empty if nothing has)."""
        items = self._items
        if not items:
            return []
        got = list(items)
        items.clear()
        return got

    async def wait(self) -> None:
        """Return once something has arrived (at once if it already has). Cancellable:
        where cancellation reaches a supervisor waiting for its nodes."""
        if self._items:
            return
        # Let what is ready run first (the run's nodes, often about to report): what
        # arrives meanwhile is taken without parking, and in a ping-pong between the
        # supervisor and one node, wake-up and report share a turn of the event loop
        # (parking first costs a turn more per node execution: W1).
        await anyio.lowlevel.checkpoint()
        if self._items:
            return
        wakeup = self._wakeup = Wakeup()
        try:
            await wakeup.wait()
        finally:
            if self._wakeup is wakeup:
                self._wakeup = None

    def close(self) -> None:
        self._closed = True
