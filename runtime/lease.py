"""Leases: many processes share one database's runs, none executes a run twice.

A runtime opened with ``cluster=ClusterSettings(...)`` on a SQL store:

- holds a **lease** on every run it executes: taken when it starts, resumes or forks
  the run here (:meth:`Leases.acquire`), or when it claims a queued or abandoned run;
  renewed by a heartbeat every ``heartbeat_seconds``, from a thread and a connection
  of its own (:mod:`runtime.store.renewer`: a blocked loop keeps its leases up to
  ``max_stall_seconds``); given back when the run stops
  here (finished, paused for an answer, or handed back by a drain: then claimable at
  once). A lease not renewed for ``lease_seconds`` has expired: another process claims
  the run and resumes it from its last checkpoint.
- **claims** queued and expired runs while it has capacity (``concurrency`` runs at
  once), oldest first, woken by ``NOTIFY`` on PostgreSQL, else every ``poll_seconds``.
- is **fenced**: each claim numbers the lease (``lease_epoch``) and every checkpoint,
  event and status write of the run proves that number in the database
  (:mod:`runtime.store.queue`); a process whose lease was taken over (stopped, paused,
  cut off) has its writes refused, and its heartbeat tells it to abandon the run.

Memory stores are per process and have no leases (a cluster needs a SQL store).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import anyio
from anyio.abc import TaskStatus

from .errors import StoreError
from .host import Host
from .recovery import resume_claimed
from .run import Run
from .status import RunStatus
from .store.availability import Availability
from .store.base import RunRecord
from .store.portal import threadsafe_caller

if TYPE_CHECKING:  # the renewer imports the database driver: only a cluster loads it
    from .store.renewer import Beat, Renewer

__all__ = ["ClusterSettings", "LeaseStore", "Leases"]

#: How often the event loop proves to the heartbeat thread that it runs.
TICK_SECONDS = 0.25

log = logging.getLogger("actorflow.lease")


@dataclass(frozen=True)
class ClusterSettings:
    """How this process takes part in a cluster sharing one database.

    Args:
        execute: claim and execute runs (False: only serve and enqueue them).
        concurrency: runs this process executes at once (a per-process limit).
        lease_seconds: a lease not renewed for that long lets another process take the
            run over (the takeover time after a crash, at most about this plus
            ``poll_seconds``).
        heartbeat_seconds: how often leases are renewed (well under ``lease_seconds``).
        poll_seconds: how often to look for claimable runs when nothing wakes us.
        graph_limits: graph name -> the most runs of that graph executing at once in
            the whole cluster (counted in the database at claim time; runs over it stay
            queued). Give every process of the cluster the same limits: each claimer
            keeps the ones it was given. Runs started, resumed or forked directly on a
            process (not queued) count toward a limit but are not held back by it.
        max_stall_seconds: the heartbeat (its own thread) renews leases while the event
            loop is blocked up to this long (a CPU-bound ``async`` node); a loop
            blocked longer counts as wedged, and its runs are taken over.
    """

    execute: bool = True
    concurrency: int = 100
    lease_seconds: float = 8.0
    heartbeat_seconds: float = 2.0
    poll_seconds: float = 1.0
    graph_limits: Mapping[str, int] = field(default_factory=dict)
    max_stall_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name, most in self.graph_limits.items():
            if most < 1:
                raise ValueError(f"the cluster-wide limit of graph {name!r} must be at least "
                                 f"1, not {most}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if not 0 < self.heartbeat_seconds < self.lease_seconds:
            raise ValueError(f"heartbeat_seconds ({self.heartbeat_seconds}) must be positive "
                             f"and below lease_seconds ({self.lease_seconds})")


@runtime_checkable
class LeaseStore(Protocol):
    """What leases need from a store (SQLStore has it; a memory store does not)."""

    fences: dict[str, int]

    @property
    def availability(self) -> Availability: ...

    async def claim_runs(self, owner: str, limit: int, lease: float,
                         graph_limits: Mapping[str, int] | None = None, *,
                         takeover: bool = True) -> list[RunRecord]: ...

    async def acquire_lease(self, run_id: str, owner: str, lease: float) -> int | None: ...

    async def hold_lease(self, run_id: str, lease: float) -> RunStatus | None: ...

    async def started_runs(self, run_ids: list[str]) -> set[str]: ...

    async def renew_leases(self, owner: str, lease: float) -> dict[str, int]: ...

    async def release_lease(self, run_id: str, *, wake: bool = False) -> None: ...

    def renewer(self, beat: Beat) -> Renewer: ...

    async def listen(self, channels: dict[str, Callable[[str], None]],
                     on_reconnect: Callable[[], None] | None = None) -> bool: ...

    async def notify(self, channel: str, payload: str) -> None: ...


class Leases:
    """This process's leases; the run table's gate (:meth:`acquire`, :meth:`release`)."""

    def __init__(self, host: Host, store: LeaseStore, settings: ClusterSettings) -> None:
        self.host, self.store, self.settings = host, store, settings
        self.claiming = settings.execute
        self._wakeup = anyio.Event()
        self._alive_at = time.monotonic()   # this loop's last tick (read by the renewer)
        self._renewer: Renewer | None = None

    # -- the gate of the run table ----------------------------------------------------------
    async def acquire(self, run: Run) -> bool:
        """Hold the run's lease before it executes here; False: another process has it."""
        if run.id in self.store.fences:
            return True  # claimed by us a moment ago
        epoch = await self.store.acquire_lease(run.id, self.host.instance_id,
                                               self.settings.lease_seconds)
        return epoch is not None

    async def release(self, run: Run) -> None:
        """The run stopped here: give its lease back. A run handed back unfinished (a
        drain) is claimable at once, and the claimers are told."""
        handed_back = run.status in (RunStatus.PENDING, RunStatus.RUNNING)
        # A run of a limited graph stopping frees a slot of that graph for every claimer.
        limited = run.graph.name in self.settings.graph_limits
        try:
            await self.store.release_lease(run.id, wake=handed_back or limited)
        except StoreError as exc:  # it expires on its own
            log.warning("could not give back the lease of run %s: %s", run.id, exc)
        self.wake()  # a slot is free

    # -- background work ----------------------------------------------------------------------
    def wake(self) -> None:
        """Look for claimable runs now (a run was queued, or a slot freed)."""
        self._wakeup.set()

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
                    ) -> None:
        """Heartbeat (and claim, if this process executes) until cancelled.

        The heartbeat runs on a thread and a connection of its own
        (:mod:`runtime.store.renewer`), so a node that blocks this loop does not cost
        the leases; this loop only proves it is alive, every :data:`TICK_SECONDS`."""
        from .store.renewer import Beat

        self._alive_at = time.monotonic()
        renewer = self.store.renewer(Beat(
            owner=self.host.instance_id, lease=self.settings.lease_seconds,
            period=self.settings.heartbeat_seconds,
            max_stall=self.settings.max_stall_seconds, fences=self.store.fences,
            alive=lambda: self._alive_at, lost=threadsafe_caller(self._lost_epoch)))
        await renewer.open()
        self._renewer = renewer
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._tick_forever, name="lease liveness tick")
                if self.settings.execute:
                    tg.start_soon(self._claim_forever, name="lease claimer")
                task_status.started()
        finally:
            self._renewer = None
            with anyio.move_on_after(10, shield=True):
                await renewer.close()

    def check(self, run_id: str) -> None:
        """Another process ended the run (a cancel): if it executes here, renew now, which
        finds the lease gone and stops the run, instead of at the next heartbeat."""
        if self.host.table.live(run_id) is not None and self._renewer is not None:
            self._renewer.beat_now()

    async def _tick_forever(self) -> None:
        while True:
            self._alive_at = time.monotonic()
            await anyio.sleep(TICK_SECONDS)

    def _lost_epoch(self, lost: str) -> None:
        epoch, _, run_id = lost.partition(":")
        run = self.host.table.live(run_id)
        if run is not None and run.status.finished:
            return  # it finished here a moment ago: its lease ended with it
        if self.store.fences.get(run_id) == int(epoch):
            self._lost(run_id)

    def _lost(self, run_id: str) -> None:
        run = self.host.table.live(run_id)
        log.warning("lost the lease of run %s (another process took it over, or it was "
                    "cancelled elsewhere): abandoning it here", run_id)
        if run is not None:
            run.abandon()

    async def _claim_forever(self) -> None:
        while True:
            self._wakeup = anyio.Event()
            if self.claiming:
                try:
                    if await self.claim_once():
                        continue  # there may be more
                except StoreError as exc:
                    log.warning("claiming runs failed (retrying): %s", exc)
                except Exception:  # noqa: BLE001 - a bug here must not end the process's runs
                    log.exception("claiming runs failed (retrying)")
            with anyio.move_on_after(self.settings.poll_seconds):
                await self._wakeup.wait()

    async def claim_once(self) -> bool:
        """Claim what fits in our free capacity; True if all of it was filled."""
        free = self.settings.concurrency - self.host.table.executing
        if free <= 0:
            return False
        records = await self.store.claim_runs(self.host.instance_id, free,
                                              self.settings.lease_seconds,
                                              self.settings.graph_limits or None,
                                              takeover=self.may_take_over())
        # A run that executed before resumes from its checkpoint and last event (two
        # reads each, side by side); one query tells which: a run fresh from the queue
        # (most claims) has nothing to read back.
        try:
            started = await self.store.started_runs([r.id for r in records])
        except StoreError as exc:  # the runs are ours now: read each one back instead
            log.warning("could not tell fresh claimed runs from resumed ones: %s", exc)
            started = {r.id for r in records}
        async with anyio.create_task_group() as tg:
            for record in records:
                tg.start_soon(self._take, record, record.id not in started)
        return len(records) == free

    def may_take_over(self) -> bool:
        """May we claim runs whose lease expired? Not during an outage of the database
        we saw, nor for ``lease_seconds`` after it: their holders could not renew
        either, and get one lease period to do it (their runs held, and go on).
        Runs whose holder died meanwhile are taken over after that."""
        since = self.store.availability.since_recovery()
        return not self.store.availability.down and (
            since is None or since >= self.settings.lease_seconds)

    async def _take(self, record: RunRecord, fresh: bool) -> None:
        if not await resume_claimed(self.host, record, fresh=fresh):
            await self.store.release_lease(record.id)
