"""Checkpoint deltas: what one step changed, and how to rebuild full states.

A checkpoint row holds either the full state (a *snapshot*) or a *delta* against
the checkpoint saved just before it; :mod:`.spacing` decides which, so that the
bytes stored grow with the data added (not with steps x state size) and rebuilding
a step replays a bounded chain. An ``append`` reducer's key is stored as its new
items only (``"append"`` below), never as the whole list again.

Delta JSON (format 2; format 1, written until 0.x, has no ``"format"`` key and keeps
``Checkpoint.changed`` verbatim in ``"changed"``: its values are the whole new
values, so a growing list was stored again at every step)::

    {"format": 2,
     "keys": [key, ...],        # the keys of Checkpoint.changed, in order
     "changed": {key: value},   # only values that are not the state's own (rare: a
                                # caller that passed something else); the rest are
                                # read back from the rebuilt state
     "set": {key: value},       # data keys written with a new value
     "append": {key: [...]},    # data keys whose list only grew: the new tail
     "removed": [key, ...],     # data keys that disappeared
     "extend": {field: [...]},  # errors/warnings (any top-level list) that only grew
     "fields": {field: value},  # any other top-level field that changed
     "gone": [field, ...]}      # top-level fields that disappeared
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container
from typing import Any

from ..errors import CheckpointFormatError
from .spacing import Chain

__all__ = ["DELTA_FORMAT", "BaseCache", "apply_delta", "changed_of", "encode_changed", "make_delta"]

#: The format :func:`encode_changed` and :func:`make_delta` write.
DELTA_FORMAT = 2

_MISSING = object()


def _grew(old: Any, new: Any) -> list[Any] | None:
    """The appended tail if ``new`` is list ``old`` plus items, else None."""
    if (isinstance(old, list) and isinstance(new, list) and new is not old
            and len(new) >= len(old) and new[: len(old)] == old):
        return new[len(old):]
    return None


def make_delta(prev: dict[str, Any], state: dict[str, Any],
               changed: dict[str, Any]) -> dict[str, Any]:
    """The delta turning ``prev`` into ``state``.

    Keys named in ``changed`` are taken as written; the others are compared too
    (a cheap C-level ``==``), so a caller that forgets to list a key never
    loses data.
    """
    old_data: dict[str, Any] = prev.get("data") or {}
    new_data: dict[str, Any] = state.get("data") or {}
    sets, appends = _diff(old_data, new_data, changed)
    fields, extend = _diff(prev, state, (), skip="data")
    delta = encode_changed(state, changed)
    if sets:
        delta["set"] = sets
    if appends:
        delta["append"] = appends
    # Keys that went away are rare: a subset test (in C, no set made) says whether
    # to look.
    if not old_data.keys() <= new_data.keys():
        delta["removed"] = [k for k in old_data if k not in new_data]
    if extend:
        delta["extend"] = extend
    if fields:
        delta["fields"] = fields
    if not prev.keys() <= state.keys():
        gone = [n for n in prev if n not in state and n != "data"]
        if gone:
            delta["gone"] = gone
    return delta


def _diff(old_map: dict[str, Any], new_map: dict[str, Any], forced: Container[str],
          skip: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys set to a new value, keys whose list only grew: their tails). An unchanged
    object is skipped without comparing unless its key is in ``forced``."""
    sets: dict[str, Any] = {}
    grown: dict[str, Any] = {}
    get = old_map.get
    for key, value in new_map.items():
        old = get(key, _MISSING)
        if (old is value and key not in forced) or key == skip:
            continue
        if type(value) is list and type(old) is list and not value and not old:
            continue   # both empty (errors, warnings: new lists at every step)
        if isinstance(value, list):   # only a list can have grown (:func:`_grew`)
            tail = _grew(old, value)
            if tail is not None:
                if tail:
                    grown[key] = tail
                continue
        if old is _MISSING or old is value or old != value:
            sets[key] = value
    return sets, grown


def encode_changed(state: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
    """The format 2 head of a checkpoint's delta: the changed keys, and a value only
    where it is not the state's own (an identity test first: the supervisor hands
    over the state's very objects, so a growing list is never compared or copied)."""
    data: dict[str, Any] = state.get("data") or {}
    own: dict[str, Any] = {}
    for key, value in changed.items():
        cur = data.get(key, _MISSING)
        if cur is _MISSING or (cur is not value and cur != value):
            own[key] = value
    head: dict[str, Any] = {"format": DELTA_FORMAT, "keys": list(changed)}
    if own:
        head["changed"] = own
    return head


def changed_of(delta: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """``Checkpoint.changed`` from a stored delta (format 1 or 2) and the rebuilt state."""
    fmt = delta.get("format", 1)
    if fmt == 1:
        return dict(delta.get("changed") or {})
    if fmt != DELTA_FORMAT:
        raise CheckpointFormatError(
            f"checkpoint delta format {fmt!r} is not one this version reads (1, 2); "
            "open the store with the actorflow version that wrote it")
    data: dict[str, Any] = state.get("data") or {}
    out = {key: data.get(key) for key in delta.get("keys", ())}
    out.update(delta.get("changed") or {})
    return out


def apply_delta(state: dict[str, Any], delta: dict[str, Any], *,
                owned: bool = False) -> dict[str, Any]:
    """``state`` with ``delta`` applied (``state`` is modified and returned).

    ``owned``: the lists in ``state`` belong to the caller alone (a chain rebuilt for
    one step), so appended items extend them in place: replaying n appends then costs
    the items, not n copies of a growing list."""
    if "set" in delta or "append" in delta or "removed" in delta:
        data = state.setdefault("data", {})
    else:
        data = {}  # nothing to do; don't add a "data" key the state never had
    data.update(delta.get("set", {}))
    for key, tail in delta.get("append", {}).items():
        old = data.get(key)
        if owned and type(old) is list:
            old.extend(tail)
        else:
            data[key] = list(old or []) + tail
    for key in delta.get("removed", []):
        data.pop(key, None)
    for name, tail in delta.get("extend", {}).items():
        state[name] = list(state.get(name, [])) + tail
    state.update(delta.get("fields", {}))
    for name in delta.get("gone", []):
        state.pop(name, None)
    return state


class BaseCache:
    """Per run, the last saved step: its state (the base the next delta is made
    against) and its :class:`~.spacing.Chain` (what was written since the snapshot).

    Bounded (least recently used runs fall out and get a snapshot next time),
    and a run whose write failed is dropped so that its next checkpoint is a
    snapshot rather than a delta against something never stored.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._bases: OrderedDict[str, tuple[int, dict[str, Any], Chain]] = OrderedDict()

    def get(self, run_id: str, step: int) -> tuple[dict[str, Any], Chain] | None:
        """The previous state and its chain if ``step`` directly follows what was
        saved last."""
        entry = self._bases.get(run_id)
        if entry is None or entry[0] >= step:
            return None
        self._bases.move_to_end(run_id)
        return entry[1], entry[2]

    def put(self, run_id: str, step: int, state: dict[str, Any], chain: Chain) -> None:
        # A shallow copy of the two levels we diff, so in-place mutation of the
        # caller's dicts after saving cannot rewrite our base.
        base = dict(state)
        base["data"] = dict(state.get("data") or {})
        for name, value in base.items():
            if isinstance(value, list):
                base[name] = list(value)
        self._bases[run_id] = (step, base, chain)
        self._bases.move_to_end(run_id)
        while len(self._bases) > self._size:
            self._bases.popitem(last=False)

    def drop(self, run_id: str) -> None:
        self._bases.pop(run_id, None)
