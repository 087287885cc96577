"""Checkpoint deltas: what one step changed, and how to rebuild full states.

A checkpoint row holds either the full state (a *snapshot*: step 0, every
``snapshot_every`` steps, and whenever the previous state is not known) or a
*delta* against the checkpoint saved just before it. Rebuilding step ``n``
reads the last snapshot at or before ``n`` and replays at most
``snapshot_every - 1`` deltas, so storage is O(steps + changes) rather than
O(steps x state size).

Delta JSON::

    {"changed": {...},          # Checkpoint.changed, kept verbatim
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

__all__ = ["BaseCache", "apply_delta", "make_delta"]

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
    delta: dict[str, Any] = {"changed": changed}
    for part, value in (("set", sets), ("append", appends),
                        ("removed", [k for k in old_data if k not in new_data]),
                        ("extend", extend), ("fields", fields),
                        ("gone", [n for n in prev if n not in state and n != "data"])):
        if value:
            delta[part] = value
    return delta


def _diff(old_map: dict[str, Any], new_map: dict[str, Any], forced: Container[str],
          skip: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keys set to a new value, keys whose list only grew: their tails). An unchanged
    object is skipped without comparing unless its key is in ``forced``."""
    sets: dict[str, Any] = {}
    grown: dict[str, Any] = {}
    for key, value in new_map.items():
        if key == skip:
            continue
        old = old_map.get(key, _MISSING)
        if old is value and key not in forced:
            continue
        tail = _grew(old, value)
        if tail is not None:
            if tail:
                grown[key] = tail
        elif old is _MISSING or old is value or old != value:
            sets[key] = value
    return sets, grown


def apply_delta(state: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """``state`` with ``delta`` applied (``state`` is modified and returned)."""
    if "set" in delta or "append" in delta or "removed" in delta:
        data = state.setdefault("data", {})
    else:
        data = {}  # nothing to do; don't add a "data" key the state never had
    data.update(delta.get("set", {}))
    for key, tail in delta.get("append", {}).items():
        data[key] = list(data.get(key, [])) + tail
    for key in delta.get("removed", []):
        data.pop(key, None)
    for name, tail in delta.get("extend", {}).items():
        state[name] = list(state.get(name, [])) + tail
    state.update(delta.get("fields", {}))
    for name in delta.get("gone", []):
        state.pop(name, None)
    return state


class BaseCache:
    """The last saved (step, state) per run: the base the next delta is made against.

    Bounded (least recently used runs fall out and get a snapshot next time),
    and a run whose write failed is dropped so that its next checkpoint is a
    snapshot rather than a delta against something never stored.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._bases: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()

    def get(self, run_id: str, step: int) -> dict[str, Any] | None:
        """The previous state if ``step`` directly follows what was saved last."""
        entry = self._bases.get(run_id)
        if entry is None or entry[0] >= step:
            return None
        self._bases.move_to_end(run_id)
        return entry[1]

    def put(self, run_id: str, step: int, state: dict[str, Any]) -> None:
        # A shallow copy of the two levels we diff, so in-place mutation of the
        # caller's dicts after saving cannot rewrite our base.
        base = dict(state)
        base["data"] = dict(state.get("data") or {})
        for name, value in base.items():
            if isinstance(value, list):
                base[name] = list(value)
        self._bases[run_id] = (step, base)
        self._bases.move_to_end(run_id)
        while len(self._bases) > self._size:
            self._bases.popitem(last=False)

    def drop(self, run_id: str) -> None:
        self._bases.pop(run_id, None)

