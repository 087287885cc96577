"""Wake-ups from the store's thread into the caller's loop (runtime.store.portal).

They are coalesced (one ``run_sync_soon`` or ``call_soon_threadsafe`` for every call
queued meanwhile):
none may be lost, each runs on the loop's own thread, and calls from one thread keep
their order.
"""

from __future__ import annotations

import concurrent.futures
import threading
from functools import partial

import anyio
import pytest

from runtime.store import portal
from runtime.store.portal import LoopThread, call_on_loop, threadsafe_caller, threadsafe_setter


async def test_every_wake_from_other_threads_lands_on_the_loop_thread_in_order() -> None:
    loop_thread = threading.get_ident()
    heard: list[tuple[str, int]] = []
    done = anyio.Event()
    calls_per_thread, threads = 500, 4

    def hear(arg: str) -> None:
        heard.append((arg, threading.get_ident()))
        if len(heard) == calls_per_thread * threads:
            done.set()

    call = threadsafe_caller(hear)
    events = [anyio.Event() for _ in range(threads * calls_per_thread)]
    setters = [threadsafe_setter(e) for e in events]

    def burst(n: int) -> None:
        for i in range(calls_per_thread):
            call(f"{n}:{i}")
            setters[n * calls_per_thread + i]()

    workers = [threading.Thread(target=burst, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    with anyio.fail_after(30):
        await done.wait()
        for e in events:
            await e.wait()
    for w in workers:
        w.join()
    assert {tid for _, tid in heard} == {loop_thread}
    for n in range(threads):
        mine = [int(a.split(":")[1]) for a, _ in heard if a.startswith(f"{n}:")]
        assert mine == list(range(calls_per_thread))


async def test_a_wake_from_the_loop_thread_itself_lands() -> None:
    event = anyio.Event()
    threadsafe_setter(event)()
    with anyio.fail_after(5):
        await event.wait()


async def test_calls_into_another_threads_loop_all_run_there_in_order() -> None:
    worker = LoopThread("test-portal")
    worker.start()
    ident: concurrent.futures.Future[int] = concurrent.futures.Future()
    worker.loop.call_soon_threadsafe(lambda: ident.set_result(threading.get_ident()))
    worker_thread = ident.result(5)
    assert worker_thread != threading.get_ident()
    try:
        ran: list[tuple[int, int, int]] = []
        done = anyio.Event()
        set_done = threadsafe_setter(done)
        tasks, calls = 20, 50

        def note(task: int, i: int) -> None:
            ran.append((task, i, threading.get_ident()))
            if len(ran) == tasks * calls:
                set_done()

        async def caller(task: int) -> None:
            for i in range(calls):
                call_on_loop(worker.loop, partial(note, task, i))
                if i % 7 == 0:
                    await anyio.sleep(0)

        async with anyio.create_task_group() as tg:
            for n in range(tasks):
                tg.start_soon(caller, n)
        with anyio.fail_after(30):
            await done.wait()
        assert {tid for _, _, tid in ran} == {worker_thread}
        for n in range(tasks):
            assert [i for t, i, _ in ran if t == n] == list(range(calls))
    finally:
        await worker.stop()


async def test_sets_from_another_thread_wake_the_loop_once_for_all_of_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit that ends fifty waits (SQLite's thread calling fifty setters) makes one
    wake-up of the loop, not fifty sends on its self-pipe (each a GIL hand-over)."""
    drains: list[int] = []
    drain = portal._Waker._drain

    def counted(self: portal._Waker) -> None:
        drains.append(len(self._pending))
        drain(self)

    monkeypatch.setattr(portal._Waker, "_drain", counted)
    events = [anyio.Event() for _ in range(50)]
    setters = [threadsafe_setter(e) for e in events]
    go, sent = threading.Event(), threading.Event()

    def commit() -> None:
        go.wait(10)
        for wake in setters:
            wake()
        sent.set()

    thread = threading.Thread(target=commit)
    thread.start()
    go.set()
    assert sent.wait(10)   # this loop's thread is held here: nothing can drain meanwhile
    thread.join()
    with anyio.fail_after(10):
        for e in events:
            await e.wait()
    assert drains == [50]
