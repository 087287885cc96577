"""Parallel frames: the bookkeeping of a fan-out or a map until its branches meet.

A fan-out opens a frame with one branch per target. Every activation inside a
branch carries the frame's id and its branch index. When a branch reaches the
frame's join node it *arrives*; when it reaches END it *ends*. Once every branch
has arrived or ended, the join node runs once (or, if all ended, the frame
itself ends in its parent frame). A map frame holds the items of a map edge and
the per-item updates, merged in item order when all items are done.

Writes to reducer keys inside frames merge in a fixed order (see :mod:`.order`):
each frame numbers what happens in each of its branches (``seqs``), knows where it
was opened (``prefix``), and the outermost frame keeps the writes (``log``) and the
values they were folded over (``base``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import StateUpdate

__all__ = ["Frame", "FrameRef", "OrderKey"]

FrameRef = tuple[int, int]
#: Where a write sits among a frame's parallel writes: (branch, sequence) per level.
OrderKey = tuple[tuple[int, int], ...]
#: A logged write: its order key, and the reducer-key values it wrote (in order).
LogEntry = tuple[OrderKey, list[dict[str, Any]]]


@dataclass(slots=True)
class Frame:
    id: int
    kind: str                             # "fanout" | "map"
    origin: str                           # node that opened it
    join: str | None                      # fanout: where branches meet (None: only at END)
    parent: tuple[FrameRef, ...]          # frames enclosing this one
    expected: int
    arrived: int = 0
    ended: int = 0
    # data key -> (branch index, node) of its first writer, for conflict detection
    writers: dict[str, tuple[int, str]] = field(default_factory=dict)
    # map frames
    target: str | None = None
    item_key: str = "item"
    items: list[Any] = field(default_factory=list)
    next_index: int = 0
    limit: int | None = None
    results: dict[int, StateUpdate] = field(default_factory=dict)
    # deterministic merges (see runtime.order)
    prefix: OrderKey = ()
    seqs: dict[int, int] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.arrived + self.ended >= self.expected

    def copy(self) -> Frame:
        """A copy to keep in a checkpoint (or to restore from one): shares only values
        that are never changed in place (items, updates)."""
        return Frame(self.id, self.kind, self.origin, self.join, self.parent, self.expected,
                     self.arrived, self.ended, dict(self.writers), self.target, self.item_key,
                     self.items, self.next_index, self.limit, dict(self.results),
                     self.prefix, dict(self.seqs), dict(self.base), list(self.log))
