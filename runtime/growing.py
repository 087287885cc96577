"""Append keys grown in place, and O(1) snapshots of them.

An ``append`` reducer that copies its list at every write makes n writes cost n^2/2:
a 10,000-branch fan-out whose branches each append one item copied 50 million
pointers, and a memory store keeping every step's checkpoint kept every copy (the
garbage collector then walked them all, again and again). So a run extends an
append key's list in place while it *owns* it: the run made that list itself and
has handed it to nobody. Handing it out (a node's view of the state, ``Run.state``,
an event, the frame base of an ordered merge, a checkpoint a store serialises later)
ends the ownership, and the next write copies, as before. Nobody outside the run
ever sees a list change under it.

In-place writes only ever add at the end, so the first n items of any list the run
made never change: a checkpoint kept by reference records :class:`ListAt` (the list
and n, O(1)) instead of a copy, and builds the list only when read.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

__all__ = ["ListAt", "grown_at", "lengths", "shared_base", "snapshot_values"]


class ListAt(Sequence[Any]):
    """The first ``n`` items of a list that only grows at the end: a read-only list
    snapshot taken in O(1). A deep copy (what the memory store hands out) is a list."""

    __slots__ = ("_items", "_n")

    def __init__(self, items: list[Any], n: int) -> None:
        self._items = items
        self._n = n

    def _read(self) -> list[Any]:
        return self._items[: self._n]

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        return self._read()[i]

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Any]:
        return iter(self._read())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListAt):
            return self._read() == other._read()
        if isinstance(other, list):
            return self._read() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._read())

    def __copy__(self) -> list[Any]:
        return self._read()

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(self._read(), memo)


def snapshot_values(values: Mapping[str, Any], owned: set[str],
                    taken: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``values`` with every list the run owns replaced by its :class:`ListAt`, for a
    record kept by reference while the run goes on writing. ``taken``: a snapshot
    just made of other values (a checkpoint's state, for its changed keys): a list
    snapshotted there is shared, not snapshotted again."""
    out = dict(values)
    for key in owned:
        value = out.get(key)
        if type(value) is list:
            same = taken.get(key) if taken is not None else None
            if type(same) is ListAt and same._items is value and same._n == len(value):
                out[key] = same
            else:
                out[key] = ListAt(value, len(value))
    return out


def shared_base(values: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    """``base`` if it holds the very keys and values of ``values``, in order (the state
    did not change since ``base`` was taken, but for lists the run grew in place), else
    a new one: the values a memory store's flat steps keep their state's data as, one
    dict for as many steps as change no value (:func:`lengths` says how long each
    grown list was). A 10,000-branch fan-out's branches each append to one list: their
    10,000 steps keep one dict, instead of a dict and a :class:`ListAt` each (two
    objects a step for the collector to walk for as long as the run is kept)."""
    if (base is not None and len(base) == len(values)
            and all(map(operator.is_, base.values(), values.values()))
            and all(map(operator.is_, base, values))):
        return base
    return dict(values)


#: What :func:`lengths` gives when the run owns no list: one empty tuple for all.
_NONE: tuple[Any, ...] = ()


def lengths(values: Mapping[str, Any], owned: set[str]) -> tuple[Any, ...]:
    """The lengths now of the lists in ``values`` that the run owns (and may grow in
    place), flat: ``(key, length, key, length...)``; a tuple of strings and ints, which
    the collector stops tracking."""
    if not owned:
        return _NONE
    out: list[Any] = []
    for key in owned:
        value = values.get(key)
        if type(value) is list:
            out += (key, len(value))
    return tuple(out) if out else _NONE


def grown_at(base: dict[str, Any], sizes: Sequence[Any]) -> dict[str, Any]:
    """The values kept as ``base`` and :func:`lengths`, each grown list as its
    :class:`ListAt` then: what :func:`snapshot_values` would have made at the time."""
    if not sizes:
        return base
    out = dict(base)
    for i in range(0, len(sizes), 2):
        key = sizes[i]
        out[key] = ListAt(base[key], sizes[i + 1])
    return out
