"""The one writer of a store: a bounded queue drained into group commits.

Callers (on any loop, any thread) put *ops* — a few statements each — into one
queue. A single task on the store's worker loop takes everything queued, writes
it in ONE transaction, and then wakes every caller that waits for that batch.
With many concurrent runs, N checkpoints cost one commit instead of N, and a
fast run waits for a slow one only as long as their shared commit.

Every op gets a number (its *mark*) as it is queued, and the writer commits the
queue in order, so "my write is durable" is "the writer has resolved every op up
to my mark" (:meth:`Writer.wait`). Queuing is therefore cheap (no event, no
timer per op) and a caller decides *when* to wait: a run queues each step and
waits only where its guarantee needs the commit (see ``Supervisor._checkpoint``).

A checkpoint op is a link of its run's chain (a delta needs the rows before it):
once one is refused, the run's later links are refused too until a snapshot
starts a new chain, so a refused step can never leave a silently wrong history.

An *express* op (a new top-level run's row, which needs nothing queued before it
and is needed by nothing queued before it) is committed on its own, ahead of the ops
queued before it, and resolved alone: the caller of ``Runtime.start`` waits for one
small transaction, not for every other run's queued steps and events, each of whose
statements hands SQLite's thread the GIL back and forth with a busy event loop.

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
import heapq
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from ..errors import StoreError, StoreUnavailableError
from .availability import holding
from .db import Db, backoff, is_transient
from .portal import call_on_loop, threadsafe_setter
from .queue import FENCE, NOTIFY_RUN

__all__ = ["Op", "Writer", "WriterStats"]

log = logging.getLogger("actorflow.store")

Stmt = tuple[str, dict[str, Any]]


@dataclass(slots=True)
class Op:
    """Statements written together. ``ordered`` ops (runs rows) keep their relative
    order; the others are grouped by statement into executemany calls."""

    stmts: list[Stmt]
    ordered: bool = False
    urgent: bool = True      # starts a commit (else it waits for one, or ``linger``)
    run_id: str | None = None
    chain: bool = False      # a checkpoint row: a delta needs its run's rows before it
    snapshot: bool = False   # a checkpoint starting a new chain (needs nothing before it)
    seq: int = 0             # its mark: the writer resolves marks in order
    error: Exception | None = None   # why the database refused it (set once resolved)
    #: past it the op is withdrawn while the database is away (``inf``: never)
    deadline: float = math.inf
    withdrawn: bool = False  # resolved alone, not written (see ``Writer._withdraw``)
    #: committed in a transaction of its own, ahead of the ops queued before it (see
    #: :meth:`Writer.put_nowait`); only for an op that needs nothing queued before it
    #: and that nothing queued before it needs (a new top-level run's row)
    express: bool = False
    alone: bool = False      # resolved alone, committed ahead of its mark (express)


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
    marked: int = 0           # the last mark handed out
    resolved: int = 0         # every op up to this mark is committed or refused
    #: (mark, order, wake, op) of callers waiting for a mark, a heap; ``op``: the
    #: caller's own op, whose withdrawal wakes it early (see ``Writer._withdraw``).
    mark_waiters: list[tuple[int, int, Callable[[], None], Op | None]] = field(
        default_factory=list)
    urgent: int = 0           # queued ops somebody waits for (they start a commit)
    express: int = 0          # queued express ops (committed first, alone)
    idle: bool = False        # the writer waits for an urgent op (or the linger timer)
    lazy_wake: bool = False   # the linger timer for queued non-urgent ops is set
    due: bool = False         # that timer fired: commit what is queued, urgent or not
    stopping: bool = False
    #: run id -> its checkpoints queued since the last batch was taken (see RUN_BATCH)
    ahead: dict[str, int] = field(default_factory=dict)
    #: statement -> rows queued by :meth:`Writer.put_row` (no op, no mark, no lock).
    rows: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)

    def rows_pending(self) -> bool:
        # A copy of the values (made in C, under the GIL): another thread may add a
        # statement's deque meanwhile, which would end a loop over the live view.
        for queued in list(self.rows.values()):
            if queued:
                return True
        return False

    def take_rows(self) -> dict[str, list[dict[str, Any]]]:
        """Every row queued so far, by statement (rows queued meanwhile by another
        thread stay for the next batch: ``popleft`` and ``append`` are atomic)."""
        taken: dict[str, list[dict[str, Any]]] = {}
        for sql, queued in list(self.rows.items()):
            n = len(queued)
            if n:
                taken[sql] = [queued.popleft() for _ in range(n)]
        return taken


#: A run with this many checkpoints queued gets a commit without waiting for
#: ``linger``: half of ``supervisor.MAX_STEPS_AHEAD`` (32), where a run waits for its
#: oldest uncommitted step, so that commit is done before the run gets there and a
#: fast run never stops for it. With many runs the linger comes first and takes the
#: steps of all of them.
RUN_BATCH = 16


class Writer:
    def __init__(self, db: Db, loop: asyncio.AbstractEventLoop, *, max_queue: int,
                 unavailable_timeout: float, max_batch: int = 2000,
                 linger: float = 0.005) -> None:
        self._db, self._loop = db, loop
        self.max_queue, self.max_batch = max_queue, max_batch
        self.unavailable_timeout = unavailable_timeout
        self._linger = linger
        self.stats = WriterStats()
        #: run id -> why the database refused one of its writes (the first such error),
        #: until the store tells the run (``pop`` is GIL-atomic across threads).
        self.failed_runs: dict[str, Exception] = {}
        # Runs whose chain a refused checkpoint broke: their later deltas are refused
        # until a snapshot (worker loop only).
        self._broken: dict[str, Exception] = {}
        self._s = _Shared()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._lazy_handle: asyncio.TimerHandle | None = None
        self._thread_id: int | None = None   # the thread of ``loop``
        self._inflight: list[Op] = []        # the batch being committed
        self._inflight_rows: dict[str, list[dict[str, Any]]] = {}   # and its rows

    # caller side (any thread) -------------------------------------------

    @property
    def linger(self) -> float:
        """Seconds at most that a queued step or event waits for a commit."""
        return self._linger

    @linger.setter
    def linger(self, value: float) -> None:
        self._linger = value
        if self._thread_id is not None:   # a timer set already keeps to the new value
            self._on_loop(self._reset_lazy_wake)

    @property
    def marked(self) -> int:
        """The mark of the op queued last (0: none yet)."""
        return self._s.marked

    def put_nowait(self, op: Op, *, urgent: bool = True,
                   deadline: float = math.inf) -> int:
        """Queue ``op`` regardless of the bound (for events, which never wait) and
        return its mark. ``deadline``: past it (or once an outage is confirmed, if it
        is finite) the op is withdrawn while the database is away (:meth:`_expire`);
        ``math.inf``: kept until written.

        A non-urgent op never starts a commit: it rides along with the next
        urgent write, or one somebody waits for (:meth:`wait`), or is written
        after ``linger`` seconds at most, or once its run has RUN_BATCH
        checkpoints queued. Steps and events are not urgent: a run queues them
        and goes on, and a commit every ``linger`` takes all the steps of every
        run made meanwhile. Waking the writer per step instead costs a commit
        (and, from another thread, a wake-up through the loop's socket) per step;
        so does a short linger: every commit costs its thread hops and its pages
        written, whatever the number of steps in it.
        """
        op.deadline = deadline
        op.urgent = urgent
        s = self._s
        with s.lock:
            if s.stopping:
                raise StoreError("the store is closed")
            s.marked += 1
            op.seq = s.marked
            s.queue.append(op)
            wake = lazy = False
            if urgent:
                s.urgent += 1
                s.express += op.express
                if s.idle:
                    wake, s.idle = True, False
            else:
                if op.chain and op.run_id is not None:
                    ahead = s.ahead[op.run_id] = s.ahead.get(op.run_id, 0) + 1
                    if ahead >= RUN_BATCH and not s.due:
                        s.due = True   # this run's steps are due now, not after linger
                        wake, s.idle = s.idle, False
                if not wake and s.idle and not s.lazy_wake:
                    lazy = s.lazy_wake = True
        if wake:
            self._on_loop(self._set_wakeup, now=op.express)
        elif lazy:
            self._on_loop(self._schedule_lazy_wake)
        return op.seq

    def put_row(self, sql: str, row: dict[str, Any]) -> None:
        """Queue one row of ``sql`` that nobody waits for (an event): written as
        :meth:`put_nowait` writes a non-urgent op, by the next commit or within
        ``linger``, and before any op queued after it is resolved (:meth:`flush`).

        No op, no mark, no lock: the row goes into a deque (``append`` is atomic) that
        the writer empties whenever it takes a batch, after the ops it takes. A row is
        one more object per step for the collector only if it holds a container: an
        event row (str, int, float, None) is not even tracked. Only for statements
        whose rows commute (inserts keyed by a unique key): rows are written after the
        ops of their batch, not in their order of arrival. A row the database refuses
        fails its run (``failed_runs``) as a refused op does (see :meth:`_commit`).
        """
        s = self._s
        if s.stopping:
            raise StoreError("the store is closed")
        queued = s.rows.get(sql)
        if queued is None:
            queued = s.rows.setdefault(sql, deque())
        queued.append(row)
        # After the append: a writer that went idle before it set ``idle`` first and
        # then looked for rows (``_main``), so either it saw this row, or this sees
        # ``idle`` (the GIL orders both threads' steps).
        if s.idle and not s.lazy_wake:
            with s.lock:
                lazy = s.idle and not s.lazy_wake
                if lazy:
                    s.lazy_wake = True
            if lazy:
                self._on_loop(self._schedule_lazy_wake)

    def _on_loop(self, fn: Callable[[], None], *, now: bool = False) -> None:
        """Run ``fn`` on the writer's loop: now if this is its thread (the store
        lives on the caller's asyncio loop), else through its thread-safe entry;
        ``now``: at once from a trio thread too, not once its tasks runnable now have
        run (an express op: one per started run, and its caller waits for it)."""
        if threading.get_ident() == self._thread_id:
            fn()
        elif now:
            self._loop.call_soon_threadsafe(fn)
        else:
            call_on_loop(self._loop, fn)

    async def enqueue(self, op: Op, *, urgent: bool = True,
                      deadline: float | None = None) -> int:
        """Queue ``op``, waiting only while the queue is full (back-pressure), and
        return its mark; :meth:`wait` on it for the commit.

        ``deadline`` (default: :meth:`_deadline`) bounds the wait for space and is
        the op's own: in a run's task (``holding()``) none, so a run's queued writes
        are never withdrawn; else, during a confirmed outage, the op is withdrawn
        after one failed attempt (see :meth:`_expire`)."""
        if deadline is None:
            deadline = self._deadline()
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
        return self.put_nowait(op, urgent=urgent, deadline=deadline)

    def _deadline(self) -> float:
        """A caller's deadline: none in a run's task (it holds through an outage),
        else ``unavailable_timeout`` from now."""
        return math.inf if holding() else time.monotonic() + self.unavailable_timeout

    async def put(self, op: Op) -> None:
        """Queue ``op``, waiting while the queue is full, then wait for its commit;
        raise StoreError if the database refused it.

        In a run's task (``holding()``) for as long as the database is away; else,
        during a confirmed outage, StoreUnavailableError after one failed attempt (and
        the op withdrawn: see :meth:`_expire`)."""
        deadline = self._deadline()
        mark = await self.enqueue(op, deadline=deadline)
        await self.wait(mark, max(0.0, deadline - time.monotonic()), op=op)
        if op.error is not None:
            raise op.error

    async def wait(self, mark: int, timeout: float | None = None, *,
                   op: Op | None = None) -> None:
        """Wait until every op up to ``mark`` is committed (or refused), or until
        ``op`` (the caller's own, of that mark) is withdrawn, for at most ``timeout``
        seconds (default: as long as the database is away in a run's task, else
        ``unavailable_timeout``; ``math.inf``: as long as it takes). An attempt can
        hang (a pool that cannot reconnect), so the caller's clock decides, not the
        writer's."""
        s = self._s
        if s.resolved >= mark:   # the common case once commits keep up: no event at all
            return
        if timeout is None:
            timeout = math.inf if holding() else self.unavailable_timeout
        event = anyio.Event()
        with s.lock:
            if s.resolved >= mark or (op is not None and (op.withdrawn or op.alone)):
                return
            heapq.heappush(s.mark_waiters,
                           (mark, next(_order), threadsafe_setter(event), op))
            # Somebody waits: what is queued is due now, not after ``linger``. (Not
            # for an express op: it is urgent, and committed alone, ahead of the rest.)
            wake = False
            if op is None or not op.express:
                s.due = True
                wake, s.idle = s.idle, False
        if wake:
            self._on_loop(self._set_wakeup)
        with anyio.move_on_after(timeout):
            await event.wait()
        # Resolved as the deadline passed: its outcome stands.
        if s.resolved >= mark or (op is not None and (op.withdrawn or op.alone)):
            return
        raise StoreUnavailableError(
            f"no commit within {self.unavailable_timeout}s: the database is unreachable or "
            "too slow; the write may still land when it is back", transient=True)

    async def flush(self) -> None:
        """Wait until everything queued before this call is committed."""
        with self._s.lock:
            if not self._s.queue and self._s.idle and not self._s.rows_pending():
                return
        op = Op([])
        # A run's flush waits out an outage with its writes; another caller's does not
        # (its empty op is withdrawn once the outage is confirmed, raising below).
        # An urgent empty op: queued events alone would wait for ``linger``.
        # Unbounded on purpose: "everything queued is durable" may take as long as the
        # database is away; callers that cannot wait bound it themselves.
        mark = self.put_nowait(op, deadline=self._deadline())
        await self.wait(mark, math.inf, op=op)
        if op.error is not None:
            raise op.error

    # worker side --------------------------------------------------------

    def _schedule_lazy_wake(self) -> None:
        if self._lazy_handle is None:
            self._lazy_handle = self._loop.call_later(self.linger, self._lazy_wakeup)

    def _reset_lazy_wake(self) -> None:
        if self._lazy_handle is not None:
            self._lazy_handle.cancel()
            self._lazy_handle = None
            self._schedule_lazy_wake()

    def _lazy_wakeup(self) -> None:
        self._lazy_handle = None
        with self._s.lock:
            self._s.due = True
            self._s.idle = False
            # No timer is set now: the next op queued on an idle writer sets one.
            self._s.lazy_wake = False
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
            lost = self._inflight + list(self._s.queue)
            lost_rows = [r for rows in (self._inflight_rows, self._s.take_rows())
                         for queued in rows.values() for r in queued]
            self._inflight, self._inflight_rows = [], {}
            self._s.queue.clear()
        if lost or lost_rows:
            log.warning("store closed with %d writes not durable", len(lost) + len(lost_rows))
            err = StoreUnavailableError("the store closed first")
            for op in lost:
                if not op.withdrawn:   # a withdrawn op's caller has its answer
                    self._refuse(op, err)
            for row in lost_rows:
                self._refuse_row(row, err)
            self._settle([op for op in lost if op.express])
            if lost:
                self._resolve(max(op.seq for op in lost))

    async def _main(self) -> None:
        assert self._wakeup is not None
        s = self._s
        committed = False   # the last turn wrote a batch
        while True:
            batch: list[Op] = []
            rows: dict[str, list[dict[str, Any]]] = {}
            linger = False
            express = False
            with s.lock:
                if s.express and s.urgent:
                    # Express ops first, in a commit of their own: a new run's row does
                    # not wait for (or ride with) every run's queued steps and events,
                    # whose statements each hand SQLite's thread the GIL back and forth
                    # with a busy loop. The rest stays queued, in order, for the next turn.
                    batch = [op for op in s.queue if op.express and op.urgent]
                    s.queue = deque(op for op in s.queue if not (op.express and op.urgent))
                    s.urgent -= len(batch)
                    s.express = 0
                    express = True
                elif (s.queue or s.rows_pending()) and (s.urgent or s.due or s.stopping):
                    # Everything queued goes (up to max_batch): every run's
                    # checkpoint and events that arrived meanwhile, one commit.
                    n = min(len(s.queue), self.max_batch)
                    batch = [s.queue.popleft() for _ in range(n)]
                    # The rows after the ops: a row queued before an op is taken with
                    # it or earlier (see ``put_row``).
                    rows = s.take_rows()
                    s.urgent -= sum(1 for op in batch if op.urgent)
                    s.ahead.clear()   # (ops past max_batch count again from 0: fewer)
                    if not s.queue:
                        s.due = s.lazy_wake = False
                elif s.stopping:
                    return
                else:
                    s.idle, s.due = True, False
                    self._wakeup.clear()
                    # Idle right after a commit: the linger timer is set now, before
                    # anything is queued, so the next steps of a busy store need no
                    # wake-up from their caller's thread (under trio a send on this
                    # loop's self-pipe, which hands this thread the GIL: measured
                    # 0.5-1 ms of the trio thread's time per commit). Once it fires
                    # on an empty queue the writer sleeps until called.
                    # (Rows looked for after ``idle`` is set: see ``put_row``.)
                    linger = ((bool(s.queue) or committed or s.rows_pending())
                              and not s.lazy_wake)
                    s.lazy_wake = s.lazy_wake or linger
                waiters, s.space_waiters = s.space_waiters, []
            for wake in waiters:
                wake()
            if batch or rows:
                if not s.lazy_wake and self._lazy_handle is not None:
                    self._lazy_handle.cancel()  # what it waited for is in this batch
                    self._lazy_handle = None
                self._inflight, self._inflight_rows = batch, rows
                if express:
                    await self._commit(batch, express=True)
                    self._inflight = []
                    self._settle(batch)   # (those written op by op, or refused)
                    self._advance()
                    committed = True
                    continue
                mark = batch[-1].seq if batch else None
                await self._commit(batch, mark, rows)
                self._inflight, self._inflight_rows = [], {}
                if mark is not None:
                    self._resolve(mark)
                # Marks of express ops committed earlier wait for the rows queued
                # before them (a batch of rows alone has no mark of its own).
                self._advance()
                committed = True
            else:
                committed = False
                if linger:  # steps and events are written within ``linger``
                    self._schedule_lazy_wake()
                await self._wakeup.wait()

    def _resolve(self, mark: int) -> None:
        """Every op up to ``mark`` is done: wake those who wait for one of them."""
        s = self._s
        due: list[Callable[[], None]] = []
        with s.lock:
            s.resolved = mark
            while s.mark_waiters and s.mark_waiters[0][0] <= mark:
                due.append(heapq.heappop(s.mark_waiters)[2])
        for wake in due:
            wake()

    async def _commit(self, batch: list[Op], mark: int | None = None,
                      rows: dict[str, list[dict[str, Any]]] | None = None, *,
                      express: bool = False) -> None:
        """Write ``batch`` and ``rows`` (:meth:`put_row`) in one transaction (retried
        through an outage; a refused batch is written op by op, and row by row, to
        find the bad one). ``mark``: resolve it as soon as the batch is committed,
        from the thread that committed it (see :meth:`_committed`). ``express``:
        resolve the batch's own ops instead (express ops, committed ahead of their marks)."""
        batch = self._unbroken(batch)
        n_rows = sum(len(r) for r in rows.values()) if rows else 0
        if not batch and not n_rows:
            return
        delay = 0.02
        while True:
            n = len(batch) + n_rows
            on_commit = (partial(self._committed, mark, n, batch if express else None)
                         if mark is not None or express else None)
            try:
                async with self._db.session(writer=True) as session:
                    await session.write(plan(batch, rows), on_commit)
            except Exception as exc:  # noqa: BLE001 - classified below, never swallowed
                if is_transient(exc):
                    # A run's ops and events stay in this batch and land when it is
                    # back; other callers' ops are withdrawn (``_expire``), and with a
                    # withdrawn checkpoint the later links of its chain.
                    self.stats.retries += 1
                    self._db.availability.failed(exc)
                    batch = self._unbroken(self._expire(batch, exc))
                    self._expire_queued(exc)
                    if not batch and not n_rows:   # (rows are never withdrawn)
                        return
                    await asyncio.sleep(delay)
                    # Retry often enough that a caller still waiting sees the database
                    # come back within its own deadline.
                    delay = backoff(delay, cap=min(2.0, self.unavailable_timeout / 4))
                    continue
                # Find the bad op or row: the others must still land. A row alone is
                # an op of its own, so that its run hears of it as of a refused op.
                alone = batch + [_row_op(sql, row) for sql, queued in (rows or {}).items()
                                 for row in queued]
                if len(alone) > 1:
                    for op in alone:
                        await self._commit([op])
                    return
                self._reject(alone[0], exc)
                return
            if on_commit is None:
                self._count(n)
            return

    def _count(self, ops: int) -> None:
        """A commit of ``ops`` ops: the counters, and the database is reachable."""
        self._db.availability.ok()
        self.stats.commits += 1
        self.stats.ops += ops
        self.stats.max_batch = max(self.stats.max_batch, ops)

    def _committed(self, mark: int | None, ops: int, alone: list[Op] | None = None) -> None:
        """The batch up to ``mark`` (``ops`` ops) is committed: wake its waiters now,
        in SQLite's connection thread, rather than after a hop back to this loop (a
        quarter of a millisecond of a busy loop's turns): a run that waits for its
        oldest step (MAX_STEPS_AHEAD) goes on that much sooner. Its ops' errors
        (refused links of a broken chain) were set before the write. Counted first,
        so that whoever is woken finds the commit counted too."""
        self._count(ops)
        # Committed: not "lost" if the store closes now.
        self._inflight, self._inflight_rows = [], {}
        if alone is not None:
            self._advance()   # first: whoever ``_settle`` wakes finds the marks resolved
            self._settle(alone)
        elif mark is not None:
            self._resolve(mark)

    def _advance(self) -> None:
        """After express ops: every op before the first one still queued is done (the
        queue is in mark order, and what was taken from it is resolved), so those
        marks are resolved, for callers that wait for a mark without an op. Not while
        rows are queued (events: they have no mark, and are written before any op
        queued after them is resolved): the commit that writes them advances."""
        s = self._s
        with s.lock:
            if s.rows_pending():
                return
            upto = s.queue[0].seq - 1 if s.queue else s.marked
        if upto > s.resolved:
            self._resolve(upto)

    def _settle(self, ops: list[Op]) -> None:
        """``ops`` (express) are done, committed or refused, ahead of the marks before
        theirs: wake their own waiters (:meth:`wait` with ``op``). The marks' waiters
        wait for the ops before them too, and are woken by :meth:`_resolve`."""
        done = set()
        for op in ops:
            if not (op.alone or op.withdrawn):
                op.alone = True   # before the lock: a waiter arriving now sees it
                done.add(id(op))
        if not done:
            return
        s = self._s
        with s.lock:
            due = [w[2] for w in s.mark_waiters if w[3] is not None and id(w[3]) in done]
            if due:
                s.mark_waiters = [w for w in s.mark_waiters
                                  if w[3] is None or id(w[3]) not in done]
                heapq.heapify(s.mark_waiters)
        for wake in due:
            wake()

    def _expire(self, batch: list[Op], exc: Exception) -> list[Op]:
        """Withdraw the ops whose caller waited too long, or does not hold through a
        confirmed outage: an error means "not written", so a client that retries a
        refused request never finds it done twice. The rest (a run's writes, events:
        deadline ``inf``) is kept for the next attempt."""
        now = time.monotonic()
        confirmed = self._db.availability.confirmed
        kept: list[Op] = []
        for op in batch:
            if op.deadline != math.inf and not op.withdrawn and (
                    now >= op.deadline or confirmed):
                err = StoreUnavailableError(
                    f"database unreachable ({type(exc).__name__}: {exc}); nothing of "
                    "this request was written", transient=True)
                err.__cause__ = exc
                self._withdraw(op, err)
                continue
            kept.append(op)
        return kept

    def _withdraw(self, op: Op, err: Exception) -> None:
        """Resolve ``op`` alone, before the marks before it: its waiter (:meth:`wait`
        with ``op``) is woken now, whatever is still pending ahead of it.

        Only a withdrawn checkpoint breaks its run's chain (a later delta would need
        its row). Another op withdrawn (an API request's write on a run's row) says
        nothing about the run: it neither fails the run nor refuses its checkpoints.
        A run's own ops are never withdrawn (deadline ``inf``)."""
        op.error, op.withdrawn = err, True
        if op.chain and op.run_id is not None:
            self._broken.setdefault(op.run_id, err)
            # Its caller's ``wait_committed`` pops it, and the store starts over with
            # a snapshot.
            self.failed_runs.setdefault(op.run_id, err)
        s = self._s
        due: list[Callable[[], None]] = []
        with s.lock:
            if any(w[3] is op for w in s.mark_waiters):
                due = [w[2] for w in s.mark_waiters if w[3] is op]
                s.mark_waiters = [w for w in s.mark_waiters if w[3] is not op]
                heapq.heapify(s.mark_waiters)
        for wake in due:
            wake()

    def _expire_queued(self, exc: Exception) -> None:
        """:meth:`_expire` for the ops queued behind the batch being retried: while it
        fails they get no attempt of their own, and their callers must not wait."""
        s = self._s
        with s.lock:
            queued = list(s.queue)
        if all(op.deadline == math.inf for op in queued):
            return
        # Decided outside the lock (``_withdraw`` takes it); the queue may have grown
        # meanwhile, so only the withdrawn ops are taken out.
        gone = {id(op) for op in queued} - {id(op) for op in self._expire(queued, exc)}
        if not gone:
            return
        with s.lock:
            s.queue = deque(op for op in s.queue if id(op) not in gone)
            s.urgent = sum(1 for op in s.queue if op.urgent)
            s.express = sum(1 for op in s.queue if op.express and op.urgent)
            waiters, s.space_waiters = s.space_waiters, []
        for wake in waiters:
            wake()

    def _unbroken(self, batch: list[Op]) -> list[Op]:
        """``batch`` without the checkpoints of runs whose chain is broken (refused
        now, never written); a snapshot mends the chain."""
        if not self._broken:
            return batch
        keep: list[Op] = []
        for op in batch:
            cause = self._broken.get(op.run_id) if op.chain and op.run_id else None
            if cause is None:
                keep.append(op)
            elif op.snapshot:
                del self._broken[op.run_id]  # type: ignore[arg-type]
                keep.append(op)
            else:
                self._refuse(op, StoreError(
                    f"checkpoint of run {op.run_id} not written: an earlier one was refused "
                    f"({cause})"))
        return keep

    def _reject(self, op: Op, exc: Exception) -> None:
        self.stats.failed += 1
        log.error("store write rejected: %s: %s", type(exc).__name__, exc)
        err = StoreError(f"the database rejected a write: {type(exc).__name__}: {exc}")
        err.__cause__ = exc
        if op.chain and op.run_id is not None:
            self._broken[op.run_id] = err
        self._refuse(op, err)

    def _refuse(self, op: Op, err: Exception) -> None:
        op.error = err
        if op.run_id is not None:
            self.failed_runs.setdefault(op.run_id, err)

    def _refuse_row(self, row: dict[str, Any], err: Exception) -> None:
        run_id = row.get("run_id")
        if isinstance(run_id, str):
            self.failed_runs.setdefault(run_id, err)


def _row_op(sql: str, row: dict[str, Any]) -> Op:
    run_id = row.get("run_id")
    return Op([(sql, row)], run_id=run_id if isinstance(run_id, str) else None)


_order = itertools.count()   # ties between waiters on one mark (their wakes don't compare)

#: Statements whose identical rows mean the same once or many times in one transaction
#: (a lease check, a notification): a run's queued steps each carry them, a commit
#: needs each once.
ONCE_PER_COMMIT = frozenset({FENCE, NOTIFY_RUN})


def plan(batch: list[Op], rows: dict[str, list[dict[str, Any]]] | None = None
         ) -> list[tuple[str, list[dict[str, Any]]]]:
    """The batch as (statement, rows) pairs for :meth:`Session.write`: ordered ops
    first, in order, then one executemany per statement of the others (``rows``,
    queued by :meth:`Writer.put_row`, after the ops' own), deletions before the rest.

    Deletions first: they apply to what was committed before the batch, as they do on
    PostgreSQL, where the batch is one statement and a deleting part cannot see rows
    inserted by another. A snapshot's "drop the steps after me" must not drop the
    steps after it that ride in the same batch (a run queues steps without waiting).
    """
    ordered: list[tuple[str, list[dict[str, Any]]]] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for op in batch:
        if op.ordered:
            ordered.extend((sql, [params]) for sql, params in op.stmts)
        else:
            for sql, params in op.stmts:
                same = groups.get(sql)
                if same is None:
                    groups[sql] = [params]
                else:
                    same.append(params)
    for sql in ONCE_PER_COMMIT & groups.keys():
        groups[sql] = list({tuple(r.values()): r for r in groups[sql]}.values())
    if rows:
        for sql, queued in rows.items():
            mine = groups.get(sql)
            groups[sql] = queued if mine is None else mine + queued
    ordered.extend((sql, rows) for sql, rows in groups.items() if sql.startswith("DELETE"))
    ordered.extend((sql, rows) for sql, rows in groups.items() if not sql.startswith("DELETE"))
    return ordered
