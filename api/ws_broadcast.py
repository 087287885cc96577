"""One live log per run for every WebSocket client of this process (issue 10, item 5).

With a :class:`~api.live_log.Feed` per client, each event of a run woke every client's
task, which formatted and encoded it again: 500 clients made a run 13x slower. Here a
run not yet finished that clients watch in the default mode has one
:class:`Broadcast`: one subscription to the run, each message formatted and encoded
once, kept in a window of the last ``window`` messages. Each client is a cursor into
that window and one sender task; a client that falls out of the window is dropped with
a "lagged" notice telling it where to resume. A client's memory is its cursor (the
window is shared), and a client that never reads holds nothing up but itself.

Each message's frame is encoded once as well, and a client's sender writes everything
waiting for it in one write (:mod:`api.ws_wire`). The senders wake in rounds
(:meth:`Broadcast.pace`), not once per message: hundreds of senders woken per event
starved the run's own actors, queued behind them on the event loop.

A client asking for events from before the window's start is first caught up by a
feed of its own, up to where the window begins, then joins it. A finished run has no
broadcast: its log is read by each client alone.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from runtime import Event, Run, Runtime

from .live_log import Dropped, Feed, FeedEnd
from .ws_outbox import BATCH_BYTES, BATCH_WAIT, SharedText
from .ws_wire import Wire, text_frame

__all__ = ["Broadcast", "Broadcasts"]

Send = Callable[[str], Awaitable[None]]

#: The broadcast's own subscription to the run may fall this many events behind
#: before it is dropped (it only formats and appends: it keeps up unless starved).
SUBSCRIPTION_BUFFER = 16_384
#: The clients' senders get at most 1/(1 + PACE) of the event loop: after a round whose
#: writes took t seconds from its start to the last of them, the next round starts no
#: sooner than PACE * t after that (messages appended meanwhile go in the next round,
#: each client's in one write). The run's actors, queued behind hundreds of woken
#: senders, lose at most that share, and a busy run costs a few rounds, not one per event.
PACE = 4.0
#: The longest pause between rounds: the most a large fan-out delays a message.
MAX_PAUSE = 0.1
#: Bytes of frames written to a client at once at most (then the next write): what a
#: sender blocked on a client's full socket holds (on trio until the kernel takes it).
WRITE_CHARS = 64 * 1024


#: One write of :meth:`Broadcast._pending`: its (text, frame) messages and the frames
#: joined (what a plain connection is sent).
_Write = tuple[list[tuple[str, bytes]], bytes]


class Broadcast:
    """The messages of one run, in order, the last ``window`` of them kept."""

    def __init__(self, run_id: str, window: int) -> None:
        self.run_id = run_id
        #: (seq, text, frame): the message and its WebSocket frame, encoded once.
        self._window: deque[tuple[int | None, str, bytes]] = deque(maxlen=window)
        self._first = 0           # index of _window[0] among every message appended
        self._evicted = -1        # the seq of the last message pushed out of the window
        self._changed = anyio.Event()   # something was appended (for :meth:`pace`)
        self._round = anyio.Event()     # the clients' senders wait here for a round
        self._began = time.perf_counter()   # when the last round began
        self._wrote = self._began # when a sender last finished a write
        self._released = 0        # the end of the window when the last round began
        #: The writes :meth:`_pending` made up while the window ended at ``_writes_end``,
        #: by index: the clients that keep up ask for the same one in a round (or for one
        #: of a few, when the run appends during a round), each made up and joined once.
        self._writes: dict[int, tuple[_Write, int, int | None]] = {}
        self._writes_end = 0
        self._urgent = max(1, window // 4)
        self.done = False
        self.ending: Exception | None = None   # None: the run's log ended normally
        self.clients = 0
        self.scope = anyio.CancelScope()
        self.start_seq = 0

    @property
    def end(self) -> int:
        return self._first + len(self._window)

    def append(self, seq: int | None, text: str) -> None:
        if len(self._window) == self._window.maxlen:
            self._first += 1
            evicted = self._window[0][0]
            if evicted is not None:
                self._evicted = evicted
        self._window.append((seq, text, text_frame(text.encode())))
        if self.end - self._released >= self._urgent:
            # Pacing must not push a client that reads out of the window: a round now.
            self._release()
        else:
            self._changed.set()

    def finish(self, ending: Exception | None) -> None:
        self.done = True
        self.ending = ending
        self._changed.set()
        self._round.set()   # the last round is not paced: every client is told now

    async def pace(self) -> None:
        """Wake the clients' senders in rounds, not once per message, and leave the run
        the loop most of the time (:data:`PACE`); runs beside the broadcast's feed."""
        while not self.done:
            await self._changed.wait()
            self._changed = anyio.Event()
            # Measured on the clock, not as the sum of each sender's time: on trio each
            # write yields, and a sender's own span then holds the others' writes too.
            span = max(0.0, self._wrote - self._began)
            pause = min(MAX_PAUSE, self._began + span * (1 + PACE) - time.perf_counter())
            if pause > 0:
                await anyio.sleep(pause)
            if self._released < self.end:
                self._release()

    def _release(self) -> None:
        self._began = time.perf_counter()
        self._released = self.end
        woken, self._round = self._round, anyio.Event()
        woken.set()

    def reaches(self) -> int:
        """The earliest seq a client can join at: every message from it on is held."""
        return max(self.start_seq, self._evicted + 1)

    def join_at(self, seq: int) -> int | None:
        """The index of the first message of ``seq`` or later; None if the window does
        not reach back to it (the client needs its own catch-up first)."""
        if seq < self.reaches():
            return None
        for i, (s, _, _) in enumerate(self._window):
            if s is not None and s >= seq:
                return self._first + i
        return self.end

    async def serve(self, index: int, send: Send, *, resume: int, batch: bool,
                    timeout: float, wire: Wire | None = None) -> None:
        """Send messages from ``index`` until the log ends: through ``wire`` when given
        and open (everything waiting in one write), else one ``send`` per frame. Raises
        Dropped when the client fell out of the window or a send blocked past ``timeout``
        (``resume``: the first seq it has not had), FeedEnd on a release, and what ended
        the broadcast otherwise."""
        with anyio.CancelScope() as scope:
            while True:
                self._check_held(index, resume)
                if index < self.end:
                    first = self._window[index - self._first][0]
                    if first is not None:
                        resume = first
                    woken, stop = self._round, self.end
                    if wire is not None and wire.open():
                        write, index, last = self._pending(index, batch)
                        rest = wire.write_now(write[0], write[1])
                        if rest is not None:
                            # Only a write that may block gets a deadline: on trio each
                            # one set and cleared is two changes of the deadline heap,
                            # per client and round (15% of the server's time, profiled).
                            scope.deadline = anyio.current_time() + timeout
                            await rest
                    else:
                        scope.deadline = anyio.current_time() + timeout
                        # One send a frame: everything there was when the round began.
                        while index < stop:
                            self._check_held(index, resume)
                            frame, index, last = self._frame(index, batch)
                            await send(frame)
                            resume = resume if last is None else last + 1
                    self._wrote = time.perf_counter()
                    if scope.deadline != math.inf:
                        scope.deadline = math.inf
                    if last is not None:
                        resume = last + 1
                    if index >= stop and woken is self._round and not self.done:
                        # Caught up, one write a round: what the run appended while this
                        # one was written (a write yields on trio) waits for the next
                        # round. A client further behind than one write goes on now.
                        await woken.wait()
                    continue
                if self.done:
                    self._raise_ending(resume)
                    return
                await self._round.wait()
                if batch and not self.done:
                    await anyio.sleep(BATCH_WAIT)
        raise Dropped(resume, f"a send blocked for more than {timeout}s")

    def _check_held(self, index: int, resume: int) -> None:
        """Dropped when the message at ``index`` has left the window."""
        if index < self._first:
            raise Dropped(resume, f"more than {self._window.maxlen} messages were waiting "
                          "for it")

    def _raise_ending(self, resume: int) -> None:
        """What ended the broadcast, raised for a client that has had all of it."""
        if isinstance(self.ending, Dropped):
            raise Dropped(resume, self.ending.reason)   # from where this client is
        if self.ending is not None:
            raise self.ending

    def _pending(self, index: int, batch: bool) -> tuple[_Write, int, int | None]:
        """The messages from ``index`` for one write (up to :data:`WRITE_CHARS`; a batch
        client's as its batch frame) with their frames joined, the index after them,
        their last seq."""
        if batch:
            text, after, batch_last = self._frame(index, batch)
            frame = text_frame(text.encode())
            return ([(text, frame)], frame), after, batch_last
        if self._writes_end != self.end:
            self._writes.clear()
            self._writes_end = self.end
        else:
            cached = self._writes.get(index)
            if cached is not None:
                return cached
        window = self._window
        at = index - self._first
        messages: list[tuple[str, bytes]] = []
        size = 0
        last: int | None = None
        while at < len(window) and (not messages or size <= WRITE_CHARS):
            seq, text, frame = window[at]
            messages.append((text, frame))
            size += len(frame)
            if seq is not None:
                last = seq
            at += 1
        made: _Write = (messages, b"".join([frame for _, frame in messages]))
        found = (made, self._first + at, last)
        self._writes[index] = found
        return found

    def _frame(self, index: int, batch: bool) -> tuple[str, int, int | None]:
        """The next frame from ``index``: its text, the index after it, its last seq."""
        at = index - self._first
        if not batch or index + 1 == self.end:
            return self._window[at][1], index + 1, self._window[at][0]
        parts: list[str] = []
        size = 0
        last: int | None = None
        while at < len(self._window) and (not parts or size + len(self._window[at][1])
                                          <= BATCH_BYTES):
            seq, text, _ = self._window[at]
            parts.append(text)
            size += len(text)
            last = seq if seq is not None else last
            at += 1
        frame = '{"type": "batch", "messages": [' + ", ".join(parts) + "]}"
        return frame, self._first + at, last


