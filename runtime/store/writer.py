"""The one writer of a store: a bounded queue drained into group commits.

Callers (on any loop, any thread) put *ops* — a few statements each — into one
queue. A single task on the store's worker loop takes everything queued, writes
it in ONE transaction, and then wakes every caller that waits for that batch.
With many concurrent runs, N checkpoints cost one commit instead of N, and a
fast run waits for a slow one only as long as their shared commit.

The queue is bounded: waiting writes (checkpoints, run changes) block while it
is full, which throttles producers instead of growing memory. ``append_event``
must never wait, so events are always accepted; they are throttled indirectly,
since every run awaits a checkpoint per step.

While the database is unreachable the writer retries the same batch with
exponential backoff, for as long as it takes. A run's own writes (see
:func:`~.availability.holding`) wait that long: the run holds, its state safe, and
goes on when the database is back. Other callers get StoreUnavailableError once the
outage is confirmed (at once if it already was), or after ``unavailable_timeout``;
their write is then withdrawn, so the error means it was not written.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..errors import StoreError, StoreUnavailableError
from .availability import holding
from .db import Db, backoff, is_transient
from .portal import threadsafe_setter

__all__ = ["Op", "Ticket", "Writer", "WriterStats"]

log = logging.getLogger("actorflow.store")

Stmt = tuple[str, dict[str, Any]]


class Ticket:
    """A caller's claim on "my op was committed" (or failed)."""

    __slots__ = ("_event", "_wake", "done", "error")

    def __init__(self) -> None:
        self._event = anyio.Event()
        self._wake = threadsafe_setter(self._event)
        self.error: Exception | None = None
        self.done = False

    def resolve(self, error: Exception | None = None) -> None:
        """Called on the worker loop, once."""
        if not self.done:
            self.done = True
            self.error = error
            self._wake()

    async def wait(self) -> None:
        await self._event.wait()
        if self.error is not None:
            raise self.error


@dataclass(slots=True)
class Op:
    """Statements written together. ``ordered`` ops (runs rows) keep their relative
    order; the others are grouped by statement into executemany calls."""

    stmts: list[Stmt]
    ordered: bool = False
    ticket: Ticket | None = None
    urgent: bool = True      # starts a commit (else it waits for one, or ``linger``)
    run_id: str | None = None
    deadline: float = 0.0


@dataclass
class WriterStats:
    commits: int = 0       # transactions committed
    ops: int = 0           # ops committed
    max_batch: int = 0     # most ops in one commit
    retries: int = 0       # transient failures retried
    failed: int = 0        # ops rejected by the database


