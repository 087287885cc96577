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

A checkpoint is taken at every step, and a wide fan-out is open for as many steps as it
has branches: copying its frame each time made a 10,000-branch fan-out quadratic. So a
checkpoint keeps :class:`FramesAt` instead, a mark of how far each open frame had got;
the frames are built from the marks only when read. That works because a frame only
grows: its dicts are only added to, and two journals record what changes in place
(``seqs`` and the sorted ``log``) in the order it happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from .lazyseq import LazySeq
from .state import StateUpdate

__all__ = ["Frame", "FrameAt", "FrameRef", "FramesAt", "OrderKey", "frame_marks", "frames_at"]

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
    # Journals (see FramesAt): the branch of every sequence number taken, and the log's
    # entries in the order they arrived. Not part of what a frame is (compare=False).
    seq_journal: list[int] = field(default_factory=list, compare=False, repr=False)
    arrivals: list[LogEntry] = field(default_factory=list, compare=False, repr=False)
    # Append keys -> items each log entry adds, aligned with ``log`` (runtime.order):
    # derived, so never copied or stored; rebuilt when missing.
    sizes: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def complete(self) -> bool:
        return self.arrived + self.ended >= self.expected

    def take_seq(self, branch: int) -> int:
        """The next sequence number in ``branch`` (see runtime.order)."""
        n = self.seqs.get(branch, 0)
        self.seqs[branch] = n + 1
        self.seq_journal.append(branch)
        return n

    def copy(self) -> Frame:
        """A copy to restore from a checkpoint: shares only values that are never changed
        in place (items, updates); its journals start from its counts and log."""
        return Frame(self.id, self.kind, self.origin, self.join, self.parent, self.expected,
                     self.arrived, self.ended, dict(self.writers), self.target, self.item_key,
                     self.items, self.next_index, self.limit, dict(self.results),
                     self.prefix, dict(self.seqs), dict(self.base), list(self.log),
                     [b for b, n in self.seqs.items() for _ in range(n)], list(self.log))

    def mark(self) -> FrameAt:
        """How far this frame has got, in O(1): what a checkpoint keeps."""
        return FrameAt(self)


class FrameAt(LazySeq[Frame]):
    """One frame as it was when marked: a sequence of that one frame, built when first
    read (its dicts only grow, in order, until then). A run with one frame open (a
    fan-out) keeps one of these per step, not a FramesAt around a tuple of marks."""

    __slots__ = ("_built", "arrived", "base", "ended", "frame", "log", "next_index",
                 "results", "seqs", "writers")

    def __init__(self, f: Frame) -> None:
        self.frame = f
        self.arrived = f.arrived
        self.ended = f.ended
        self.next_index = f.next_index
        self.writers = len(f.writers)
        self.results = len(f.results)
        self.base = len(f.base)
        self.seqs = len(f.seq_journal)
        self.log = len(f.arrivals)
        self._built: Frame | None = None

    @classmethod
    def of(cls, f: Frame, arrived: int, ended: int, next_index: int, writers: int,
           results: int, base: int, seqs: int, log: int) -> FrameAt:
        """The mark of ``f`` with these counts (as :func:`frame_marks` records them):
        a mark kept as plain numbers beside its frame, made again when read."""
        mark = cls.__new__(cls)
        mark.frame, mark.arrived, mark.ended, mark.next_index = f, arrived, ended, next_index
        mark.writers, mark.results, mark.base, mark.seqs, mark.log = (
            writers, results, base, seqs, log)
        mark._built = None
        return mark

    def build(self) -> Frame:
        """The frame as it was when marked."""
        if self._built is None:
            f = self.frame
            log = sorted(f.arrivals[: self.log], key=lambda e: e[0])
            self._built = Frame(
                f.id, f.kind, f.origin, f.join, f.parent, f.expected, self.arrived,
                self.ended, dict(islice(f.writers.items(), self.writers)), f.target,
                f.item_key, f.items, self.next_index, f.limit,
                dict(islice(f.results.items(), self.results)), f.prefix,
                dict(Counter(f.seq_journal[: self.seqs])),
                dict(islice(f.base.items(), self.base)), log)
        return self._built

    def _read(self) -> tuple[Frame, ...]:
        return (self.build(),)

    def __len__(self) -> int:
        return 1


def frames_at(frames: Mapping[int, Frame]) -> Sequence[Frame]:
    """The open ``frames`` as a checkpoint keeps them: O(1) per frame to take, built
    when first read."""
    if not frames:
        return ()
    if len(frames) == 1:
        for f in frames.values():
            return FrameAt(f)
    return FramesAt(frames.values())


def frame_marks(frames: Mapping[int, Frame]) -> tuple[Any, ...]:
    """The open ``frames`` as a flat record keeps them (runtime.store.memory): one open
    frame (a fan-out's) as the frame and the numbers of its mark (``FrameAt.of`` makes
    the mark again when read), in the record itself: no object of its own per step
    for the collector to track; else ``(frames_at(frames),)``, or ``()`` if none."""
    if len(frames) == 1:
        for f in frames.values():
            return (f, f.arrived, f.ended, f.next_index, len(f.writers), len(f.results),
                    len(f.base), len(f.seq_journal), len(f.arrivals))
    # (Nothing with no frame open: a chain's steps keep no field more for it.)
    return (frames_at(frames),) if frames else ()


class FramesAt(LazySeq[Frame]):
    """The open frames of a run at one step, kept by a checkpoint: O(1) per frame to
    take; the frames are built when first read."""

    __slots__ = ("_items", "_marks")

    def __init__(self, frames: Iterable[Frame]) -> None:
        self._marks = tuple(f.mark() for f in frames)
        self._items: tuple[Frame, ...] | None = None

    def _read(self) -> tuple[Frame, ...]:
        if self._items is None:
            self._items = tuple(m.build() for m in self._marks)
        return self._items

    def __len__(self) -> int:
        return len(self._marks)
