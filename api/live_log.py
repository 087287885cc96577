"""The WebSocket live log of one run: run events turned into the seed's messages (the engine's
feed of events is :mod:`runtime.feed`; this module only formats and sends them).

Messages (every one carries ``seq``, the run event's sequence number)::

    {"type": "log", "seq": 3, "event": "node_completed", "node": "extract",
     "status": "completed", "timestamp": "...", "error": null, "data": {...}}
    {"type": "error", "seq": 9, "message": "node 'analyze' failed ...", "node": "analyze",
     "error_type": "RunFailed"}                                   # the run failed
    {"type": "complete", "seq": 9, "status": "completed", "final_state": {...},
     "error": null}                                                 # always last
    {"type": "waiting", "seq": 5, "node": "approve",
     "interrupt": {"id": "approve:3:1", "kind": "ask", "node": "approve", "payload": ...}}
    {"type": "resumed", "seq": 6, "node": "approve", "interrupt_id": "approve:3:1"}
    {"type": "released", "seq": 7, "resume_from": 8, "message": "..."}   # server restart
    {"type": "error", "code": "lagged", "resume_from": 120, "message": "..."}  # too slow

What else a client receives is chosen with ``?mode=`` (several, comma-separated; the
default is ``debug``, the seed's feed as above):

- ``debug``: a ``log`` message per run event (as above);
- ``updates``: ``{"type": "update", "seq", "node", "update": {key: new value}}`` per write,
  plus ``"append": {key: [items]}`` for a list that only grew (its new items);
- ``values``: ``{"type": "values", "seq", "node", "data": {...}}``, the whole ``data``
  after each write;
- ``tokens``: ``{"type": "token", "seq", "node", "call_id", "index", "text"}``, a model's
  output as it is written (live only: a client that connects later gets the node's
  final update, not the tokens);
- ``custom``: ``{"type": "custom", "seq", "node", "kind", "payload"}``, what nodes
  ``ctx.emit`` (live only too).

``waiting``, ``resumed``, ``released``, ``error`` and ``complete`` are sent in every mode.
With ``?batch=true`` the messages travel in ``{"type": "batch", "messages": [...]}``
frames (:mod:`api.ws_outbox`); the clients of a run not yet finished share one feed of
it (:mod:`api.ws_broadcast`).
A live message's ``seq`` is that of the last stored event before it.

Events come from ``Runtime.events``: a run this process executes is streamed from its
event hub (replay from ``since``, then live); a run that waits for an answer is
followed across its pause and resume; any other run is replayed from the store, and
followed by polling the store while it is still active elsewhere.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from runtime import Event, EventType, Run, RunStatus, RunView, Store, SubscriberLagged

__all__ = ["DEFAULT_MODES", "MODES", "Dropped", "Feed", "FeedEnd", "log_message",
           "parse_modes"]

#: What ``?mode=`` may list, and what a client gets without it.
MODES = ("values", "updates", "tokens", "custom", "debug")
DEFAULT_MODES = frozenset({"debug"})


def parse_modes(text: str | None) -> frozenset[str]:
    """The modes of ``?mode=a,b``; ValueError naming what is unknown."""
    if text is None or not text.strip():
        return DEFAULT_MODES
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"unknown mode {', '.join(map(repr, bad))}; use any of "
                         f"{', '.join(MODES)}, comma-separated")
    return frozenset(modes)

_STATUS = {
    EventType.NODE_STARTED: "started", EventType.NODE_COMPLETED: "completed",
    EventType.NODE_FAILED: "failed", EventType.NODE_RETRYING: "retrying",
}

Send = Callable[[dict[str, Any]], Awaitable[None]]
Follow = Callable[..., AsyncIterator[Event]]   # Runtime.events(run_id, since, buffer=)


class Dropped(Exception):
    """The client could not keep up (lagged, or a send blocked too long)."""

    def __init__(self, resume_from: int, reason: str) -> None:
        super().__init__(reason)
        self.resume_from = resume_from
        self.reason = reason


class FeedEnd(Exception):
    """The feed ended by a release (server shutdown): the client should reconnect later."""

    def __init__(self, resume_from: int) -> None:
        super().__init__("released")
        self.resume_from = resume_from


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def log_message(event: Event) -> dict[str, Any]:
    """The seed's ``log`` message for a non-terminal event."""
    error = event.data.get("error")
    return {
        "type": "log", "seq": event.seq, "event": event.type.value, "node": event.node,
        "status": _STATUS.get(event.type, event.type.value), "timestamp": _iso(event.ts),
        "error": None if error is None else str(error),
        # The node's whole input state stays out of the live log (it is in the run's
        # logs and history); the rest of the event is sent as is.
        "data": event.data if "input" not in event.data
        else {k: v for k, v in event.data.items() if k != "input"},
    }


