"""Wake-ups from the store's thread into the caller's loop (runtime.store.portal).

Under trio they are coalesced (one ``run_sync_soon`` for every call queued meanwhile):
none may be lost, each runs on the loop's own thread, and calls from one thread keep
their order.
"""

from __future__ import annotations

import concurrent.futures
import threading
from functools import partial

import anyio

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
