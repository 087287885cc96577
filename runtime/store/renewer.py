"""The lease heartbeat, on a thread and a database connection of its own.

Why a thread: a node that blocks the event loop (CPU-bound code in an ``async`` node,
a blocking call) would otherwise delay the heartbeat past the lease, and another
process would take the run over while it still executes here (LangGraph's server
does this: langgraph#7417). Why a connection of its own: under asyncio the store's
connections live on the runtime's loop, blocked with it.

But a thread that renews whatever happens would keep the runs of a process whose loop
is wedged for good. So the runtime's loop proves it is alive (``alive()``, a tick it
updates every fraction of a second) and the renewer stops renewing once it has not
ticked for ``max_stall`` seconds: a loop blocked longer than that loses its leases, as
a dead process does.

Leases lost (taken over, or revoked by a cancel sent elsewhere) are reported through
``lost("<epoch>:<run id>")``, a thread-safe callback into the runtime's loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .base import utcnow
from .db import Db, Session
from .portal import LoopThread, wait_future
from .queue import renew

__all__ = ["Beat", "Renewer"]

log = logging.getLogger("actorflow.lease")


@dataclass(frozen=True)
class Beat:
    """What the renewer renews, how often, and whom it tells."""

    owner: str
    lease: float                       # seconds each renewal extends a lease by
    period: float                      # seconds between renewals
    max_stall: float                   # renew only while the loop ticked this recently
    fences: dict[str, int]             # the store's: run id -> epoch of each lease held
    alive: Callable[[], float]         # monotonic time of the runtime loop's last tick
    lost: Callable[[str], None]        # "<epoch>:<run id>" of a lease no longer held


class Renewer:
    """Renews ``beat.owner``'s leases every ``beat.period`` from its own thread."""

    def __init__(self, db: Db, beat: Beat) -> None:
        self._db, self._beat = db, beat
        self._thread = LoopThread("actorflow-heartbeat")
        self._now: asyncio.Event | None = None
        self._task: Any = None
        self.renewals = 0
        self.stalled = False             # the runtime's loop did not tick in time

    async def open(self) -> None:
        self._thread.start()
        try:
            await wait_future(self._thread.submit(self._start))
        except BaseException:
            await self._thread.stop()
            raise

    async def _start(self) -> None:
        await self._db.connect()
        self._now = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def close(self) -> None:
        if not self._thread.running:
            return

        async def stop() -> None:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            await self._db.disconnect()

        try:
            await wait_future(self._thread.submit(stop))
        finally:
            await self._thread.stop()

    def beat_now(self) -> None:
        """Renew now (callable from any thread): a lease may have been revoked."""
        if self._now is not None and self._thread.running:
            self._thread.loop.call_soon_threadsafe(self._now.set)

    async def _forever(self) -> None:
        assert self._now is not None
        while True:
            try:
                await asyncio.wait_for(self._now.wait(), self._beat.period)
            except TimeoutError:
                pass
            self._now.clear()
            await self.once()

    async def once(self) -> None:
        beat = self._beat
        stall = time.monotonic() - beat.alive()
        if stall > beat.max_stall:
            if not self.stalled:
                log.error("the event loop has not run for %.0f s (max_stall %.0f s): no "
                          "longer renewing leases, so other processes take the runs over",
                          stall, beat.max_stall)
            self.stalled = True
            return
        self.stalled = False
        ours = beat.fences.copy()  # one C call under the GIL: a consistent copy
        until = utcnow() + timedelta(seconds=beat.lease)

        async def unit(s: Session) -> dict[str, int]:
            return await renew(s, beat.owner, until)

        try:
            held = await self._db.run(unit, writer=True,
                                      deadline=time.monotonic() + beat.period)
        except Exception as exc:  # noqa: BLE001 - an outage or a bug: retried next beat
            log.warning("lease heartbeat failed (retrying): %s", exc)
            return
        self.renewals += 1
        for run_id, epoch in ours.items():
            if held.get(run_id) != epoch:
                beat.lost(f"{epoch}:{run_id}")
