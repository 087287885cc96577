"""Errors specific to stores (the rest of the tree is in :mod:`runtime.errors`)."""

from __future__ import annotations

from ..errors import StoreError

__all__ = ["GraphExistsError", "ThreadExistsError"]


class GraphExistsError(StoreError):
    """A graph with that name is already stored; ``name`` says which."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"a graph named {name!r} already exists; stored graphs never change, so give "
            "a new version a new name (e.g. with a version suffix)",
            transient=False,
        )


class ThreadExistsError(StoreError):
    """A thread with that id exists already; ``thread_id`` says which."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"a thread with id {thread_id!r} already exists; pick another id "
                         "or continue that thread", transient=False)
