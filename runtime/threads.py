"""Threads: a conversation that continues over many runs.

``Runtime.start(graph, input, thread_id="t1")`` makes the run a turn of thread ``t1``
(created on first use): the run starts from the thread's latest state (the final
data of its last completed run, or what a copy started from) with ``input`` merged in
through the graph's reducers, so a chat's ``messages`` key (an ``append`` reducer)
grows turn by turn. Failed or cancelled turns do not change the thread's state.

One writer per thread. A run of a thread that is pending, running or waiting for an
answer holds it; a second run follows the strategy it is started with
(``multitask``):

- ``"reject"`` (default): :class:`ThreadBusyError` (HTTP 409), nothing is started;
- ``"enqueue"``: the run is created at once and waits (``pending``) until the thread
  is free, then starts from the state the run before it left;
- ``"interrupt"``: the active run is cancelled, then this one starts.

Who holds a thread is decided by the store in one atomic step (a row lock on
PostgreSQL), so this holds across processes sharing a database, and a run takes the
thread again when it is recovered after a crash.
"""

from __future__ import annotations

import builtins
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .errors import RunFinishedError, StateError, ThreadBusyError, ThreadNotFoundError
from .feed import POLL_SECONDS
from .history import history
from .state import apply_values
from .status import ACTIVE, RunStatus
from .store.base import DEFAULT_TENANT, Checkpoint, RunRecord, ThreadRecord, utcnow
from .store.errors import ThreadExistsError

if TYPE_CHECKING:
    from .host import Host
    from .run import Run

__all__ = ["Multitask", "Threads"]

#: Completed runs looked at to find a thread's latest one (by completion time: with
#: ``enqueue`` a run created earlier may complete later).
_RECENT = 20
#: Runs an interrupting run cancels before it gives up (others keep taking the thread).
_INTERRUPT_TRIES = 10


class Multitask(StrEnum):
    """What a second run on a busy thread does (see the module docstring)."""

    REJECT = "reject"
    ENQUEUE = "enqueue"
    INTERRUPT = "interrupt"