class Feed:
    """Streams one run's events to ``send`` until the run ends.

    ``send`` must raise :class:`Dropped` itself when a send blocks too long.
    """

    def __init__(self, run_id: str, send: Send, *, follow: Follow, store: Store,
                 run: Run | None, buffer: int, draining: Callable[[], bool] = lambda: False,
                 on_sent: Callable[[Event], None] | None = None,
                 modes: frozenset[str] = DEFAULT_MODES) -> None:
        self.run_id = run_id
        self._follow = follow
        self._send = send
        self._store = store
        self._run = run
        self._buffer = buffer
        self._on_sent = on_sent
        self._draining = draining
        self._modes = modes
        self._values: dict[str, Any] | None = {} if "values" in modes else None
        self.next_seq = 0
        #: The closing ``complete`` message was sent (the run's log is over).
        self.completed = False

    async def stream(self, since: int, until: int | None = None) -> None:
        """Replay from ``since``, then live events, then the closing messages; with
        ``until``, only the events before it (no closing messages: another feed goes on
        from there, as :mod:`api.ws_broadcast` does).

        Raises Dropped (client too slow) or FeedEnd (run released by a shutdown).
        """
        # ``values`` needs the whole data: read from the start, send from ``since``.
        self.next_seq = 0 if self._values is not None else since
        async with aclosing(self._followed()) as events:
            if await self._each(events, since, until):
                await self._finish_without_event()

    async def _each(self, events: AsyncIterator[Event], since: int, until: int | None
                    ) -> bool:
        """Send the events; False when they stopped at ``until`` or an outcome."""
        async for event in events:
            if event.live:
                await self._live(event)
                continue
            if event.seq < self.next_seq:
                continue
            if until is not None and event.seq >= until:
                return False
            self.next_seq = event.seq + 1
            if event.seq < since:
                self._track(event)
                continue
            if event.type is EventType.RUN_RELEASED and self._released_here():
                await self._send({"type": "released", "seq": event.seq,
                                  "resume_from": event.seq + 1,
                                  "message": "the server is shutting down; the run resumes "
                                  "when it restarts: reconnect with ?since="
                                  f"{event.seq + 1}"})
                raise FeedEnd(event.seq + 1)
            outcome = event.type.outcome
            if outcome is not None and outcome.finished:
                await self._finish(event, outcome)
                return False
            if event.type is EventType.WAITING:
                await self._send({"type": "waiting", "seq": event.seq, "node": event.node,
                                  "interrupt": event.data.get("interrupt"),
                                  "timestamp": _iso(event.ts)})
            elif event.type is EventType.RESUMED:
                await self._send({"type": "resumed", "seq": event.seq, "node": event.node,
                                  "interrupt_id": event.data.get("interrupt_id"),
                                  "timestamp": _iso(event.ts)})
            else:
                await self._modal(event)
            if self._on_sent is not None:
                self._on_sent(event)
        return until is None

    def _track(self, event: Event) -> None:
        """Keep the whole data up to date for ``values``."""
        if self._values is None:
            return
        if event.type is EventType.RUN_STARTED:
            self._values = dict(event.data.get("input") or {})
        elif event.type is EventType.STATE_UPDATED:
            values = self._values
            values.update(event.data.get("update") or {})
            # A grown list comes as its new items (runtime.updates).
            for key, items in (event.data.get("append") or {}).items():
                values[key] = [*(values.get(key) or ()), *items]

    async def _modal(self, event: Event) -> None:
        """The messages an ordinary event makes in the client's modes."""
        modes = self._modes
        if "debug" in modes:
            await self._send(log_message(event))
        self._track(event)
        if event.type is not EventType.STATE_UPDATED:
            return
        if "updates" in modes:
            append = event.data.get("append")
            await self._send({"type": "update", "seq": event.seq, "node": event.node,
                              "update": event.data.get("update") or {},
                              **({"append": append} if append else {}),
                              "timestamp": _iso(event.ts)})
        if self._values is not None:
            await self._send({"type": "values", "seq": event.seq, "node": event.node,
                              "data": dict(self._values), "timestamp": _iso(event.ts)})

    async def _live(self, event: Event) -> None:
        d = event.data
        if event.type is EventType.TOKEN and "tokens" in self._modes:
            await self._send({"type": "token", "seq": event.seq, "node": event.node,
                              "call_id": d.get("call_id"), "index": d.get("index"),
                              "text": d.get("text")})
        elif event.type is EventType.CUSTOM and "custom" in self._modes:
            await self._send({"type": "custom", "seq": event.seq, "node": event.node,
                              "kind": d.get("kind"), "payload": d.get("payload")})

    def _released_here(self) -> bool:
        """A release ends the feed only if it is this process letting the run go now
        (it is shutting down); an earlier release, which the run has resumed from since,
        is replayed as a log entry."""
        return self._draining()

    async def _followed(self) -> AsyncGenerator[Event, None]:
        try:
            async for event in self._follow(self.run_id, self.next_seq, buffer=self._buffer):
                yield event
        except SubscriberLagged as exc:
            raise Dropped(exc.resume_from, str(exc)) from exc

    async def _finish(self, event: Event, outcome: RunStatus) -> None:
        status = outcome.value
        if event.type is EventType.RUN_COMPLETED:
            final = dict((event.data.get("state") or {}).get("data") or {})
        else:
            final = await self._final_data()
        error = event.data.get("error")
        if event.type is EventType.RUN_FAILED:
            await self._send({"type": "error", "seq": event.seq, "message": error,
                              "node": event.node, "error_type": event.data.get("error_type")})
        self.completed = True
        await self._send({"type": "complete", "seq": event.seq, "status": status,
                          "final_state": final, "error": error,
                          "timestamp": _iso(event.ts)})

    async def _finish_without_event(self) -> None:
        """The events ended without an outcome event (e.g. cancelled while not executing)."""
        record = await self._store.get_run(self.run_id)
        status = record.status if record is not None else "unknown"
        if self._run is not None and self._run.status.finished:
            status = self._run.status.value
        self.completed = True
        await self._send({"type": "complete", "seq": self.next_seq - 1, "status": status,
                          "final_state": await self._final_data(),
                          "error": record.error if record is not None else None,
                          "timestamp": _iso(time.time())})

    async def _final_data(self) -> dict[str, Any]:
        if self._run is not None:
            return dict(self._run.state.data)
        record = await self._store.get_run(self.run_id)
        return RunView.of_record(record).data if record is not None else {}
