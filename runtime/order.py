"""Deterministic merges: parallel branches writing one reducer key merge in a fixed order.

Branches of a fan-out (and items of a map) finish in whatever order the scheduler
and the world make them finish. Merging each update as it arrives would make an
``append`` key come out ``a,c,b`` in one run and ``a,b,c`` in the next. Instead
every write inside a parallel frame gets an *order key*: the branch indices and
per-branch sequence numbers that lead to it, which depend only on the graph and
its inputs. The outermost open frame keeps the writes to reducer keys, sorted by
that key, and the value a reducer key holds is always the fold, in key order, of
those writes over the value it had before the frame's first write of it. A write
that arrives in order (the common case) costs one reducer call as before; one that
arrives early recomputes only the keys it wrote.

So the state is always readable: it holds the writes arrived so far, in branch
declaration order, and once the frame closes it is the same on every run, replay and
fork (the log and the base travel in the checkpoint with the frame).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .frames import Frame, FrameRef, LogEntry, OrderKey
from .state import REDUCERS, Reducer, apply_values

_APPEND = REDUCERS["append"]

__all__ = ["apply_ordered", "next_key", "outside_key"]


def next_key(frames: Mapping[int, Frame], refs: tuple[FrameRef, ...]) -> tuple[Frame, OrderKey] | None:
    """The outermost open frame of ``refs`` and the order key of the next write (or
    frame opening) inside ``refs``'s innermost branch; None outside every frame."""
    if not refs:
        return None
    top = frames.get(refs[-1][0])
    root = frames.get(refs[0][0])
    if top is None or root is None:
        return None
    branch = refs[-1][1]
    return root, (*top.prefix, (branch, top.take_seq(branch)))


def outside_key(frames: Mapping[int, Frame], keys: Iterable[str],
                reducers: Mapping[str, Reducer]) -> tuple[Frame, OrderKey] | None:
    """Where a write made outside every frame goes while a frame is open: a side path
    (a failed map item's handler) runs beside the frame that holds the map. If that frame
    already folds one of the written reducer keys, a write straight into the state would
    be lost at the frame's next refold (which starts again from the frame's base), so it
    goes into the frame's log under the empty key: before every write inside the frame
    (it is no part of the frame's order), after earlier such writes (the sort is stable).
    None when no open frame folds these keys: the frame that later does takes the value
    with this write in it as its base."""
    for frame in frames.values():
        if frame.base and any(k in frame.base for k in keys if k in reducers):
            return frame, ()
    return None


def apply_ordered(data: dict[str, Any], updates: Sequence[Mapping[str, Any]],
                  reducers: Mapping[str, Reducer], where: tuple[Frame, OrderKey] | None,
                  who: str, *, node: str | None, run_id: str | None,
                  owned: set[str] | None = None) -> dict[str, Any]:
    """Write ``updates`` (in their order) into ``data``; keys with a reducer take their
    place among the parallel writes of ``where``'s frame. Returns the new values of
    the keys written. ``owned``: as for :func:`~runtime.state.apply_values`."""
    if where is None:
        changed: dict[str, Any] = {}
        for values in updates:
            changed.update(apply_values(data, values, reducers, who, node=node, run_id=run_id,
                                        owned=owned))
        return changed
    root, key = where
    # (An update that writes reducer keys only is logged as it is: a branch's usual
    # write, kept by every later checkpoint of the frame, costs no copy. Nothing
    # changes a logged write or an update in place.)
    reduced = [u if isinstance(u, dict) and all(k in reducers for k in u) else
               {k: v for k, v in u.items() if k in reducers} for u in updates]
    keys = {k for u in reduced for k in u}
    if not keys:
        return apply_ordered(data, updates, reducers, None, who, node=node, run_id=run_id,
                             owned=owned)
    for k in keys:
        if k not in root.base:
            root.base[k] = data.get(k)
            if owned is not None:
                # The frame keeps this value as it is (a refold starts from it, a
                # checkpoint holds it): the run no longer grows it in place.
                owned.discard(k)
    log = root.log
    entry = (key, reduced)
    root.arrivals.append(entry)
    if not log or log[-1][0] < key:
        log.append(entry)
        for k, sizes in root.sizes.items():
            sizes.append(_count(reduced, k))
        return apply_ordered(data, updates, reducers, None, who, node=node, run_id=run_id,
                             owned=owned)
    # Early: a branch declared later wrote before. Fold these keys again, in order.
    at = bisect.bisect(log, key, key=_order_key)
    for k, sizes in root.sizes.items():
        sizes.insert(at, _count(reduced, k))
    log.insert(at, entry)
    plain = [{k: v for k, v in u.items() if k not in reducers} for u in updates]
    changed = apply_ordered(data, plain, reducers, None, who, node=node, run_id=run_id,
                            owned=owned)
    for k in keys:
        changed[k] = _refold(data, root, k, at, reduced, reducers, who, node, run_id, owned)
    return changed


def _refold(data: dict[str, Any], root: Frame, k: str, at: int,
            reduced: list[dict[str, Any]], reducers: Mapping[str, Reducer], who: str,
            node: str | None, run_id: str | None, owned: set[str] | None) -> Any:
    """The value of reducer key ``k`` once the log entry at ``at`` (just inserted, with
    writes ``reduced``) is folded in its place. Always a new list: a list the run
    owns only ever grows at its end (runtime.growing)."""
    current = data.get(k)
    if reducers[k] is _APPEND and isinstance(current, list):
        # An append's fold is its writes' items in order: put the new items where they
        # belong instead of folding every write again. Branches arriving in any order
        # (trio shuffles a wide fan-out's) then cost a list copy each, as in order, not
        # a pass over every earlier write.
        base = root.base[k]
        before = (0 if base is None else len(base)) + sum(_sizes(root, k)[:at])
        items = [x for values in reduced if k in values for x in _items(values[k])]
        data[k] = [*current[:before], *items, *current[before:]]
        if owned is not None:
            owned.add(k)
        return data[k]
    data[k] = root.base[k]
    if owned is not None:
        owned.discard(k)   # the base stays the frame's: the first write copies it
    for _, writes in root.log:
        for values in writes:
            if k in values:
                apply_values(data, {k: values[k]}, reducers, who, node=node, run_id=run_id,
                             owned=owned)
    return data[k]


def _order_key(entry: LogEntry) -> OrderKey:
    return entry[0]


def _count(writes: list[dict[str, Any]], k: str) -> int:
    """Items the append reducer adds for key ``k`` from one log entry's writes."""
    return sum(len(_items(values[k])) for values in writes if k in values)


def _sizes(root: Frame, k: str) -> list[int]:
    """Items each log entry adds to append key ``k``, aligned with the log: kept up to
    date by every write once built, so that where an early write's items go is a sum
    over a list of ints (in C), not a walk over every earlier write (in Python)."""
    sizes = root.sizes.get(k)
    if sizes is None or len(sizes) != len(root.log):
        sizes = root.sizes[k] = [_count(writes, k) for _, writes in root.log]
    return sizes


def _items(new: Any) -> list[Any] | tuple[Any, ...]:
    """What the append reducer adds for ``new``: its items, or itself."""
    return new if isinstance(new, (list, tuple)) else [new]
