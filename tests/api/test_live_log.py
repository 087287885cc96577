"""The WebSocket feed's protocol, without sockets: lagging, resuming, closing messages."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from api.live_log import Dropped, Feed
from runtime import Graph, MemoryStore, Runtime


def _looping(steps: int) -> Graph:
    g = Graph("loop", reducers={"count": "add"})
    g.add_node("work", "set", config={"values": {"count": 1}})
    g.add_conditional_edge("work", "work", f"count < {steps}")
    g.add_edge("work", "__end__")
    return g


async def test_a_slow_reader_is_dropped_and_resumes_without_a_gap(anyio_backend: str) -> None:
    store = MemoryStore()
    got: list[dict[str, Any]] = []

    async def slow(message: dict[str, Any]) -> None:
        got.append(message)
        await anyio.sleep(0.01)

    async def fast(message: dict[str, Any]) -> None:
        got.append(message)

    async with Runtime(store) as rt:
        run = await rt.start(_looping(50), {})
        with pytest.raises(Dropped) as caught:
            await Feed(run.id, slow, follow=rt.events, store=store, run=run,
                       buffer=2).stream(0)
        resume = caught.value.resume_from
        assert resume == got[-1]["seq"] + 1
        await Feed(run.id, fast, follow=rt.events, store=store, run=run,
                   buffer=2).stream(resume)
    assert [m["seq"] for m in got] == list(range(len(got)))  # no gap across the resume
    assert got[-1]["type"] == "complete" and got[-1]["final_state"] == {"count": 50}


async def test_a_run_not_in_memory_is_replayed_from_the_store(anyio_backend: str) -> None:
    store = MemoryStore()
    async with Runtime(store) as rt:
        run = await rt.start(_looping(3), {"x": 1})
        await run.wait()
    got: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        got.append(message)

    async with Runtime(store, recover=False) as later:  # the run is only in the store now
        await Feed(run.id, collect, follow=later.events, store=store, run=None,
                   buffer=8).stream(0)
    assert got[0]["event"] == "run_started"
    assert got[-1] == {**got[-1], "type": "complete", "status": "completed",
                       "final_state": {"x": 1, "count": 3}}
