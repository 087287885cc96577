"""Parallel frames: the bookkeeping of a fan-out or a map until its branches meet.

A fan-out opens a frame with one branch per target. Every activation inside a
branch carries the frame's id and its branch index. When a branch reaches the
frame's join node it *arrives*; when it reaches END it *ends*. Once every branch
has arrived or ended, the join node runs once (or, if all ended, the frame
itself ends in its parent frame). A map frame holds the items of a map edge and
the per-item updates, merged in item order when all items are done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import StateUpdate

__all__ = ["Frame"]

FrameRef = tuple[int, int]


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

    @property
    def complete(self) -> bool:
        return self.arrived + self.ended >= self.expected

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "origin": self.origin, "join": self.join,
            "parent": [list(p) for p in self.parent], "expected": self.expected,
            "arrived": self.arrived, "ended": self.ended,
            "writers": {k: list(v) for k, v in self.writers.items()},
            "target": self.target, "item_key": self.item_key, "items": self.items,
            "next_index": self.next_index, "limit": self.limit,
            "results": {str(i): _update_dict(u) for i, u in self.results.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Frame:
        return cls(
            id=d["id"], kind=d["kind"], origin=d["origin"], join=d["join"],
            parent=tuple((int(a), int(b)) for a, b in d["parent"]), expected=d["expected"],
            arrived=d["arrived"], ended=d["ended"],
            writers={k: (int(v[0]), str(v[1])) for k, v in d["writers"].items()},
            target=d["target"], item_key=d["item_key"], items=list(d["items"]),
            next_index=d["next_index"], limit=d["limit"],
            results={int(i): StateUpdate(u["data"], u["errors"], u["warnings"])
                     for i, u in d["results"].items()},
        )


def _update_dict(u: StateUpdate) -> dict[str, Any]:
    return {"data": u.data, "errors": u.errors, "warnings": u.warnings}
