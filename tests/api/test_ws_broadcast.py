"""One broadcast per run for every WebSocket client (api/ws_broadcast.py), without sockets:
a reader that never reads holds up neither the run nor the other readers, and costs a
bounded amount of memory; a reader left behind by the window is dropped with where to
resume."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from api.live_log import Dropped
from api.ws_broadcast import Broadcast, Broadcasts
from api.ws_outbox import Outbox, SharedText
from runtime import Graph, MemoryStore, Runtime

WINDOW = 32
STEPS = 200   # about 800 messages: many windows' worth


def _looping(steps: int) -> Graph:
    g = Graph("loop", reducers={"count": "add"})
    g.add_node("work", "set", config={"values": {"count": 1}})
    g.add_conditional_edge("work", "work", f"count < {steps}")
    g.add_edge("work", "__end__")
    return g


async def _never_returns(text: str) -> None:
    await anyio.Event().wait()


async def test_a_reader_that_never_reads_holds_up_neither_the_run_nor_the_others(
        anyio_backend: str) -> None:
    got: list[dict[str, Any]] = []

    async def reader(text: str) -> None:
        got.append(json.loads(text))

    async with Runtime(MemoryStore()) as rt, anyio.create_task_group() as tg:
        casts = Broadcasts(tg, SharedText(1 << 20), WINDOW)
        run = await rt.start(_looping(STEPS), {}, timeout=60)
        cast = await casts.attach(rt, run.id, run, draining=lambda: False,
                                  on_sent=lambda e: None)
        stuck = await casts.attach(rt, run.id, run, draining=lambda: False,
                                   on_sent=lambda e: None)
        assert stuck is cast   # one broadcast, whatever the number of readers
        start = cast.join_at(cast.start_seq)
        assert start is not None
        never = anyio.CancelScope()
        tg.start_soon(_serve_until_cancelled, cast, start, never)
        await cast.serve(start, reader, resume=cast.start_seq, batch=False, timeout=3600)
        # The run finished and the reader that reads has had everything, in order,
        # while the other one still sits in its first send.
        assert (await run.result()).data == {"count": STEPS}
        assert got[-1]["type"] == "complete" and got[-1]["status"] == "completed"
        seqs = [m["seq"] for m in got]
        assert seqs == list(range(cast.start_seq, cast.start_seq + len(seqs)))
        assert len(seqs) > 3 * WINDOW
        # What the stuck reader costs: the shared window is bounded, whatever it
        # did not read.
        assert len(cast._window) == WINDOW
        assert stuck.clients == 2 and not never.cancel_called
        never.cancel()
        casts.detach(cast)
        casts.detach(stuck)


async def _serve_until_cancelled(cast: Broadcast, index: int, scope: anyio.CancelScope
                                 ) -> None:
    with scope:
        await cast.serve(index, _never_returns, resume=cast.start_seq, batch=False,
                         timeout=3600)


async def test_a_reader_left_behind_by_the_window_is_dropped_with_where_to_resume(
        anyio_backend: str) -> None:
    release = anyio.Event()
    sent: list[int] = []

    async def slow(text: str) -> None:
        sent.append(json.loads(text)["seq"])
        await release.wait()   # its first send returns only after the run ended

    async with Runtime(MemoryStore()) as rt, anyio.create_task_group() as tg:
        casts = Broadcasts(tg, SharedText(1 << 20), WINDOW)
        run = await rt.start(_looping(STEPS), {}, timeout=60)
        cast = await casts.attach(rt, run.id, run, draining=lambda: False,
                                  on_sent=lambda e: None)
        start = cast.join_at(cast.start_seq)
        assert start is not None
        tg.start_soon(_release_when_done, run, release)
        with pytest.raises(Dropped) as caught:
            await cast.serve(start, slow, resume=cast.start_seq, batch=False, timeout=3600)
        casts.detach(cast)
    assert caught.value.resume_from == sent[0] + 1   # the first message it did not get
    assert f"more than {WINDOW} messages" in caught.value.reason


async def _release_when_done(run: Any, release: anyio.Event) -> None:
    await run.wait()
    release.set()


async def test_batch_frames_hold_the_same_messages_in_order(anyio_backend: str) -> None:
    one: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []

    async def single(text: str) -> None:
        one.append(json.loads(text))

    async def batched(text: str) -> None:
        frames.append(json.loads(text))

    async with Runtime(MemoryStore()) as rt, anyio.create_task_group() as tg:
        casts = Broadcasts(tg, SharedText(1 << 20), 4096)
        run = await rt.start(_looping(50), {})
        await run.wait()
        cast = await casts.attach(rt, run.id, None, draining=lambda: False,
                                  on_sent=lambda e: None)   # read from the store: seq 0 on
        await cast.serve(0, single, resume=0, batch=False, timeout=3600)
        await cast.serve(0, batched, resume=0, batch=True, timeout=3600)
        casts.detach(cast)
    assert all(f["type"] == "batch" for f in frames) and len(frames) < len(one)
    assert [m for f in frames for m in f["messages"]] == one
    assert one[0]["seq"] == 0 and one[-1]["type"] == "complete"


async def test_an_outbox_holds_at_most_its_limit_while_its_client_does_not_read(
        anyio_backend: str) -> None:
    outbox = Outbox(limit=8, batch=False, send_timeout=3600)
    queued = 0

    async def producer() -> None:
        nonlocal queued
        for seq in range(100):
            await outbox.put(seq, f'{{"seq": {seq}}}')
            queued += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(outbox.drain, _never_returns)
        tg.start_soon(producer)
        await anyio.wait_all_tasks_blocked()
        # One message is in the blocked send, eight wait; the producer waits for room
        # (its run's events then pile up in its bounded subscription, not here).
        assert queued == 9
        assert len(outbox._queue) == 8
        tg.cancel_scope.cancel()
