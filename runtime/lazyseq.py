"""A read-only sequence built when first read: what a checkpoint keeps of a run's live
structures (pending activations, open frames) costs O(1) to take at every step and is
only materialised if someone reads it."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, overload

__all__ = ["LazySeq"]

T = TypeVar("T")


class LazySeq(Sequence[T]):
    """Subclasses say how to build the items (``_read``, cached by them); equality,
    hashing, repr and deep copies behave as for the tuple of items."""

    __slots__ = ()

    def _read(self) -> tuple[T, ...]:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...

    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        return self._read()[i]

    def __len__(self) -> int:
        return len(self._read())

    def __iter__(self) -> Iterator[T]:
        return iter(self._read())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._read() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._read())

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[T, ...]:
        # A copy holds this step's items only, never the run's live logs or journals.
        return copy.deepcopy(self._read(), memo)
