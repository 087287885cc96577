"""Raw-anyio baselines, measured in the same process as the runtime figures.

Each function returns one sample (no repetition here; ``__main__``/``_child`` take
medians). They use nothing from ``runtime/``: they are what the same machine does
with bare anyio primitives, so the runtime's figures can be read as ratios.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["raw_roundtrip_nowait_us", "raw_roundtrip_us", "raw_spawn_join_100_ms", "raw_w3_ms"]


async def raw_roundtrip_us(n: int = 2000) -> float:
    """µs per request/reply round trip between two tasks over memory object streams.

    This is what one node execution is in an actor runtime: the supervisor sends an
    activation to a worker's mailbox, the worker does trivial work and sends a result
    back on the supervisor's stream. anyio's default streams (no buffer) with awaited
    ``send``/``receive``: the plain idiom, and the definition behind DESIGN.md's
    "28 µs per channel round trip".
    """
    req_send, req_recv = anyio.create_memory_object_stream[int]()
    rep_send, rep_recv = anyio.create_memory_object_stream[int]()

    async def worker() -> None:
        async with req_recv, rep_send:
            async for x in req_recv:
                await rep_send.send(x + 1)

    return await _roundtrips(n, worker, req_send, rep_recv, nowait=False)


async def raw_roundtrip_nowait_us(n: int = 2000) -> float:
    """The same round trip over unbounded streams with ``send_nowait`` (what the
    runtime's mailboxes allow): the cheapest channel exchange anyio offers, about 4x
    cheaper than :func:`raw_roundtrip_us` on asyncio."""
    req_send, req_recv = anyio.create_memory_object_stream[int](math.inf)
    rep_send, rep_recv = anyio.create_memory_object_stream[int](math.inf)

    async def worker() -> None:
        async with req_recv, rep_send:
            async for x in req_recv:
                rep_send.send_nowait(x + 1)

    return await _roundtrips(n, worker, req_send, rep_recv, nowait=True)


async def _roundtrips(n: int, worker: Callable[[], Coroutine[Any, Any, None]],
                      req_send: MemoryObjectSendStream[int],
                      rep_recv: MemoryObjectReceiveStream[int], *, nowait: bool) -> float:
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        async with req_send, rep_recv:
            # one untimed exchange so the worker task is running
            await req_send.send(0)
            await rep_recv.receive()
            started = time.perf_counter()
            x = 0
            for _ in range(n):
                if nowait:
                    req_send.send_nowait(x)
                else:
                    await req_send.send(x)
                x = await rep_recv.receive()
            elapsed = time.perf_counter() - started
    if x != n:
        raise RuntimeError(f"raw round trip computed {x}, expected {n}")
    return elapsed / n * 1e6


async def raw_spawn_join_100_ms(width: int = 100) -> float:
    """ms to spawn ``width`` tasks in a task group, each yielding once and writing a
    value, then join them and sum (the bare-anyio shape of W2)."""
    out: list[int] = []

    async def branch(i: int) -> None:
        await anyio.lowlevel.checkpoint()
        out.append(i)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(width):
            tg.start_soon(branch, i)
    total = sum(out)
    elapsed = time.perf_counter() - started
    if total != width * (width - 1) // 2:
        raise RuntimeError("raw spawn/join lost a branch")
    return elapsed * 1e3


async def raw_w3_ms(runs: int = 1000, chain: int = 5, delay: float = 0.001) -> float:
    """ms makespan of ``runs`` concurrent tasks, each ``chain`` sequential sleeps
    of ``delay`` s (the bare-anyio shape of W3)."""
    done = 0

    async def one() -> None:
        nonlocal done
        for _ in range(chain):
            await anyio.sleep(delay)
        done += 1

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(runs):
            tg.start_soon(one)
    elapsed = time.perf_counter() - started
    if done != runs:
        raise RuntimeError("raw W3 lost a run")
    return elapsed * 1e3
