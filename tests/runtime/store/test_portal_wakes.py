"""Wake-ups from the store's thread into the caller's loop (runtime.store.portal).

Under trio they are coalesced (one ``run_sync_soon`` for every call queued meanwhile):
none may be lost, each runs on the loop's own thread, and calls from one thread keep
their order.
"""

from __future__ import annotations

import threading

import anyio

from runtime.store.portal import threadsafe_caller, threadsafe_setter


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