@dataclass
class _Shared:
    """State shared between caller threads and the worker loop (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    queue: deque[Op] = field(default_factory=deque)
    space_waiters: list[Callable[[], None]] = field(default_factory=list)
    urgent: int = 0           # queued ops somebody waits for (they start a commit)
    idle: bool = False        # the writer waits for an urgent op (or the linger timer)
    lazy_wake: bool = False   # the linger timer for queued non-urgent ops is set
    due: bool = False         # that timer fired: commit what is queued, urgent or not
    stopping: bool = False


class Writer:
    def __init__(self, db: Db, loop: asyncio.AbstractEventLoop, *, max_queue: int,
                 unavailable_timeout: float, max_batch: int = 2000,
                 linger: float = 0.02) -> None:
        self._db, self._loop = db, loop
        self.max_queue, self.max_batch = max_queue, max_batch
        self.unavailable_timeout = unavailable_timeout
        self.linger = linger
        self.stats = WriterStats()
        self.failed_runs: set[str] = set()   # runs whose last write failed (GIL-atomic)
        self._s = _Shared()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._lazy_handle: asyncio.TimerHandle | None = None
        self._thread_id: int | None = None   # the thread of ``loop``

    # caller side (any thread) -------------------------------------------

    def put_nowait(self, op: Op, *, urgent: bool = True,
                   deadline: float | None = None) -> None:
        """Queue ``op`` regardless of the bound (for events, which never wait).

        A non-urgent op never starts a commit: it rides along with the next
        urgent write (a run's checkpoint follows its events within
        microseconds), or is written after ``linger`` seconds at most. Waking
        per event, or committing the events that arrived during the previous
        commit on their own, would cost extra commits per step.
        """
        op.deadline = (time.monotonic() + self.unavailable_timeout
                       if deadline is None else deadline)
        op.urgent = urgent
        s = self._s
        with s.lock:
            if s.stopping:
                raise StoreError("the store is closed")
            s.queue.append(op)
            wake = lazy = False
            if urgent:
                s.urgent += 1
                if s.idle:
                    wake, s.idle = True, False
            elif s.idle and not s.lazy_wake:
                lazy = s.lazy_wake = True
        if wake:
            self._on_loop(self._set_wakeup)
        elif lazy:
            self._on_loop(self._schedule_lazy_wake)

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the writer's loop: now if this is its thread (the store
        lives on the caller's asyncio loop), else through its thread-safe entry."""
        if threading.get_ident() == self._thread_id:
            fn()
        else:
            self._loop.call_soon_threadsafe(fn)

    async def put(self, op: Op) -> None:
        """Queue ``op``, waiting while the queue is full, then wait for its commit.

        In a run's task (``holding()``) for as long as the database is away; else,
        during a confirmed outage, StoreUnavailableError after one failed attempt (and
        the op withdrawn: see :meth:`_expire`)."""
        hold = holding()
        op.ticket = Ticket()
        deadline = float("inf") if hold else time.monotonic() + self.unavailable_timeout
        while True:
            with self._s.lock:
                full = len(self._s.queue) >= self.max_queue
                if full:
                    event = anyio.Event()
                    self._s.space_waiters.append(threadsafe_setter(event))
            if not full:
                break
            with anyio.move_on_after(deadline - time.monotonic()):
                await event.wait()
            if time.monotonic() >= deadline:
                raise StoreUnavailableError(
                    f"the store's write queue stayed full ({self.max_queue} ops) for "
                    f"{self.unavailable_timeout}s; the database is too slow or unreachable",
                    transient=True)
        self.put_nowait(op, deadline=deadline)
        await self._wait(op.ticket, deadline)

    async def _wait(self, ticket: Ticket, deadline: float) -> None:
        """Wait for the commit, but not past the deadline: an attempt can hang (a pool
        that cannot reconnect), so the caller's clock decides, not the writer's."""
        with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
            await ticket.wait()
            return
        if ticket.done:
            await ticket.wait()  # resolved as the deadline passed: its outcome stands
            return
        raise StoreUnavailableError(
            f"no commit within {self.unavailable_timeout}s: the database is unreachable or "
            "too slow; the write may still land when it is back", transient=True)

    async def flush(self) -> None:
        """Wait until everything queued before this call is committed."""
        with self._s.lock:
            if not self._s.queue and self._s.idle:
                return
        op = Op([])
        op.ticket = Ticket()
        # A run's flush waits out an outage with its writes; another caller's does not.
        self.put_nowait(op, deadline=float("inf") if holding() else None)
        # Unbounded on purpose: "everything queued is durable" may take as long as the
        # database is away; callers that cannot wait bound it themselves.
        await op.ticket.wait()

    # worker side --------------------------------------------------------

    def _schedule_lazy_wake(self) -> None:
        if self._lazy_handle is None:
            self._lazy_handle = self._loop.call_later(self.linger, self._lazy_wakeup)

    def _lazy_wakeup(self) -> None:
        self._lazy_handle = None
        with self._s.lock:
            self._s.due = True
            self._s.idle = False
        self._set_wakeup()

    def _set_wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    async def start(self) -> None:
        self._thread_id = threading.get_ident()
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._main())

    async def stop(self, timeout: float) -> None:
        """Write what is queued (for up to ``timeout``), then end the writer task."""
        with self._s.lock:
            self._s.stopping = True
        self._set_wakeup()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with self._s.lock:
            lost = list(self._s.queue)
            self._s.queue.clear()
        if lost:
            log.warning("store closed with %d writes not durable", len(lost))
        for op in lost:
            if op.ticket is not None:
                op.ticket.resolve(StoreUnavailableError("the store closed first"))

    async def _main(self) -> None:
        assert self._wakeup is not None
        s = self._s
        while True:
            batch: list[Op] = []
            linger = False
            with s.lock:
                if s.queue and (s.urgent or s.due or s.stopping):
                    # Everything queued goes (up to max_batch): every run's
                    # checkpoint and events that arrived meanwhile, one commit.
                    n = min(len(s.queue), self.max_batch)
                    batch = [s.queue.popleft() for _ in range(n)]
                    s.urgent -= sum(1 for op in batch if op.urgent)
                    if not s.queue:
                        s.due = s.lazy_wake = False
                elif s.stopping:
                    return
                else:
                    s.idle, s.due = True, False
                    self._wakeup.clear()
                    linger = bool(s.queue) and not s.lazy_wake
                    s.lazy_wake = s.lazy_wake or linger
                waiters, s.space_waiters = s.space_waiters, []
            for wake in waiters:
                wake()
            if batch:
                if not s.lazy_wake and self._lazy_handle is not None:
                    self._lazy_handle.cancel()  # what it waited for is in this batch
                    self._lazy_handle = None
                await self._commit(batch)
            else:
                if linger:  # only events queued: write them within ``linger``
                    self._schedule_lazy_wake()
                await self._wakeup.wait()

    async def _commit(self, batch: list[Op]) -> None:
        delay = 0.02
        while True:
            try:
                async with self._db.session(writer=True) as session:
                    await session.write(plan(batch))
            except Exception as exc:  # noqa: BLE001 - classified below, never swallowed
                if is_transient(exc):
                    self.stats.retries += 1
                    self._db.availability.failed(exc)
                    batch = self._expire(batch, exc)
                    self._expire_queued(exc)
                    if not batch:
                        return
                    await asyncio.sleep(delay)
                    # Retry often enough that a caller still waiting sees the database
                    # come back within its own deadline.
                    delay = backoff(delay, cap=min(2.0, self.unavailable_timeout / 4))
                    continue
                if len(batch) > 1:  # find the bad op: the others must still land
                    for op in batch:
                        await self._commit([op])
                    return
                self._reject(batch[0], exc)
                return
            self._db.availability.ok()
            self.stats.commits += 1
            self.stats.ops += len(batch)
            self.stats.max_batch = max(self.stats.max_batch, len(batch))
            for op in batch:
                if op.ticket is not None:
                    op.ticket.resolve()
            return

    def _expire(self, batch: list[Op], exc: Exception) -> list[Op]:
        """Tell callers who waited too long, or who do not hold through a confirmed
        outage, and withdraw their ops: an error means "not written", so a client that
        retries a refused request never finds it done twice. The rest of the batch
        (a run's writes, events) is kept for the next attempt."""
        now = time.monotonic()
        confirmed = self._db.availability.confirmed
        kept: list[Op] = []
        for op in batch:
            ticket = op.ticket
            if ticket is not None and not ticket.done and (
                    now >= op.deadline or (confirmed and op.deadline != float("inf"))):
                err = StoreUnavailableError(
                    f"database unreachable ({type(exc).__name__}: {exc}); nothing of "
                    "this request was written", transient=True)
                err.__cause__ = exc
                ticket.resolve(err)
                continue
            kept.append(op)
        return kept

    def _expire_queued(self, exc: Exception) -> None:
        """:meth:`_expire` for the ops queued behind the batch being retried: while it
        fails they get no attempt of their own, and their callers must not wait."""
        s = self._s
        with s.lock:
            queued = list(s.queue)
            kept = self._expire(queued, exc)
            if len(kept) != len(queued):
                s.queue = deque(kept)
                s.urgent = sum(1 for op in kept if op.urgent)
                waiters, s.space_waiters = s.space_waiters, []
            else:
                waiters = []
        for wake in waiters:
            wake()

    def _reject(self, op: Op, exc: Exception) -> None:
        self.stats.failed += 1
        if op.run_id is not None:
            self.failed_runs.add(op.run_id)
        log.error("store write rejected: %s: %s", type(exc).__name__, exc)
        if op.ticket is not None:
            err = StoreError(f"the database rejected a write: {type(exc).__name__}: {exc}")
            err.__cause__ = exc
            op.ticket.resolve(err)


def plan(batch: list[Op]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The batch as (statement, rows) pairs for :meth:`Session.write`: ordered ops
    first, in order, then one executemany per statement of the others."""
    ordered: list[tuple[str, list[dict[str, Any]]]] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for op in batch:
        if op.ordered:
            ordered.extend((sql, [params]) for sql, params in op.stmts)
        else:
            for sql, params in op.stmts:
                rows = groups.get(sql)
                if rows is None:
                    groups[sql] = [params]
                else:
                    rows.append(params)
    ordered.extend(groups.items())
    return ordered
