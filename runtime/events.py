"""Typed, sequence-numbered run events, and the hub that fans them out.

Every run has one :class:`EventHub`. The supervisor (and its node actors, which
share its thread) publish into it; any number of subscribers read from it. A
subscriber first gets a replay from the sequence number it asks for, then live
events. Each subscriber has a bounded buffer: publishing never waits, and a
subscriber that falls more than ``buffer`` events behind is dropped and told to
resume from its last sequence number (:class:`SubscriberLagged`). A slow reader
can therefore never slow the run or the other readers.

*Live* events (``token``: a model's output as it is written; ``custom``: what a node
emits with ``ctx.emit``) reach the subscribers of the moment and nobody else: they
are not kept, not stored and not replayed (the node's final update is). They take no
sequence number of their own: ``seq`` is that of the last kept event (``-1`` before
any), so a reader's "resume from ``seq + 1``" stays right after them too.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from .errors import SubscriberLagged
from .status import RunStatus

__all__ = ["DEFAULT_SUBSCRIBER_BUFFER", "EVENTS_KEPT_AFTER_CLOSE", "OUTCOMES", "Event",
           "EventHub", "EventRow", "EventType", "Publisher", "event_row", "shape"]

#: Events a subscriber may fall behind before it is dropped. Large enough that a
#: reader doing ordinary I/O (a WebSocket send) never lags on a normal run, small
#: enough that a reader that never reads costs at most this many references.
DEFAULT_SUBSCRIBER_BUFFER = 1024
#: Events a closed hub keeps in memory when older ones can be read back (``history``):
#: a finished run kept by the runtime costs this much, whatever its length.
EVENTS_KEPT_AFTER_CLOSE = 64


class EventType(str, Enum):
    RUN_STARTED = "run_started"
    RUN_RESUMED = "run_resumed"
    NODE_STARTED = "node_started"
    NODE_RETRYING = "node_retrying"
    NODE_COMPLETED = "node_completed"
    NODE_FAILED = "node_failed"
    STATE_UPDATED = "state_updated"
    LOG = "log"
    WAITING = "waiting"
    RESUMED = "resumed"
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    RUN_CANCELLED = "run_cancelled"
    RUN_RELEASED = "run_released"
    TOKEN = "token"           # live only: part of a model's output, as written
    CUSTOM = "custom"         # live only: ctx.emit(kind, payload)

    @property
    def terminal(self) -> bool:
        """Ends the run's stream in this process (the run may go on elsewhere: released)."""
        return self in OUTCOMES

    @property
    def outcome(self) -> RunStatus | None:
        """The status a run is left in by this event, for the events that end a run."""
        return OUTCOMES.get(self)


