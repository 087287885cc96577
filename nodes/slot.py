"""A process-wide slot for a swappable object (the LLM provider, the market-data provider).

Nodes reach such objects through a module-level slot rather than an argument, so that the
server, the CLI, embedders and tests can swap them; :meth:`Slot.holding` is the one way to
swap for a block and restore the previous occupant, whatever the block raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["Slot"]

T = TypeVar("T")


class Slot(Generic[T]):
    """Holds one ``T`` or nothing (``None``: built on first use by its owner module)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: T | None = None

    @contextmanager
    def holding(self, value: T) -> Iterator[T]:
        """``value`` inside the block, then the previous occupant again."""
        previous = self.value
        self.value = value
        try:
            yield value
        finally:
            self.value = previous
