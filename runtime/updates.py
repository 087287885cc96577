"""What a ``state_updated`` event carries: the keys a step set, and for a key whose
list only grew (an ``append`` reducer, say), the items added rather than the list.

Every subscriber and the stored events table get this event at every step: with the
whole list in it, a list growing by k bytes a step cost k x n^2 / 2 bytes over n steps
(the probe's 100 KB loop). A reader rebuilds the values by appending (see
``api.live_log``).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["reducer_values", "split_update"]


def split_update(changed: dict[str, Any], before: Mapping[str, tuple[Any, int]] | None,
                 written: dict[str, Any] | None = None,
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys set to their new value, keys whose list grew: the items appended).

    ``before`` holds, for the keys that may have grown (those with a reducer), the old
    value and, when the run may have extended that very list in place (it owned it:
    :mod:`runtime.growing`), its length then, else -1. A list grown in place is its
    old length plus a tail, in O(tail); another is compared with the old one (C-level,
    short-circuiting on identity, which an appending reducer keeps for the old items).

    ``written``: the update the step wrote. Where a key's appended items are the very
    items of the list written for it (an ``append`` reducer's usual step), that list
    stands for them, and where every key grew so, the update itself is the appended
    items: the event holds what the step wrote (its ``node_completed`` already does)
    instead of a copy. A 10,000-branch fan-out's branches each append: two objects
    fewer each, for the collector to walk for as long as the run's events are kept."""
    if not before:
        return changed, {}   # (no key with a reducer: the common step costs nothing)
    update: dict[str, Any] = {}
    append: dict[str, Any] = {}
    shared = written is not None
    for key, new in changed.items():
        old, length = before.get(key, (None, -1))
        if type(new) is list and new is old and 0 <= length <= len(new):
            tail = new[length:]
        elif (type(old) is list and type(new) is list and new is not old
                and len(new) >= len(old) and new[: len(old)] == old):
            tail = new[len(old):]
        else:
            update[key] = new
            shared = False
            continue
        mine = None if written is None else written.get(key)
        if (type(mine) is list and mine is not new and len(mine) == len(tail)
                and all(map(operator.is_, tail, mine))):
            append[key] = mine
        else:
            append[key] = tail
            shared = False
    if shared and written is not None and len(written) == len(append):
        return update, written
    return update, append


def reducer_values(data: Mapping[str, Any], keys: Iterable[str], reducers: Mapping[str, Any],
                   owned: set[str]) -> dict[str, tuple[Any, int]]:
    """What :func:`split_update` needs of ``data`` before a write of ``keys``."""
    out: dict[str, tuple[Any, int]] = {}
    for k in keys:
        if k in reducers:
            v = data.get(k)
            out[k] = (v, len(v) if k in owned and type(v) is list else -1)
    return out
