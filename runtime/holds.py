"""Changing a stopped run from any process of a cluster, safely.

A run that waits for an answer, finished, or was left behind holds no lease, so any
instance may be asked to change it, and two may be asked at once, while a third claims
it. Each change therefore goes through the run's lease first, as execution does:

- a **state edit** *holds* the lease while it writes (:func:`holding`): nobody claims,
  resumes or edits the run meanwhile, the edit's writes are fenced (a zombie that still
  thinks it executes the run has its writes refused), and a run executing elsewhere is
  refused with a clear error instead of getting a second writer;
- a **fork** is *born leased* (:func:`born_leased`): its record is never claimable by
  another process before its first checkpoint is written (which a claimer would
  otherwise miss, running the fork from the graph's start);
- an **answer** *takes* the lease before the run goes on here (:func:`taking`): of two
  instances answering one waiting run, one resumes it and the other is told, rather
  than accepting an answer its run will never see.

A process alone on its store (no cluster) has no leases: its run table is the gate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio

from .errors import RunError, RunNotFoundError
from .host import Host
from .interrupts import InvalidResume
from .lease import Leases, LeaseStore
from .status import RunStatus
from .store.base import RunRecord, utcnow

__all__ = ["born_leased", "holding", "taking"]

#: Seconds a lease hand-back may take when the block ends by cancellation.
_GIVE_BACK = 10


def _cluster(rt: Host) -> tuple[Leases, LeaseStore] | None:
    gate = rt.table.gate
    return (gate, gate.store) if isinstance(gate, Leases) else None


async def _holder(rt: Host, run_id: str) -> str:
    record = await rt.store.get_run(run_id)
    if record is None:
        raise RunNotFoundError(f"no run {run_id!r} in the store", run_id=run_id)
    return record.owner or "another process"


def born_leased(rt: Host, record: RunRecord) -> None:
    """In a cluster, create ``record`` under this process's lease (epoch 1), as
    ``Runtime.start`` does: it executes here, and nobody claims it meanwhile."""
    cluster = _cluster(rt)
    if cluster is not None:
        record.lease_epoch = 1
        record.lease_until = utcnow() + timedelta(seconds=cluster[0].settings.lease_seconds)


@asynccontextmanager
async def holding(rt: Host, run_id: str, what: str) -> AsyncIterator[None]:
    """Hold the run's lease for a change made without executing it (``what``: "edit the
    state of"). Raises RunError while another process executes or changes the run."""
    cluster = _cluster(rt)
    if cluster is None:
        yield
        return
    leases, store = cluster
    status = await store.hold_lease(run_id, leases.settings.lease_seconds)
    if status is None:
        holder = await _holder(rt, run_id)
        raise RunError(f"cannot {what} run {run_id} now: {holder} executes it (or is changing "
                       "it); wait until it stops or pauses for an answer, then retry",
                       run_id=run_id)
    try:
        yield
    finally:
        # A run still to be executed (left behind) is claimable again: tell the claimers.
        claimable = status in (RunStatus.PENDING, RunStatus.RUNNING)
        with anyio.move_on_after(_GIVE_BACK, shield=True):
            await store.release_lease(run_id, wake=claimable)


@asynccontextmanager
async def taking(rt: Host, run_id: str) -> AsyncIterator[None]:
    """Take the lease of a waiting run this process is about to resume; kept when the
    block succeeds (the run executes here under it), given back when it fails. Raises
    InvalidResume while another process holds the run (resuming or changing it)."""
    cluster = _cluster(rt)
    if cluster is None:
        yield
        return
    leases, store = cluster
    epoch = await store.acquire_lease(run_id, rt.instance_id, leases.settings.lease_seconds)
    if epoch is None:
        holder = await _holder(rt, run_id)
        raise InvalidResume(f"run {run_id} is being resumed or changed by {holder}; "
                            "look at its status, then answer again if it still waits",
                            run_id=run_id)
    try:
        yield
    except BaseException:
        with anyio.move_on_after(_GIVE_BACK, shield=True):
            await store.release_lease(run_id)
        raise
