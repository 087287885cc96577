"""The runs of one runtime: who executes here, who waits for a slot, who is being resumed.

:class:`RunTable` is the only owner of that bookkeeping; the runtime, recovery, time
travel and the event feed use its small surface:

- the table: :meth:`~RunTable.get` (a run held in memory: executing here, or one of
  the last ``keep_finished`` finished), :meth:`~RunTable.live` (executing here),
  :meth:`~RunTable.runs`;
- driving: :meth:`~RunTable.launch` (tracks the run and executes it in the
  runtime's task group once a ``max_concurrent_runs`` slot is free),
  :meth:`~RunTable.release_all` (a shutdown);
- resume bookkeeping: :meth:`~RunTable.busy` and :meth:`~RunTable.resuming`, so that
  one stored run is never resumed (or cancelled) twice at once;
- changes: :meth:`~RunTable.notify` and :meth:`~RunTable.changed`, how readers of a
  run learn that this process started, paused or stopped it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import anyio
from anyio.abc import TaskGroup

from .errors import RuntimeClosedError, StoreError
from .node_cache import NodeCache
from .run import Follower, Run
from .spawn import Spawner, spawner
from .status import RunStatus

__all__ = ["POLL_SECONDS", "Gate", "RunTable"]

#: How often a reader re-reads the store for a run that is not in this process.
POLL_SECONDS = 0.5


class Gate(Protocol):
    """What a run passes before and after it executes here (a cluster's leases)."""

    async def acquire(self, run: Run) -> bool:
        """May this process execute the run (False: another process holds it)?"""

    async def release(self, run: Run) -> None:
        """The run stopped executing here."""


class RunTable:
    def __init__(self, *, keep_finished: int, max_concurrent: int | None) -> None:
        self.keep_finished = keep_finished
        #: How every launched run's ``events()`` follows it across pauses (the feed).
        self.follow: Follower | None = None
        #: What a thread's run awaits before it starts (``Threads.admit``).
        self.admit: Callable[[Run], Awaitable[None]] | None = None
        #: The runtime's node cache, handed to every launched run.
        self.node_cache: NodeCache | None = None
        #: Passed by every run before it executes, and told when it stops (leases).
        self.gate: Gate | None = None
        #: How often readers of a run executing in another process re-read the store
        #: (longer when notifications wake them).
        self.poll_seconds = POLL_SECONDS
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._limit = max_concurrent or None
        self._active = 0
        # Runs waiting for a slot, oldest first. The ticket is taken synchronously when
        # a run is launched: tasks may begin in any order (trio shuffles them), so a
        # limiter acquired inside the run's task would not keep the launch order.
        self._line: deque[anyio.Event] = deque()
        self._resuming: set[str] = set()
        # Where runs' tasks start: the runtime's task group (runtime.spawn: under trio
        # its nursery, no TaskHandle per run).
        self._tg: Spawner | None = None
        # run id -> the events of the readers waiting for it to change. Each reader
        # removes its own on the way out, so a reader that leaves early (a closed
        # WebSocket) leaves nothing behind.
        self._waiters: dict[str, set[anyio.Event]] = {}
        #: The runtime opened and then closed (readers following a run stop waiting).
        self.closed = False

    # -- the table ------------------------------------------------------------------------
    def get(self, run_id: str) -> Run | None:
        """The run if this runtime holds it in memory (executing, or recently finished)."""
        return self._runs.get(run_id)

    def live(self, run_id: str) -> Run | None:
        """The run if this process executes it right now (or it waits for a slot)."""
        run = self._runs.get(run_id)
        return run if run is not None and not run.done else None

    def runs(self, status: RunStatus | None = None) -> list[Run]:
        """Runs held in memory (most recent last), optionally by status."""
        return [r for r in self._runs.values() if status is None or r.status is status]

    def _track(self, run: Run) -> None:
        self._runs[run.id] = run
        if len(self._runs) > self.keep_finished:
            # Forget the oldest finished runs (the store keeps them). Stops at the first
            # run still going, so this costs O(evicted), not O(runs), per launch.
            while len(self._runs) > self.keep_finished:
                oldest_id, oldest = next(iter(self._runs.items()))
                if not oldest.done:
                    self._runs.move_to_end(oldest_id)
                    break
                del self._runs[oldest_id]

    # -- driving --------------------------------------------------------------------------
    def open(self, tg: TaskGroup) -> None:
        """Runs launched from now on execute in ``tg`` (the runtime's task group)."""
        self._tg = spawner(tg)
        self.closed = False

    def close(self) -> None:
        """The runtime closed: nothing here starts, resumes or changes a run any more,
        so the readers waiting for a change are woken to see that (Feed.follow)."""
        self._tg = None
        self.closed = True
        self.notify_all()

    def launch(self, run: Run) -> None:
        """Track ``run`` and execute it once a slot is free, in launch order."""
        if self._tg is None:
            raise RuntimeClosedError("the runtime is not running; use `async with Runtime()`")
        run.follower = self.follow
        if run.thread_id is not None:
            run.admission = self.admit
        run.supervisor.node_cache = self.node_cache
        self._track(run)
        self._tg.start_soon(self._drive, run, self._ticket(), name=f"run {run.id}")

    def release_all(self) -> None:
        """A shutdown: every run not done stops and stays resumable (those waiting for a
        slot never start here)."""
        for run in self._runs.values():
            if not run.done:
                run.release()

    def _ticket(self) -> anyio.Event | None:
        """A place in line for a run slot (max_concurrent_runs): set when the run may go."""
        if self._limit is None:
            return None
        ticket = anyio.Event()
        if self._active < self._limit and not self._line:
            self._active += 1
            ticket.set()
        else:
            self._line.append(ticket)
        return ticket

    @property
    def executing(self) -> int:
        """Runs launched here and not done (executing, or waiting for a slot)."""
        return sum(1 for r in self._runs.values() if not r.done)

    async def _drive(self, run: Run, ticket: anyio.Event | None) -> None:
        gate, held = self.gate, False
        try:
            try:
                if ticket is not None:
                    await ticket.wait()
                if gate is not None:
                    try:
                        held = await gate.acquire(run)
                    except StoreError:
                        held = False  # its lease lapses; a claimer (maybe us) takes it
                    if not held:
                        run.abandon()  # another process executes it: end it quietly
            except BaseException:
                # Cancelled in line (the runtime's task group went away): it never
                # started here; released, so its result() and readers end.
                await run.cut_off_unstarted()
                raise
            await run.execute()
        finally:
            if held and gate is not None:
                with anyio.move_on_after(10, shield=True):
                    await gate.release(run)
            if ticket is not None:
                if not ticket.is_set():
                    self._line.remove(ticket)  # cancelled while waiting in line
                elif self._line:
                    self._line.popleft().set()  # hand the slot to the next in line
                else:
                    self._active -= 1
            if run.status is RunStatus.WAITING or not held and gate is not None:
                # A waiting run keeps nothing in memory: its record and checkpoint are all.
                self._runs.pop(run.id, None)
            self.notify(run.id)

    # -- resume bookkeeping ---------------------------------------------------------------
    def busy(self, run_id: str) -> bool:
        """A resume (or a cancel) of this stored run is under way."""
        return run_id in self._resuming

    @contextmanager
    def resuming(self, run_id: str) -> Iterator[None]:
        """Mark the stored run as being resumed (or ended) while the block runs. Check
        :meth:`busy` first, with no await in between."""
        self._resuming.add(run_id)
        try:
            yield
        finally:
            self._resuming.discard(run_id)

    # -- changes --------------------------------------------------------------------------
    def notify(self, run_id: str) -> None:
        """The run started, stopped or paused in this process: wake its readers."""
        for event in self._waiters.pop(run_id, ()):
            event.set()

    def notify_all(self) -> None:
        """Notifications may have been lost (the listening connection dropped): wake
        every reader, to re-read the store."""
        for run_id in list(self._waiters):
            self.notify(run_id)

    async def changed(self, run_id: str, timeout: float | None) -> None:
        """Return when this process starts, stops or pauses the run, or after ``timeout``
        (a run executing in another process changes unseen)."""
        with self.watching(run_id) as event, anyio.move_on_after(timeout):
            await event.wait()

    @contextmanager
    def watching(self, run_id: str) -> Iterator[anyio.Event]:
        """An event set by the next change of the run (here, or notified by another
        process) while the block runs. Watch *before* reading the store, so a change
        between the read and the wait is not missed."""
        event = anyio.Event()
        waiters = self._waiters.setdefault(run_id, set())
        waiters.add(event)
        try:
            yield event
        finally:
            waiters.discard(event)
            if not waiters and self._waiters.get(run_id) is waiters:
                del self._waiters[run_id]

    @property
    def readers_waiting(self) -> int:
        """Readers waiting for a run to change (for leak checks)."""
        return sum(len(w) for w in self._waiters.values())
