"""Bounds on what one run may hold and say: its state's size and one event's payload.

A node appending 100 KB to a list on every loop, or logging a megabyte per call,
costs memory, disk and every reader's bandwidth without end. A run may be given
``max_state_bytes`` (the state's data, as compact JSON) and ``max_event_bytes`` (the
payload of one ``log``, ``custom`` or ``token`` event a node publishes) as run
options; past one, only that run fails (or the node, which may catch the error), with
an error naming the bound, the node and what to do. No bound is set by default: an
embedding application opts in (the HTTP server sets both from its settings).

The state's size is kept per key and only the keys a step changed are measured again,
so a step costs what it changed, not the whole state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import EventTooLargeError, StateTooLargeError
from .events import EventType, Publisher

__all__ = ["UNBOUNDED", "BoundedPublisher", "RunBounds", "StateGauge", "json_size"]

#: Events a node's own code publishes (``ctx.log``, ``ctx.emit``, ``ctx.token``).
NODE_EVENTS = frozenset({EventType.LOG, EventType.CUSTOM, EventType.TOKEN})


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (what a store or a WebSocket carries)."""
    return len(json.dumps(value, separators=(",", ":"), default=str,
                          ensure_ascii=False).encode())


@dataclass(frozen=True, slots=True)
class RunBounds:
    """A run's size bounds, from its options (``None``: unbounded)."""

    max_state_bytes: int | None = None
    max_event_bytes: int | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RunBounds:
        """The bounds a run record's options keep (``Runtime.start(bounds=...)``)."""
        kept = options.get("bounds") or {}
        state, event = kept.get("max_state_bytes"), kept.get("max_event_bytes")
        if state is None and event is None and cls is RunBounds:
            return UNBOUNDED
        return cls(state, event)

    @classmethod
    def coerce(cls, value: RunBounds | dict[str, Any] | None) -> RunBounds:
        """``value`` as RunBounds: already one, or what a record's options keep (a run
        started over from a record's options, as a replay does, passes the latter)."""
        if isinstance(value, RunBounds):
            return value
        return cls.from_options({"bounds": value}) if value else cls()

    def to_options(self) -> dict[str, int | None]:
        """What a run record's options keep, so a resumed run is held to them too."""
        return {"max_state_bytes": self.max_state_bytes,
                "max_event_bytes": self.max_event_bytes}


#: No bounds: one instance shared by every run without any (it is frozen), rather than
#: one more object per run for the collector to walk while the run is kept.
UNBOUNDED = RunBounds()


class StateGauge:
    """The JSON size of one run's state data, key by key."""

    __slots__ = ("_sizes", "limit", "run_id")

    def __init__(self, limit: int, run_id: str) -> None:
        self.limit = limit
        self.run_id = run_id
        self._sizes: dict[str, int] = {}

    def check(self, data: dict[str, Any], changed: dict[str, Any], node: str) -> None:
        """Measure the keys ``node`` changed; raise StateTooLargeError past the limit."""
        for key in changed:
            if key in data:
                self._sizes[key] = json_size(key) + json_size(data[key]) + 1
            else:
                self._sizes.pop(key, None)
        total = sum(self._sizes.values()) + 2
        if total > self.limit:
            biggest = sorted(self._sizes.items(), key=lambda kv: -kv[1])[:3]
            raise StateTooLargeError(
                f"run {self.run_id}: node {node!r} grew the state's data to {total} bytes "
                f"(as JSON), above the run's max_state_bytes={self.limit}; largest keys: "
                + ", ".join(f"{k!r} ({n} bytes)" for k, n in biggest)
                + ". Keep large data outside the state (a file or a store, and its "
                "reference in the state), trim what accumulates (an 'append' key in a "
                "loop), or raise max_state_bytes",
                node=node, run_id=self.run_id, size=total, limit=self.limit)


class BoundedPublisher:
    """A run's event publisher that refuses a node event whose payload is too big.

    Raised in the node that published it (``ctx.log``/``emit``/``token``), so the node
    may catch it; uncaught, the node (and the run) fails. Other runs, and this run's
    readers, never see the oversized event."""

    __slots__ = ("_inner", "limit", "run_id")

    def __init__(self, inner: Publisher, limit: int, run_id: str) -> None:
        self._inner = inner
        self.limit = limit
        self.run_id = run_id

    @property
    def next_seq(self) -> int:
        return self._inner.next_seq

    def _check(self, type: EventType, node: str | None, data: dict[str, Any]) -> None:
        if type not in NODE_EVENTS:
            return
        size = json_size(data)
        if size > self.limit:
            raise EventTooLargeError(
                f"run {self.run_id}: node {node!r} published a {type.value!r} event of "
                f"{size} bytes (as JSON), above the run's max_event_bytes={self.limit}; "
                "publish a summary or a reference (a file, a stored record) instead, "
                "split it into smaller events, or raise max_event_bytes",
                node=node, run_id=self.run_id, size=size, limit=self.limit)

    def publish(self, type: EventType, node: str | None = None, **data: Any) -> Any:
        self._check(type, node, data)
        return self._inner.publish(type, node, **data)

    def emit(self, type: EventType, node: str | None, keys: tuple[str, ...],
             *values: Any) -> None:
        if type in NODE_EVENTS:
            self._check(type, node, dict(zip(keys, values, strict=True)))
        self._inner.emit(type, node, keys, *values)

    def publish_live(self, type: EventType, node: str | None = None, **data: Any) -> None:
        self._check(type, node, data)
        self._inner.publish_live(type, node, **data)
