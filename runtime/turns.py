"""One turn of the event loop, as the backend itself yields it.

``anyio.lowlevel.checkpoint()`` finds the backend (sniffio, a context variable and a
dict look-up) and goes through two wrapping coroutines before the backend's own
yield, at every call. A supervisor that executes a chain of nodes inline yields once
per node execution (see ``Supervisor._loop``): it looks the backend's own checkpoint
up once per run instead. It is the very call anyio makes (``asyncio.sleep(0)``,
``trio.lowlevel.checkpoint()``), so cancellation reaches it as it reaches anyio's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import sniffio

__all__ = ["turn_taker"]


def _asyncio_turn() -> Awaitable[None]:
    # Returns asyncio's coroutine itself: no coroutine of our own per turn.
    return asyncio.sleep(0)


def turn_taker() -> Callable[[], Awaitable[None]]:
    """The checkpoint of the backend running the calling task."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.checkpoint
    return _asyncio_turn
