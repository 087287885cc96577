"""Opt-in garbage-collector tuning for an application running many runs at once.

The collector's settings belong to the process, that is to the application: the
runtime never changes them unless the application asks, with
``Runtime(gc_threshold=N)``. Why an application may want to: with a thousand runs in
flight, each holds a hundred-odd containers (its tasks, cancel scopes, state), and
CPython starts a young collection every 700 container allocations net; every
survivor is walked again by the older generations' collections. Under W3 (1000
concurrent runs of five nodes) about 40% of the CPU time went to collections that
found no garbage at all (the runtime's objects are freed by reference counting).
A larger first threshold makes collections rarer (each walks more young objects, so
the total work shrinks less than the count); cyclic garbage is still collected,
later.

The threshold applies while at least one runtime that asked for it is open; the
application's own setting comes back when the last one closes.
"""

from __future__ import annotations

import gc

__all__ = ["CollectorTuning"]


class CollectorTuning:
    """Raises the collector's first threshold while held (``acquire``/``release``
    pairs; nested and overlapping holders restore the setting found by the first)."""

    _holders = 0
    _saved: tuple[int, int, int] | None = None

    @classmethod
    def acquire(cls, threshold0: int) -> None:
        if threshold0 < 1:
            raise ValueError(f"gc_threshold must be a positive number of allocations, "
                             f"got {threshold0}")
        current = gc.get_threshold()
        if cls._holders == 0:
            cls._saved = current
        cls._holders += 1
        # The largest asked for wins while several runtimes hold it.
        gc.set_threshold(max(threshold0, current[0] if cls._holders > 1 else 0),
                         current[1], current[2])

    @classmethod
    def release(cls) -> None:
        if cls._holders == 0:
            return
        cls._holders -= 1
        if cls._holders == 0 and cls._saved is not None:
            gc.set_threshold(*cls._saved)
            cls._saved = None
