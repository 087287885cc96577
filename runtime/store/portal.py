"""Where a store's database coroutines run, from any event loop (asyncio or trio).

``databases`` (and asyncpg/aiosqlite under it) only work on asyncio. A store
opened under **asyncio** runs its writer and connections on the caller's own
loop: no thread hop between a run and the store (aiosqlite still runs SQLite
in its connection thread, and asyncpg is non-blocking, so a slow query never
stalls the loop). A store opened under **trio** owns ONE worker thread running
a private asyncio loop; every store method submits one complete unit of work
to it and awaits the result from the trio side. The store's logic is the same
coroutine code either way: only *where* it runs differs (:class:`StoreLoop`).

Waiting is non-blocking on both sides: the caller parks on an ``anyio.Event``
that the worker sets through the caller loop's thread-safe entry point
(``call_soon_threadsafe`` / trio's ``run_sync_soon``), or directly when it is
the same thread. No thread of anyio's worker pool is tied up per pending call,
so thousands of runs can wait at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

import anyio
import sniffio

__all__ = ["LoopThread", "StoreLoop", "call_on_loop", "threadsafe_caller", "threadsafe_setter",
           "wait_future"]

T = TypeVar("T")


def threadsafe_caller(fn: Callable[[str], None]) -> Callable[[str], None]:
    """A function any thread may call to run ``fn(arg)`` on the current loop (how the
    store's loop hands a notification to the runtime's). Must be called on that loop;
    calls after it has finished are dropped."""
    if sniffio.current_async_library() == "trio":
        waker = _trio_waker()

        def call_trio(arg: str) -> None:
            waker.call(partial(fn, arg))

        return call_trio
    owner = threading.get_ident()
    # The same waker as threadsafe_setter's: calls and sets from one thread keep
    # their order.
    async_waker = _asyncio_waker(asyncio.get_running_loop())

    def call_asyncio(arg: str) -> None:
        if threading.get_ident() == owner:
            fn(arg)
            return
        async_waker.call(partial(fn, arg))

    return call_asyncio


def threadsafe_setter(event: anyio.Event) -> Callable[[], None]:
    """A function any thread may call to set ``event`` on the current loop.

    Must be called on the loop that owns ``event``. Setting after that loop has
    finished is silently ignored: nobody is left to wake. From another thread the
    sets are coalesced (:class:`_Waker`): a commit that ends many waits wakes the
    loop once.
    """
    if sniffio.current_async_library() == "trio":
        waker = _trio_waker()
        set_event = event.set

        def set_trio() -> None:
            waker.call(set_event)

        return set_trio
    loop = asyncio.get_running_loop()
    owner = threading.get_ident()
    async_waker = _asyncio_waker(loop)
    set_now = event.set

    def set_asyncio() -> None:
        if threading.get_ident() == owner:  # the store runs on this very loop
            set_now()
            return
        async_waker.call(set_now)

    return set_asyncio


class _Waker:
    """Calls from other threads into one loop (a trio run or an asyncio loop),
    coalesced: the first call queued schedules one drain on the loop's thread
    (``run_sync_soon`` / ``call_soon_threadsafe``) that makes every call queued
    until it runs.

    Each of those writes a byte to the loop's wake-up socket; from the store's
    thread (or SQLite's) that send releases the GIL, the loop's thread (woken by it)
    takes the GIL, and the sender waits to get it back (up to the interpreter's switch
    interval while the loop is busy) before its next wake: ping-pong between the two
    threads, once per call. A commit ending fifty waiting runs' writes made fifty
    such sends, the last waiter woken last; now it makes one. The calls still run on
    the loop's thread, in order.
    """

    __slots__ = ("_gone", "_lock", "_pending", "_schedule")

    def __init__(self, schedule: Callable[[Callable[[], None]], object],
                 gone: type[BaseException] | tuple[type[BaseException], ...]) -> None:
        self._schedule, self._gone = schedule, gone
        self._lock = threading.Lock()
        self._pending: list[Callable[[], object]] = []

    def call(self, fn: Callable[[], object]) -> None:
        """Make ``fn()`` run on the loop's thread soon (dropped once the loop has ended)."""
        with self._lock:
            self._pending.append(fn)
            if len(self._pending) > 1:  # a drain is scheduled and has not run yet
                return
        try:
            self._schedule(self._drain)
        except self._gone:  # nobody is left to wake
            with self._lock:
                self._pending.clear()

    def _drain(self) -> None:
        with self._lock:
            due, self._pending = self._pending, []
        for fn in due:
            fn()


#: asyncio loop -> its :class:`_Waker` (made on the loop's thread, on first use).
_ASYNCIO_WAKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waker] = (
    weakref.WeakKeyDictionary())


def _asyncio_waker(loop: asyncio.AbstractEventLoop) -> _Waker:
    waker = _ASYNCIO_WAKERS.get(loop)
    if waker is None:
        waker = _ASYNCIO_WAKERS[loop] = _Waker(loop.call_soon_threadsafe, RuntimeError)
    return waker


#: trio.lowlevel.RunVar by name, made on first use (trio is imported lazily).
_RUN_VARS: dict[str, Any] = {}


def _per_trio_run(name: str, make: Callable[[], T]) -> T:
    """The current trio run's one ``make()``, made on first use in that run."""
    import trio

    var = _RUN_VARS.get(name)
    if var is None:
        var = _RUN_VARS[name] = trio.lowlevel.RunVar(name)
    value: T | None = var.get(None)
    if value is None:
        value = make()
        var.set(value)
    return value


