"""What a ``state_updated`` event carries: the keys a step set, and for a key whose
list only grew (an ``append`` reducer, say), the items added rather than the list.

Every subscriber and the stored events table get this event at every step: with the
whole list in it, a list growing by k bytes a step cost k x n^2 / 2 bytes over n steps
(the probe's 100 KB loop). A reader rebuilds the values by appending (see
``api.live_log``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["split_update"]


def split_update(changed: dict[str, Any], before: Mapping[str, Any] | None
                 ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(keys set to their new value, keys whose list grew: the items appended).

    ``before`` holds the old values of the keys that may have grown (those with a
    reducer); the comparison is C-level and short-circuits on identity, which an
    appending reducer keeps for the old items."""
    if not before:
        return changed, {}   # (no key with a reducer: the common step costs nothing)
    update: dict[str, Any] = {}
    append: dict[str, list[Any]] = {}
    for key, new in changed.items():
        old = before.get(key)
        if (type(old) is list and type(new) is list and new is not old
                and len(new) >= len(old) and new[: len(old)] == old):
            append[key] = new[len(old):]
        else:
            update[key] = new
    return update, append
