"""What one WebSocket client of the live log is owed, and the one task that sends it.

Many clients may watch one run. Each message is encoded once for all of them
(:class:`SharedText`: every client's outbox holds the same ``str``), the run's feed
hands it to each client's :class:`Outbox` without waiting for any socket, and each
client's sender writes at its own pace. A client that falls more than ``limit``
messages (or ``limit_bytes``) behind is dropped with a "lagged" notice telling it
where to resume, so a client that never reads costs a bounded amount of memory and
never slows the run or the other clients.

In batch mode (``?batch=true``) a client gets everything waiting for it in one frame,
``{"type": "batch", "messages": [...]}``: a replay of thousands of events is a handful
of frames, and a busy run costs each such client one frame per turn of its sender,
not one per event. Every frame such a client gets is a batch frame, one message or
many (:func:`batch_frame`), its last one included.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .live_log import Dropped

__all__ = ["BATCH_BYTES", "BATCH_WAIT", "Outbox", "SharedText", "batch_frame", "bounded"]

#: Largest batch frame, in characters of its messages (one message may be larger; it
#: then goes alone). Small enough for any client's frame limit, large enough that a
#: replay of a long run is a few frames.
BATCH_BYTES = 1024 * 1024
#: Characters queued for one client at most (beside ``limit`` messages). Messages
#: shared with other clients are counted in full although they are held once.
OUTBOX_BYTES = 16 * 1024 * 1024
#: Seconds a batch client's sender waits after the first message, gathering the next
#: ones into the same frame: a live run's events then cost it a frame per turn, not
#: one per event, for this much latency.
BATCH_WAIT = 0.025
#: Messages whose text depends on the event only, kept for the other clients.
_SHARED_TYPES = frozenset({"log", "waiting", "resumed", "update"})


class SharedText:
    """Message to text, bounded in size, encoded once per event for every client of
    the process (the same ``str`` object is queued for each of them)."""

    def __init__(self, limit: int, size: int = 4096) -> None:
        self.limit = limit
        self._size = size
        self._texts: OrderedDict[tuple[str, int, str, str], str] = OrderedDict()

    def text(self, run_id: str, message: dict[str, Any]) -> str:
        kind = message.get("type")
        seq = message.get("seq")
        if kind not in _SHARED_TYPES or not isinstance(seq, int):
            return bounded(json.dumps(message, default=str), message, self.limit)
        key = (run_id, seq, str(kind), str(message.get("event")))
        found = self._texts.get(key)
        if found is None:
            found = bounded(json.dumps(message, default=str), message, self.limit)
            self._texts[key] = found
            if len(self._texts) > self._size:
                self._texts.popitem(last=False)
        return found


def bounded(text: str, message: dict[str, Any], limit: int) -> str:
    """The message, or a stub in its place when it is larger than ``limit`` bytes: one
    huge state must not be queued to every client watching the run."""
    size = len(text) if text.isascii() else len(text.encode())
    if size <= limit:
        return text
    stub: dict[str, Any] = {k: message[k] for k in ("type", "seq", "event", "node", "status",
                                                    "run_id") if k in message}
    stub.update(truncated=True, bytes=size, message=(
        f"this message is {size} bytes, above the limit ws_max_event_bytes={limit}; read "
        "the run's state over HTTP (GET /api/v1/runs/{run_id})"))
    return json.dumps(stub)


class Outbox:
    """One client's queue of encoded messages: filled by the feed without waiting,
    emptied by :meth:`drain`."""

    def __init__(self, *, limit: int, batch: bool, send_timeout: float,
                 limit_bytes: int = OUTBOX_BYTES) -> None:
        self._queue: deque[tuple[int | None, str]] = deque()
        self._chars = 0
        self._limit = limit
        self._limit_bytes = limit_bytes
        self._batch = batch
        self._timeout = send_timeout
        self._ready = anyio.Event()
        self._room = anyio.Event()
        self._closed = False
        #: The first sequence number this client has not been sent (where to resume).
        self.unsent = 0
        self._frame_first: int | None = None   # of the frame being sent

    async def put(self, seq: int | None, text: str) -> None:
        """Queue a message, waiting while the outbox is full. The feed waiting here
        never holds up the run: the run's events pile up in the feed's own bounded
        subscription instead, which drops this client as lagged when it overflows."""
        while self._queue and (len(self._queue) >= self._limit
                               or self._chars + len(text) > self._limit_bytes):
            self._room = anyio.Event()
            await self._room.wait()
        self._queue.append((seq, text))
        self._chars += len(text)
        self._ready.set()

    def close(self) -> None:
        """Nothing more will be queued: :meth:`drain` returns once all is sent."""
        self._closed = True
        self._ready.set()

    def abandon(self, resume_from: int) -> int:
        """Forget what is queued (the client is dropped); where it must resume."""
        first = min(self._resume_from(), resume_from)
        self._queue.clear()
        self._chars = 0
        self.close()
        return first

    def _resume_from(self) -> int:
        for seq, _ in self._queue:
            if seq is not None:
                return seq
        return self.unsent

    async def drain(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send until closed and empty. Raises Dropped when one send blocks longer than
        the send timeout (the client stopped reading)."""
        with anyio.CancelScope() as scope:
            while True:
                if not self._queue:
                    if self._closed:
                        return
                    # A wake-up call only: what to do is read from the queue, above.
                    await self._ready.wait()
                    self._ready = anyio.Event()
                    if self._batch and not self._closed:
                        await anyio.sleep(BATCH_WAIT)
                    continue
                # One deadline per frame, not a scope per send: the timeout is the
                # same, at a fraction of the cost with hundreds of clients.
                scope.deadline = anyio.current_time() + self._timeout
                frame = self._next_frame()
                self._room.set()
                await send(frame)
                scope.deadline = math.inf
        raise Dropped(self._frame_first if self._frame_first is not None
                      else self._resume_from(), f"a send blocked for more than {self._timeout}s")

    def _next_frame(self) -> str:
        self._frame_first = next((seq for seq, _ in self._queue if seq is not None), None)
        if not self._batch:
            seq, text = self._queue.popleft()
            self._sent(seq, text)
            return text
        parts: list[str] = []
        size = 0
        while self._queue and (not parts or size + len(self._queue[0][1]) <= BATCH_BYTES):
            seq, text = self._queue.popleft()
            self._sent(seq, text)
            parts.append(text)
            size += len(text)
        return batch_frame(parts)

    def _sent(self, seq: int | None, text: str) -> None:
        self._chars -= len(text)
        if seq is not None:
            self.unsent = seq + 1


def batch_frame(messages: list[str]) -> str:
    """The frame a batch client gets for these encoded messages, in order."""
    return '{"type": "batch", "messages": [' + ", ".join(messages) + "]}"
