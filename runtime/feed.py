"""Following a run's events across pauses, resumes and processes.

A run's EventHub lives only while the run executes. ``Feed.follow`` stitches
what a reader needs together: the store's copy of older events, the live hub,
and, while the run waits for an answer (holding no task), a wait until it
resumes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

from .errors import RunNotFoundError
from .events import DEFAULT_SUBSCRIBER_BUFFER, Event
from .runs import POLL_SECONDS, RunTable
from .status import RunStatus
from .store.base import Store

__all__ = ["POLL_SECONDS", "Feed"]



class Feed:
    def __init__(self, table: RunTable, store: Store) -> None:
        self._table = table
        self._store = store

    async def follow(self, run_id: str, since: int = 0,
                     buffer: int = DEFAULT_SUBSCRIBER_BUFFER) -> AsyncIterator[Event]:
        while True:
            run = self._table.get(run_id)
            if run is not None:
                async for event in run.hub.subscribe(since, buffer):
                    yield event
                    since = event.seq + 1
                if run.status.finished:
                    return
                if not run.done:
                    await run.wait()
                if self._table.closed:
                    return   # paused or released as its runtime closed: nothing goes on here
                if run.status is RunStatus.WAITING or run.status is RunStatus.PENDING:
                    await self._table.changed(run_id, self._table.poll_seconds)
                continue
            with self._table.watching(run_id) as changed:
                record = await self._store.get_run(run_id)
                if record is None:
                    raise RunNotFoundError(f"no run {run_id!r}", run_id=run_id)
                for event in await self._store.read_events(run_id, since):
                    yield event
                    since = event.seq + 1
                if record.status.finished or self._table.closed:
                    return
                # Waiting for an answer, or executing in another process: look again
                # when it changes (here, or notified by its process), or after a while.
                with anyio.move_on_after(self._table.poll_seconds):
                    await changed.wait()