def _trio_waker() -> _Waker:
    """The current trio run's waker (one per run: calls from every thread share it)."""
    import trio

    return _per_trio_run("actorflow_store_waker",
                         lambda: _Waker(trio.lowlevel.current_trio_token().run_sync_soon,
                                        trio.RunFinishedError))


class _TrioToLoops:
    """Calls from one trio run's thread into asyncio loops of other threads (the
    store's), made once per trio scheduling batch: the first call of a batch wakes a
    system task, which runs after every task of that batch and hands each loop all of
    its calls in one ``call_soon_threadsafe``.

    Waking the store's loop per call (a send on its self-pipe, which releases the GIL)
    gave the store thread the GIL at once, and its writer a commit of one or two ops;
    fifty runs stepping in one batch made fifty wake-ups and as many small commits.
    Handed over once per batch, the writer takes the whole batch in one commit, as it
    does when the store lives on the caller's own asyncio loop.
    """

    def __init__(self) -> None:
        import trio

        self._pending: dict[asyncio.AbstractEventLoop, list[Callable[[], object]]] = {}
        self._lot = trio.lowlevel.ParkingLot()
        self._open = True
        trio.lowlevel.spawn_system_task(self._run, name="actorflow-store-wakes")

    def call(self, loop: asyncio.AbstractEventLoop, fn: Callable[[], object]) -> None:
        if not self._open:  # the trio run is ending: no batch left to wait for
            loop.call_soon_threadsafe(fn)
            return
        calls = self._pending.get(loop)
        if calls is None:
            self._pending[loop] = [fn]
            self._lot.unpark_all()
        else:
            calls.append(fn)

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        for loop, calls in pending.items():
            try:
                loop.call_soon_threadsafe(_call_all, calls)
            except RuntimeError:  # loop closed: nobody is left to wake
                pass

    async def _run(self) -> None:
        try:
            while True:
                if not self._pending:
                    await self._lot.park()
                self._flush()
        finally:  # the trio run ends: what is queued still reaches its loop
            self._open = False
            self._flush()


def _call_all(calls: list[Callable[[], object]]) -> None:
    for fn in calls:
        fn()


def call_on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], object]) -> None:
    """Run ``fn()`` on ``loop``, which runs in another thread: from a trio run's thread
    once the tasks runnable now have run, with every other such call of theirs in one
    wake-up (:class:`_TrioToLoops`); from any other thread at once."""
    try:
        on_trio = sniffio.current_async_library() == "trio"
    except sniffio.AsyncLibraryNotFoundError:  # a plain thread
        on_trio = False
    if not on_trio:
        loop.call_soon_threadsafe(fn)
        return
    _per_trio_run("actorflow_trio_to_loops", _TrioToLoops).call(loop, fn)


class LoopThread:
    """A daemon thread running a private asyncio event loop until :meth:`stop`."""

    def __init__(self, name: str = "actorflow-store") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the store's loop thread is not running; call open() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread and return once its loop runs."""
        if self.running:
            return
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                # Cancel whatever is left so no coroutine is "never awaited".
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                if tasks:
                    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=main, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def stop_blocking(self, timeout: float = 5.0) -> None:
        """Stop the loop and join the thread (call from any thread but the worker's)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        self._thread = None
        self._loop = None

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and join the thread without blocking the caller's loop."""
        await anyio.to_thread.run_sync(self.stop_blocking, timeout, abandon_on_cancel=True)

    def submit(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> concurrent.futures.Future[T]:
        """Schedule ``factory()`` on the worker loop (callable from any thread)."""
        return asyncio.run_coroutine_threadsafe(factory(), self.loop)


async def wait_future(future: concurrent.futures.Future[Any] | asyncio.Future[Any]) -> None:
    """Wait (non-blocking) until ``future`` is done; cancel it if we are cancelled."""
    if future.done():
        return
    event = anyio.Event()
    wake = threadsafe_setter(event)
    future.add_done_callback(lambda _f: wake())
    try:
        await event.wait()
    finally:
        if not future.done():
            future.cancel()


class StoreLoop:
    """The asyncio loop a store's database work runs on.

    :meth:`start` under asyncio adopts the running loop (the store lives on it);
    under trio (or any other library) it starts a :class:`LoopThread`.
    :meth:`call` runs one unit of work there and returns its result, as its
    own asyncio task in both cases, so that a cancelled caller cancels the unit
    once, asyncio-style, and the unit's clean-up (a ROLLBACK) still runs.
    """

    def __init__(self, name: str = "actorflow-store") -> None:
        self._thread = LoopThread(name)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the store's loop is not running; call open() first")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None

    async def start(self) -> None:
        if self._loop is not None:
            return
        if sniffio.current_async_library() == "asyncio":
            self._loop = asyncio.get_running_loop()
        else:
            self._thread.start()
            self._loop = self._thread.loop

    async def stop(self) -> None:
        self._loop = None
        if self._thread.running:
            await self._thread.stop()

    async def call(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``factory()`` on the store's loop and await its result here."""
        loop = self.loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio (trio)
            here = None
        if here is loop:
            task = loop.create_task(factory())
            await wait_future(task)
            return task.result()
        return await self._thread_call(loop, factory)

    @staticmethod
    async def _thread_call(loop: asyncio.AbstractEventLoop,
                           factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        future = asyncio.run_coroutine_threadsafe(factory(), loop)
        await wait_future(future)
        return future.result()
