"""Following a run's events across pauses, resumes and processes.

A run's EventHub lives only while the run executes. ``Feed.follow`` stitches
what a reader needs together: the store's copy of older events, the live hub,
and, while the run waits for an answer (holding no task), a wait until it
resumes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio

from .errors import RunNotFoundError
from .events import DEFAULT_SUBSCRIBER_BUFFER, Event
from .status import RunStatus

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["Feed"]

#: How often a reader re-reads the store for a run that is not in this process.
POLL_SECONDS = 0.5


class Feed:
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        # run id -> the events of the readers waiting for it to change. Each reader
        # removes its own on the way out, so a reader that leaves early (a closed
        # WebSocket) leaves nothing behind.
        self._waiters: dict[str, set[anyio.Event]] = {}

    def notify(self, run_id: str) -> None:
        """The run started, stopped or paused in this process: wake its readers."""
        for event in self._waiters.pop(run_id, ()):
            event.set()

    async def changed(self, run_id: str, timeout: float | None = POLL_SECONDS) -> None:
        """Return when this process starts, stops or pauses the run, or after ``timeout``
        (a run executing in another process changes unseen)."""
        await self._changed(run_id, timeout)

    async def _changed(self, run_id: str, timeout: float | None) -> None:
        event = anyio.Event()
        waiters = self._waiters.setdefault(run_id, set())
        waiters.add(event)
        try:
            with anyio.move_on_after(timeout):
                await event.wait()
        finally:
            waiters.discard(event)
            if not waiters and self._waiters.get(run_id) is waiters:
                del self._waiters[run_id]

    async def follow(self, run_id: str, since: int = 0,
                     buffer: int = DEFAULT_SUBSCRIBER_BUFFER) -> AsyncIterator[Event]:
        while True:
            run = self._rt._runs.get(run_id)
            if run is not None:
                async for event in run.hub.subscribe(since, buffer):
                    yield event
                    since = event.seq + 1
                if run.status.finished:
                    return
                if not run.done:
                    await run.wait()
                if run.status is RunStatus.WAITING or run.status is RunStatus.PENDING:
                    await self._changed(run_id, POLL_SECONDS)
                continue
            record = await self._rt.store.get_run(run_id)
            if record is None:
                raise RunNotFoundError(f"no run {run_id!r}", run_id=run_id)
            for event in await self._rt.store.read_events(run_id, since):
                yield event
                since = event.seq + 1
            if record.status.finished:
                return
            # Waiting for an answer, or executing in another process: look again when
            # this process changes it, or after a while.
            await self._changed(run_id, POLL_SECONDS)
