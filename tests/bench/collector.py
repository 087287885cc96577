"""The garbage collector's own time during a measurement (``gc.callbacks``)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


class CollectorClock:
    """While entered: the collector's time (ms, on ``clock``: wall time by default, CPU
    time with ``time.process_time`` on a busy machine), and its collections, per
    generation. ``on_full`` is called as each full collection starts."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 on_full: Callable[[], None] | None = None) -> None:
        self.ms_by_generation = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self._clock = clock
        self._on_full = on_full
        self._started = 0.0

    @property
    def ms(self) -> float:
        return sum(self.ms_by_generation)

    @property
    def full(self) -> int:
        return self.collections[2]

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            if generation == 2 and self._on_full is not None:
                self._on_full()
            self._started = self._clock()
        else:
            self.ms_by_generation[generation] += (self._clock() - self._started) * 1e3
            self.collections[generation] += 1

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop counting (before the ``with`` block ends, say ahead of a collection of
        the measurement's own)."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
