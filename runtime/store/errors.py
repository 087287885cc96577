"""Errors specific to stores (the rest of the tree is in :mod:`runtime.errors`)."""

from __future__ import annotations

from ..errors import StoreError

__all__ = ["GraphExistsError"]


class GraphExistsError(StoreError):
    """A graph with that name is already stored; ``name`` says which."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"a graph named {name!r} already exists; pick another name, or delete the "
            f"old one first with store.delete_graph({name!r})",
            transient=False,
        )