class Threads:
    """The threads of a runtime's store: ``Runtime.threads``."""

    def __init__(self, host: Host) -> None:
        self._host = host

    # -- records --------------------------------------------------------------------------
    async def create(self, thread_id: str | None = None, *, graph: str | None = None,
                     metadata: dict[str, Any] | None = None,
                     tenant: str = DEFAULT_TENANT) -> ThreadRecord:
        """A new, empty thread of ``tenant``. Raises ThreadExistsError for an id in use."""
        record = ThreadRecord(id=thread_id or str(uuid.uuid4()), graph_name=graph,
                              metadata=dict(metadata or {}), tenant=tenant)
        return await self._host.store.create_thread(record)

    async def get(self, thread_id: str) -> ThreadRecord:
        """The thread; raises ThreadNotFoundError."""
        record = await self._host.store.get_thread(thread_id)
        if record is None:
            raise ThreadNotFoundError(f"no thread {thread_id!r}; create it (POST "
                                      "/api/v1/threads) or start a run with that thread_id",
                                      thread_id=thread_id)
        return record

    async def ensure(self, thread_id: str, graph: str) -> ThreadRecord:
        record = await self._host.store.get_thread(thread_id)
        if record is not None:
            return record
        try:
            return await self.create(thread_id, graph=graph)
        except ThreadExistsError:   # another start created it meanwhile: use that one
            return await self.get(thread_id)

    async def list(self, *, limit: int = 100, offset: int = 0,
                   tenant: str | None = None) -> list[ThreadRecord]:
        """Threads (of ``tenant``, if given), newest first, a page at a time."""
        return await self._host.store.list_threads(limit=limit, offset=offset, tenant=tenant)

    async def runs(self, thread_id: str) -> builtins.list[RunRecord]:
        """The thread's runs, oldest first."""
        await self.get(thread_id)
        found: builtins.list[RunRecord] = []
        while True:
            page = await self._host.store.list_runs(thread_id=thread_id, limit=100,
                                                    offset=len(found))
            found += page
            if len(page) < 100:
                return found[::-1]

    async def history(self, thread_id: str, *, after: tuple[str, int] | None = None,
                      limit: int | None = None) -> builtins.list[Checkpoint]:
        """The checkpoints of the thread's runs, run by run, oldest first (each run's led
        by its input, step 0: runtime.history): those after
        ``after`` (a run id and step, where the previous page ended), at most ``limit``
        (None: all). Raises ThreadNotFoundError, and StateError for an ``after`` whose
        run is not one of the thread's."""
        runs = [r.id for r in await self.runs(thread_id)]
        start, step = 0, -1
        if after is not None:
            if after[0] not in runs:
                raise StateError(f"thread {thread_id!r} has no run {after[0]!r} to go on "
                                 "after; start from the first page")
            start, step = runs.index(after[0]), after[1]
        out: builtins.list[Checkpoint] = []
        for run_id in runs[start:]:
            left = None if limit is None else limit - len(out)
            if left == 0:
                break
            out += await history(self._host.store, run_id, after=step, limit=left)
            step = -1
        return out

    async def state(self, thread_id: str) -> dict[str, Any]:
        """The data a new run of the thread starts from (before its input)."""
        record = await self.get(thread_id)
        done = await self._host.store.list_runs(thread_id=thread_id,
                                                status=RunStatus.COMPLETED.value, limit=_RECENT)
        finals = [r for r in done if r.final_state is not None]
        if finals:
            last = max(finals, key=lambda r: (r.completed_at or r.updated_at, r.created_at))
            assert last.final_state is not None
            return dict(last.final_state.get("data") or {})
        return dict(record.state or {})

    async def copy(self, thread_id: str, new_id: str | None = None) -> ThreadRecord:
        """A new thread that starts from ``thread_id``'s latest state (a fork of the
        conversation); the original is untouched."""
        source = await self.get(thread_id)
        record = ThreadRecord(id=new_id or str(uuid.uuid4()), tenant=source.tenant,
                              graph_name=source.graph_name,
                              state=await self.state(thread_id), metadata=dict(source.metadata),
                              copied_from=thread_id)
        return await self._host.store.create_thread(record)

    async def delete(self, thread_id: str) -> int:
        """Delete the thread and its runs; return how many runs went. Raises
        ThreadBusyError while a run of it is active (cancel it first),
        ThreadNotFoundError for an unknown thread."""
        await self.get(thread_id)
        runs = await self.runs(thread_id)
        for run in runs:
            if run.status in ACTIVE:
                raise ThreadBusyError(
                    f"thread {thread_id!r} has a {run.status.value} run ({run.id}); cancel it "
                    "before deleting the thread", thread_id=thread_id, active_run_id=run.id)
        await self._host.store.delete_thread(thread_id)
        return len(runs)

    # -- one writer -------------------------------------------------------------------------
    async def take(self, thread_id: str, record: RunRecord, strategy: Multitask) -> None:
        """Create ``record``'s run holding the thread, in one step: refuse it (reject)
        or cancel the active run first (interrupt) when the thread is busy. (Enqueued
        runs are created at once and wait in :meth:`admit`.)"""
        for _ in range(_INTERRUPT_TRIES):
            holder = await self._host.store.claim_thread(thread_id, record.id, create=record)
            if holder is None:
                return
            if holder == "":
                raise ThreadNotFoundError(f"thread {thread_id!r} was deleted meanwhile",
                                          thread_id=thread_id)
            if strategy is Multitask.REJECT:
                raise ThreadBusyError(
                    f"thread {thread_id!r} is busy with run {holder}; wait for it, or start "
                    "with multitask='enqueue' (run after it) or 'interrupt' (cancel it)",
                    thread_id=thread_id, active_run_id=holder)
            try:
                await self._host.cancel(holder)
            except RunFinishedError:
                pass  # it ended by itself meanwhile: take the thread now
        raise ThreadBusyError(
            f"thread {thread_id!r}: run after run took it while cancelling them; try again",
            thread_id=thread_id, active_run_id=holder or "")

    async def admit(self, run: Run) -> None:
        """Before a run of a thread executes (first start, enqueued, or recovered): hold
        the thread, waiting while another run does; on its first start, merge its input
        into the thread's latest state."""
        thread_id = run.thread_id
        assert thread_id is not None
        store = self._host.store
        while True:
            holder = await store.claim_thread(thread_id, run.id)
            if holder is None:
                break
            if holder == "":
                raise ThreadNotFoundError(f"thread {thread_id!r} was deleted before run "
                                          f"{run.id} could start", thread_id=thread_id)
            live = self._host.table.live(holder)
            if live is not None:
                await live.wait()
            else:
                await self._host.table.changed(holder, POLL_SECONDS)
        if run.thread_merged:
            return
        data = await self.state(thread_id)
        apply_values(data, run.input, run.graph.reducers, "thread input", node=None,
                     run_id=run.id)
        run.supervisor.state.data = data
        run.thread_merged = True
        record = await store.get_run(run.id)
        options = {**(record.options if record is not None else {}), "thread_merged": True}
        await store.update_run(run.id, options=options, updated_at=utcnow(),
                               initial_state=run.state.model_dump(mode="json", fallback=repr))
