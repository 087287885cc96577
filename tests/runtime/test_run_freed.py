"""A finished run is freed by reference counting, not left to the cyclic collector.

Every run's hub loads older events from the store. When that loader was a method of
the run, run and hub referred to each other: each finished run (its events, state and
supervisor) stayed in memory until one of the collector's full passes, which under
load walked every such run (a third of an HTTP server's CPU went to collections).
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from runtime import END, Graph, Runtime, WorkflowState
from runtime.store import MemoryStore


@pytest.fixture
def no_collector() -> Iterator[None]:
    """Only reference counting frees objects during the test."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def two_nodes() -> Graph:
    async def first(state: WorkflowState) -> dict[str, int]:
        return {"a": 1}

    async def second(state: WorkflowState) -> dict[str, int]:
        return {"b": 2}

    g = Graph("freed")
    g.add_node("first", first)
    g.add_node("second", second)
    g.add_edge("first", "second")
    g.add_edge("second", END)
    return g


async def test_a_finished_run_with_a_store_is_freed_without_the_collector(
        no_collector: None) -> None:
    async with Runtime(MemoryStore(), keep_finished=0) as rt:
        run = await rt.start(two_nodes(), {})
        assert (await run.result()).data == {"a": 1, "b": 2}
        gone = weakref.ref(run)
        del run
        # The table forgets finished runs past keep_finished when it tracks a new one.
        await (await rt.start(two_nodes(), {})).result()
        assert gone() is None, gc.get_referrers(gone())
