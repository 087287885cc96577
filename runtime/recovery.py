"""Crash recovery: the runs a crashed process left unfinished go on here.

When a runtime opens its store it claims the runs whose owner is gone (``running`` or
``pending``: executing, or waiting for a slot, when their process died; a run whose
owner is another live process on this host, such as an ``actorflow run`` beside a
starting ``serve``, is left to it) and resumes
each from its last checkpoint: the activations in flight then run again (at least
once). A run that crashes again and again (``max_interruptions``) is failed instead of
looping. One whose graph this process cannot rebuild (not registered, not stored, its
functions importable only in another program, say that program's ``__main__``) is left
as it was for a runtime that can (a script that opens the store only to look must not
end the application's runs); under a lease (a cluster) it is failed with the reason.
Runs waiting for an answer are left alone: they wait for a person, not a process.

While it is open, such a runtime also watches for runs whose process dies later
(:func:`adopt_orphans`, every ``orphan_check`` seconds): an ``actorflow run`` killed
beside a running ``serve`` leaves its run ``running``, and only a process of this host
can tell that its owner is gone (:func:`runtime.owner.owner_gone`). Owners on other
hosts, and live ones, keep their runs. The takeover is one conditional update of the
owner (:meth:`Store.adopt_runs`): of two processes taking one run, one gets it.

In a cluster (:mod:`runtime.lease`) nothing is claimed at open: the claimer takes runs
whose lease expired, and each goes on through :func:`resume_claimed`.
"""

from __future__ import annotations

import logging

from .errors import GraphError, RunInterrupted, StoreError
from .host import Host
from .owner import owner_alive, owner_gone
from .run import Run
from .state import WorkflowState
from .status import RunStatus
from .store.base import Checkpoint, RunRecord

__all__ = ["adopt_orphans", "next_seq", "recover", "restore_run", "resume_claimed"]

log = logging.getLogger("actorflow.recovery")


async def recover(host: Host) -> None:
    """Claim the runs an owner that is gone left unfinished, and resume them."""
    claimed = await host.store.claim_orphaned_runs(host.instance_id, alive=owner_alive)
    for record in claimed:
        if record.status is RunStatus.WAITING:
            continue  # waits for an answer, not for a process
        await resume_claimed(host, record, hand_back=True)


async def adopt_orphans(host: Host) -> list[str]:
    """Take over and resume the runs (``running`` or ``pending``) whose owner was a
    process of this host that no longer exists; the ids of those taken.

    One read when there is nothing to take (the owners of the active runs not ours);
    the claim is a conditional update of the owner, so a run another process took
    meanwhile (or that finished) is not taken twice."""
    owners = await host.store.owners_of_active_runs(host.instance_id)
    gone = [owner for owner in owners if owner_gone(owner)]
    if not gone:
        return []
    adopted = await host.store.adopt_runs(gone, host.instance_id)
    for record in adopted:
        log.warning("run %s: the process that executed it (%s) is gone; resuming it "
                    "here from its last checkpoint", record.id, ", ".join(gone))
        await resume_claimed(host, record, hand_back=True)
    return [record.id for record in adopted]


async def resume_claimed(host: Host, record: RunRecord, *, fresh: bool = False,
                         hand_back: bool = False) -> bool:
    """Resume a run just claimed from a process that is gone (or from the queue); False
    when it was failed instead (too many crashes, graph gone), or handed back.
    ``fresh``: the run has no checkpoint and no event yet (it starts from its input).
    ``hand_back``: a run whose graph cannot be rebuilt here is not failed but kept,
    owned by this runtime and not executed, for a runtime that can rebuild it to take
    over once this process is gone (claimed without a lease)."""
    if record.interruptions > host.max_interruptions:
        await host.store.update_run(
            record.id, status=RunStatus.FAILED, error_type="RunInterrupted",
            error=str(RunInterrupted(
                f"run {record.id} was interrupted {record.interruptions} times by crashes "
                f"(limit {host.max_interruptions}); not resuming it again", run_id=record.id)))
        return False
    try:
        run = await restore_run(host, record, fresh=fresh)
    except GraphError as exc:
        if not hand_back:
            await _fail(host, record, exc)
            return False
        log.warning("run %s of graph %r is not resumed here: %s. It is left as it was for "
                    "a runtime that knows its graph (Runtime(graphs=[...])); a runtime "
                    "opened only to read runs can say recover=False", record.id,
                    record.graph_name, exc)
        # The claim counted a crash; looking at the run is not one. It stays ours
        # (claimed, not executed) rather than nobody's: a runtime that can rebuild it
        # takes it over once this process is gone (its orphan watch, or its start),
        # as it would have from the process that died.
        undo = 1 if record.status is RunStatus.RUNNING else 0
        await host.store.update_run(record.id, owner=host.instance_id,
                                    interruptions=max(0, record.interruptions - undo))
        return False
    except StoreError as exc:
        await _fail(host, record, exc)
        return False
    host.table.launch(run)
    return True


async def _fail(host: Host, record: RunRecord, exc: Exception) -> None:
    await host.store.update_run(record.id, status=RunStatus.FAILED,
                                error_type=type(exc).__name__, error=f"cannot resume: {exc}")


async def restore_run(host: Host, record: RunRecord, *,
                      checkpoint: Checkpoint | None = None, fresh: bool = False) -> Run:
    """A Run that continues ``record`` from ``checkpoint`` (default: its latest), with
    the graph it started with (an answer is in the checkpoint: see
    ``timetravel.resume_stored``). ``fresh``: known to have no checkpoint and no event
    (nothing to read back)."""
    compiled = await host.graphs.of_run(record)
    state = WorkflowState.model_validate(record.initial_state)
    status = RunStatus.WAITING if record.status is RunStatus.WAITING else RunStatus.PENDING
    run = Run.from_options(compiled, state, record.options, store=host.store,
                           graph_id=record.graph_id, owner=host.instance_id, status=status)
    if fresh:
        run.continue_events(0)
        return run
    cp = checkpoint or await host.store.latest_checkpoint(record.id)
    if cp is not None:
        run.restore(cp, next_seq=await next_seq(host, record.id, cp.next_seq))
    else:
        # Interrupted before its first step: start over, numbering events on.
        run.continue_events(await next_seq(host, record.id, 0))
    return run


async def next_seq(host: Host, run_id: str, since: int) -> int:
    """The sequence number after the run's last stored event (at least ``since``)."""
    later = await host.store.read_events(run_id, since)
    return later[-1].seq + 1 if later else since