#: The events that end a run's stream, and the status each leaves the run in (a released
#: run goes back to pending: a runtime on the same store takes it up again).
OUTCOMES: dict[EventType, RunStatus] = {
    EventType.RUN_COMPLETED: RunStatus.COMPLETED,
    EventType.RUN_FAILED: RunStatus.FAILED,
    EventType.RUN_CANCELLED: RunStatus.CANCELLED,
    EventType.RUN_RELEASED: RunStatus.PENDING,
}


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which
# costs more than the rest of publishing. Treat events as read-only all the same.
@dataclass(slots=True)
class Event:
    """One thing that happened in a run.

    ``seq`` starts at 0 and has no gaps within a run. ``data`` holds the
    type-specific payload (``update`` for state_updated, ``state`` for
    run_completed, ``error`` for failures, ``attempt``/``delay`` for retries).
    """

    seq: int
    run_id: str
    type: EventType
    ts: float
    node: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    live: bool = False        # a live-only event (token, custom): never stored

    def to_dict(self) -> dict[str, Any]:
        d = {
            "seq": self.seq,
            "run_id": self.run_id,
            "type": self.type.value,
            "ts": self.ts,
            "node": self.node,
            "data": self.data,
        }
        if self.live:
            d["live"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(
            seq=int(d["seq"]), run_id=str(d["run_id"]), type=EventType(d["type"]),
            ts=float(d["ts"]), node=d.get("node"), data=dict(d.get("data") or {}),
        )

    def row(self) -> EventRow:
        """This event as kept in memory (see EventRow)."""
        return event_row(self.seq, self.type, self.ts, self.node, self.data)

    @classmethod
    def of_row(cls, row: EventRow, run_id: str) -> Event:
        """The event ``row`` keeps, as readers get it: the values it was published with,
        in a dict of the reader's own."""
        return cls(row[0], run_id, _TYPES[row[1]], row[2], row[3],
                   dict(zip(row[4], row[5:], strict=True)))


#: An event as a run's hub and a memory store keep it: ``(seq, type's value, ts, node,
#: the data's keys, *the data's values)``. An Event with its data dict was ~370 bytes
#: (the object, its float and the dict with its key table) kept per event, a dozen per
#: W3 run in flight and per finished run kept; the tuple is ~130, shares its key tuple
#: with every event of its shape (the call site's constant, or _SHAPES'), and holds the
#: type as its plain string (an enum member is an object the collector tracks: a row of
#: plain values is not tracked once a collection has seen it; a row holding a dict, as
#: a node event's input or update, stays tracked). The run id is the hub's (the store's
#: key); a live event is never kept. Read back with :meth:`Event.of_row`.
EventRow = tuple[Any, ...]
_TYPES: dict[str, EventType] = {t.value: t for t in EventType}
#: The key tuples of the data of events published with keywords, one per shape (a
#: kwargs dict's keys, in order: a few per call site; the runtime's per-step events are
#: emitted with constants of their own instead). Bounded: a shape past it keeps a tuple
#: of its own.
_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_SHAPES = 4096


def shape(data: dict[str, Any]) -> tuple[str, ...]:
    """The shared key tuple of ``data``'s keys, in order (see _SHAPES)."""
    keys = tuple(data)
    shared = _SHAPES.get(keys)
    if shared is None:
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[keys] = keys
        shared = keys
    return shared


def event_row(seq: int, type: EventType, ts: float, node: str | None,
              data: dict[str, Any]) -> EventRow:
    """The row an event of these fields is kept as (see EventRow)."""
    return (seq, type._value_, ts, node, shape(data), *data.values())


class _Subscriber:
    __slots__ = ("alive", "lagged_at", "send")

    def __init__(self, send: MemoryObjectSendStream[Event]) -> None:
        self.send = send
        self.lagged_at: int | None = None
        self.alive = True


class Publisher(Protocol):
    """Where a supervisor and its node actors publish: a run's :class:`EventHub`, or a
    subgraph's view of its parent's (``runtime.subgraph.SubgraphHub``)."""

    @property
    def next_seq(self) -> int: ...

    def publish(self, type: EventType, node: str | None = None, **data: Any) -> Any: ...

    def emit(self, type: EventType, node: str | None, keys: tuple[str, ...],
             *values: Any) -> None:
        """``publish(type, node, **dict(zip(keys, values)))`` for the runtime's own
        events of a fixed shape (a module's constant ``keys``): no keyword dict to make
        and take apart per event, and the row shares ``keys``. Keys and values that do
        not pair up raise ValueError, and nothing is published."""
        ...

    def publish_live(self, type: EventType, node: str | None = None, **data: Any) -> None: ...


class EventHub:
    """The event log of one run plus its live subscribers.

    ``history`` is an optional loader of older events (from a store) for replays
    that start before what is kept in memory: called as ``history(run_id, since,
    until)``, like ``Store.read_events`` (the store's own reader, shared by every run,
    rather than a ``partial`` of it per run: three objects less per run).
    """

    __slots__ = ("_base", "_closed", "_history", "_log", "_next", "_sink", "_subs", "run_id")

    def __init__(
        self,
        run_id: str,
        *,
        first_seq: int = 0,
        sink: Callable[[Event], None] | None = None,
        history: Callable[[str, int, int], Any] | None = None,
        log: list[EventRow] | None = None,
    ) -> None:
        self.run_id = run_id
        # ``log``: the list a memory store keeps this run's events in, shared (given
        # with no sink and no history: appending here is storing; a second list of the
        # same events was ~200 bytes per run in flight and per finished run kept). The
        # events as rows (EventRow): an Event is made for whoever reads one.
        self._log: list[EventRow] = [] if log is None else log
        self._base = first_seq  # seq of self._log[0]
        self._next = first_seq
        # A shared empty tuple until someone subscribes: most runs never have a live
        # reader, and an empty list per run is one object more for the collector.
        self._subs: list[_Subscriber] | tuple[()] = ()
        self._closed = False
        self._sink = sink
        self._history = history

    @property
    def next_seq(self) -> int:
        return self._next

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, type: EventType, node: str | None = None, **data: Any) -> None:
        """Append an event and hand it to every subscriber without waiting."""
        self.emit(type, node, shape(data), *data.values())

    def emit(self, type: EventType, node: str | None, keys: tuple[str, ...],
             *values: Any) -> None:
        """:meth:`publish` with the data as its keys and values (see Publisher.emit)."""
        if len(keys) != len(values):
            # Checked before anything is kept: a row that cannot be read back would
            # break every later replay of the run.
            raise ValueError(f"{type._value_} event: {len(values)} values for the "
                             f"{len(keys)} keys {keys}")
        seq, ts = self._next, time.time()
        self._next = seq + 1
        self._log.append((seq, type._value_, ts, node, keys, *values))
        if self._sink is not None or self._subs:
            # One Event for the store's writer and every live reader (none is made for
            # a run nobody reads live: a memory store's, W3's).
            event = Event(seq, self.run_id, type, ts, node,
                          dict(zip(keys, values, strict=False)))   # (paired: checked above)
            if self._sink is not None:
                self._sink(event)
            if self._subs:
                self._deliver(event)

    def publish_live(self, type: EventType, node: str | None = None, **data: Any) -> None:
        """Hand a live-only event to the current subscribers; keep and store nothing."""
        if self._subs:
            self._deliver(Event(self._next - 1, self.run_id, type, time.time(), node, data,
                                True))

    def _deliver(self, event: Event) -> None:
        dropped = False
        for sub in self._subs:
            try:
                sub.send.send_nowait(event)
            except anyio.WouldBlock:
                # Full buffer: drop this reader rather than wait for it. It resumes from
                # the first event it did not get.
                sub.lagged_at = event.seq
                sub.alive = False
                sub.send.close()
                dropped = True
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                sub.alive = False
                sub.send.close()
                dropped = True
        if dropped:
            self._subs = [s for s in self._subs if s.alive]

    def close(self) -> None:
        """No more events: live subscribers finish after draining their buffers."""
        self._closed = True
        for sub in self._subs:
            sub.send.close()
        self._subs = ()
        if self._history is not None:
            # The store has them all: keep only the tail (readers copied what they read).
            self.trim(EVENTS_KEPT_AFTER_CLOSE)

    def events_since(self, since: int) -> list[Event]:
        """Events kept in memory with ``seq >= since``."""
        start = max(0, since - self._base)
        run_id, of_row = self.run_id, Event.of_row
        return [of_row(row, run_id) for row in self._log[start:]]

    def trim(self, keep: int) -> None:
        """Forget all but the last ``keep`` events (older ones come from ``history``)."""
        if len(self._log) > keep:
            cut = len(self._log) - keep
            del self._log[:cut]
            self._base += cut

    async def subscribe(
        self, since: int = 0, buffer: int = DEFAULT_SUBSCRIBER_BUFFER
    ) -> AsyncIterator[Event]:
        """Replay from ``since``, then live events until the run ends.

        Raises SubscriberLagged if this reader falls more than ``buffer`` events
        behind; resume with ``since=exc.resume_from``.
        """
        since = max(since, 0)
        if since < self._base and self._history is not None:
            older: Iterable[Event] = await self._history(self.run_id, since, self._base)
            for event in older:
                yield event
                since = event.seq + 1
        replay = self.events_since(since)
        if self._closed:
            for event in replay:
                yield event
            return
        # Subscribe before yielding the replay, in the same step that copied it, so no
        # event can fall between the two. The replay is yielded from the copy.
        send, receive = anyio.create_memory_object_stream[Event](
            max_buffer_size=buffer if buffer > 0 else math.inf
        )
        sub = _Subscriber(send)
        if isinstance(self._subs, tuple):
            self._subs = []
        self._subs.append(sub)
        last = since - 1
        try:
            for event in replay:
                yield event
                last = event.seq
            async with receive:
                async for event in receive:
                    yield event
                    last = event.seq
            if sub.lagged_at is not None:
                raise SubscriberLagged(run_id=self.run_id, resume_from=last + 1, buffer=buffer)
        finally:
            send.close()
            if sub in self._subs:
                assert isinstance(self._subs, list)
                self._subs.remove(sub)