class Broadcasts:
    """This process's broadcasts, by run; their tasks belong to ``task_group``."""

    def __init__(self, task_group: anyio.abc.TaskGroup, texts: SharedText, window: int
                 ) -> None:
        self._tg = task_group
        self._texts = texts
        self._window = window
        self._casts: dict[str, Broadcast] = {}

    @property
    def texts(self) -> SharedText:
        """The process's encoder, for the clients with feeds of their own too."""
        return self._texts

    async def attach(self, runtime: Runtime, run_id: str, run: Run | None, *,
                     draining: Callable[[], bool],
                     on_sent: Callable[[Event], None]) -> Broadcast:
        """The run's broadcast (started now if it has none); :meth:`detach` after.
        ``run``: its handle when it executes here (the broadcast then starts at its
        next event), else None (it starts from the first, read from the store)."""
        cast = self._casts.get(run_id)
        if cast is None or cast.done:
            cast = self._casts[run_id] = Broadcast(run_id, self._window)
            cast.start_seq = run.hub.next_seq if run is not None else 0
            await self._tg.start(self._follow, cast, runtime, run, draining, on_sent)
        cast.clients += 1
        return cast

    def detach(self, cast: Broadcast) -> None:
        cast.clients -= 1
        if cast.clients <= 0:
            # Nobody reads it: stop following the run (a later client starts anew).
            cast.scope.cancel()
            if self._casts.get(cast.run_id) is cast:
                del self._casts[cast.run_id]

    async def _follow(self, cast: Broadcast, runtime: Runtime, run: Run | None,
                      draining: Callable[[], bool], on_sent: Callable[[Event], None],
                      *, task_status: anyio.abc.TaskStatus[None]) -> None:
        texts = self._texts

        async def append(message: dict[str, Any]) -> None:
            seq = message.get("seq")
            cast.append(seq if isinstance(seq, int) else None, texts.text(cast.run_id, message))

        feed = Feed(cast.run_id, append, follow=runtime.events, store=runtime.store, run=run,
                    buffer=SUBSCRIPTION_BUFFER, draining=draining, on_sent=on_sent)
        ending: Exception | None = None
        try:
            with cast.scope:
                task_status.started()
                async with anyio.create_task_group() as pacer:
                    pacer.start_soon(cast.pace)
                    try:
                        await feed.stream(cast.start_seq)
                    except (Dropped, FeedEnd) as exc:
                        ending = exc
                    except Exception as exc:  # noqa: BLE001 - every client is told, then it ends
                        ending = exc
                    finally:
                        pacer.cancel_scope.cancel()
        finally:
            # Also when the server stops following (no client left, or shutting down):
            # a client still waiting is told to come back rather than left waiting.
            if ending is None and not feed.completed:
                ending = FeedEnd(cast.start_seq)
            cast.finish(ending)
            if self._casts.get(cast.run_id) is cast:
                del self._casts[cast.run_id]
