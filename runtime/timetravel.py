"""Resuming, inspecting, editing, forking and replaying stored runs.

Everything here starts from a run's record and checkpoints in the store, so it
works the same for a run that waits (holding no task), a run that finished long
ago, and a run a crashed process left behind.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .compiled import CompiledGraph
from .errors import (
    ActorflowError,
    CheckpointNotFoundError,
    RunError,
    RunFinishedError,
    RunNotFoundError,
    StateError,
)
from .events import Event, EventType
from .history import input_checkpoint
from .holds import born_leased, holding, taking
from .host import Host
from .interrupts import InvalidResume, validate_answer
from .position import NO_ITEM, Activation, Position, WaitEntry
from .recovery import next_seq, restore_run
from .run import Run, pick_interrupt
from .state import WorkflowState, apply_values, check_json, validate_data
from .status import RunStatus
from .store.base import Checkpoint, RunRecord, utcnow
from .subgraph import carry_children

__all__ = [
    "cancel_stored", "fork", "get_state", "replay", "resume_stored", "update_state",
    "waiting_interrupts",
]


#: What a run of a thread records about it (runtime.threads); a fork or replay drops it.
_THREAD_OPTIONS = ("thread_id", "thread_merged")


async def _record(rt: Host, run_id: str) -> RunRecord:
    record = await rt.store.get_run(run_id)
    if record is None:
        raise RunNotFoundError(f"no run {run_id!r} in the store", run_id=run_id)
    return record


def _waiting(cp: Checkpoint) -> dict[str, WaitEntry]:
    return cp.position.waiting_by_id if cp.position is not None else {}


async def waiting_interrupts(rt: Host, run_id: str) -> list[dict[str, Any]]:
    """What a stored run waits for (id, kind, node, payload); empty unless waiting."""
    record = await _record(rt, run_id)
    if record.status is not RunStatus.WAITING:
        return []
    cp = await rt.store.latest_checkpoint(run_id)
    return [w.public() for w in _waiting(cp).values()] if cp is not None else []


async def resume_stored(rt: Host, run_id: str, answer: Any,
                        interrupt_id: str | None) -> Run:
    if rt.table.busy(run_id):
        raise InvalidResume(f"run {run_id} is being resumed right now", run_id=run_id)
    with rt.table.resuming(run_id):
        _check_waiting(await _record(rt, run_id))
        # In a cluster, the lease before the run goes on here (another instance may be
        # answering it too); read again under it: that status is the truth.
        async with taking(rt, run_id):
            record = await _record(rt, run_id)
            _check_waiting(record)
            cp = await rt.store.latest_checkpoint(run_id)
            if cp is None:
                raise InvalidResume(f"run {run_id} has no checkpoint to resume from",
                                    run_id=run_id)
            entry = pick_interrupt(_waiting(cp), interrupt_id, run_id)
            value = validate_answer(entry, answer, run_id)
            answered = await _record_answer(rt, cp, entry, value)
            # No longer waiting: pending until it executes (a shutdown before then
            # leaves it pending, for the next runtime to start from the answer's step).
            record = record.model_copy(update={"status": RunStatus.PENDING})
            run = await restore_run(rt, record, checkpoint=answered)
            run.hub.publish(EventType.RESUMED, entry.node, interrupt_id=entry.id)
            rt.table.launch(run)
            return run


async def _record_answer(rt: Host, cp: Checkpoint, entry: WaitEntry, answer: Any
                         ) -> Checkpoint:
    """Commit ``answer`` to a paused run as a step of its own (no node, the state as it
    was, the branch pending again with its answer) before the run goes on, whenever
    that is (at once, or once a slot is free): acknowledged, it survives a crash. The
    run is marked pending first: a crash between the two leaves it to recovery, which
    resumes it from the paused step, waiting again (the answer was not acknowledged),
    or from this one."""
    assert cp.position is not None   # it waits: its position says for what
    seq = await next_seq(rt, cp.run_id, cp.next_seq)
    new = Checkpoint(run_id=cp.run_id, step=cp.step + 1, nodes=[], state=cp.state,
                     changed={}, position=cp.position.answered(entry.id, answer),
                     next_seq=seq)
    await rt.store.update_run(cp.run_id, status=RunStatus.PENDING, owner=rt.instance_id)
    await rt.store.save_checkpoint(new)
    await rt.store.flush()
    return new


def _check_waiting(record: RunRecord) -> None:
    if record.status is not RunStatus.WAITING:
        raise InvalidResume(
            f"run {record.id} is {record.status.value}, not waiting; only a waiting run can be "
            "resumed", run_id=record.id)


async def cancel_stored(rt: Host, run_id: str) -> RunStatus:
    """Mark a run no process executes (waiting, or orphaned) cancelled in the store,
    with a final event for its readers."""
    if rt.table.busy(run_id):
        raise RunError(f"run {run_id} is being resumed right now; cancel it again once "
                       "it executes", run_id=run_id)
    with rt.table.resuming(run_id):  # no resume may start while we end it
        record = await _record(rt, run_id)
        if record.status.finished:
            raise RunFinishedError(f"run {run_id} already {record.status.value}",
                                   run_id=run_id, status=record.status)
        seq = await next_seq(rt, run_id, 0)
        rt.store.append_event(Event(seq, run_id, EventType.RUN_CANCELLED, time.time(), None,
                                    {"error": "cancelled while not executing"}))
        await rt.store.update_run(run_id, status=RunStatus.CANCELLED, completed_at=utcnow(),
                                  error="cancelled while not executing",
                                  error_type="RunCancelled", owner=None)
        await rt.store.flush()
    rt.table.notify(run_id)
    return RunStatus.CANCELLED


async def _checkpoint_at(rt: Host, run_id: str, step: int | None) -> Checkpoint | None:
    if step is None:
        return await rt.store.latest_checkpoint(run_id)
    cp = await rt.store.get_checkpoint(run_id, step)
    if cp is None:
        raise CheckpointNotFoundError(
            f"run {run_id} has no checkpoint at step {step}; list its steps "
            f"(rt.history(run_id), GET /api/v1/runs/{run_id}/history, `actorflow history "
            f"{run_id}`)",
            run_id=run_id, step=step)
    return cp


async def get_state(rt: Host, run_id: str, step: int | None) -> WorkflowState:
    if "/" in run_id:
        # A subgraph's steps (``<run>/<node>:<activation>``) have checkpoints, no record.
        sub = await _checkpoint_at(rt, run_id, step)
        if sub is not None:
            return WorkflowState.model_validate(sub.state)
    record = await _record(rt, run_id)
    if step == 0 and await rt.store.get_checkpoint(run_id, 0) is None:
        # Before its first step a run is its input (what an execution log's
        # ``input_step`` 0 names).
        return WorkflowState.model_validate(record.initial_state)
    cp = await _checkpoint_at(rt, run_id, step)
    return WorkflowState.model_validate(cp.state if cp is not None else record.initial_state)


def _not_executing(rt: Host, run_id: str, what: str) -> None:
    if rt.table.live(run_id) is not None:
        raise RunError(f"cannot {what} run {run_id} while it executes; wait for it to stop "
                       "or pause it with an interrupt", run_id=run_id)


async def update_state(rt: Host, run_id: str, values: dict[str, Any],
                       as_node: str | None) -> Checkpoint:
    _not_executing(rt, run_id, "edit the state of")
    if rt.table.busy(run_id):
        raise RunError(f"run {run_id} is being resumed or edited right now; retry once that "
                       "is done", run_id=run_id)
    with rt.table.resuming(run_id):  # one change of a stored run at a time, here...
        await _record(rt, run_id)
        async with holding(rt, run_id, "edit the state of"):  # ...and in the cluster
            return await _edit(rt, run_id, values, as_node)


async def _edit(rt: Host, run_id: str, values: dict[str, Any],
                as_node: str | None) -> Checkpoint:
    record = await _record(rt, run_id)
    if record.status is RunStatus.PENDING and rt.table.gate is not None:
        # Queued in a cluster: no state of its own yet, and a claimer would take an edit
        # checkpoint for where it stopped.
        raise RunError(f"run {run_id} is queued and has not started: there is no state to "
                       "edit yet; edit it once it pauses or finishes", run_id=run_id)
    compiled = await rt.graphs.of_run(record)
    if as_node is not None and as_node not in compiled.nodes:
        raise StateError(f"update_state: graph {compiled.name!r} has no node {as_node!r}")
    cp = await rt.store.latest_checkpoint(run_id)
    base = cp.state if cp is not None else record.initial_state
    state = WorkflowState.model_validate(base)
    changed = _apply(compiled, state.data, values, as_node or "update_state", run_id)
    if rt.store.durable:
        check_json(changed, as_node or "update_state", run_id)
    position = cp.position if cp is not None else None
    if position is None:
        position = Position.empty(cp.step if cp is not None else 0)
    if as_node is not None and position.idle:
        # "As if as_node wrote it": a fork from here goes on along as_node's edges.
        position = position.continuing_after(as_node)
    seq = await next_seq(rt, run_id, cp.next_seq if cp is not None else 0)
    new = Checkpoint(run_id=run_id, step=(cp.step + 1) if cp is not None else 1,
                     nodes=[as_node or "update_state"], state=state.model_dump(mode="json"),
                     changed=changed, position=position, next_seq=seq + 1)
    await rt.store.save_checkpoint(new)
    rt.store.append_event(Event(seq, run_id, EventType.STATE_UPDATED, time.time(), as_node,
                                {"update": changed, "step": new.step, "manual": True}))
    await rt.store.update_run(run_id, current_state=new.state)
    await rt.store.flush()
    return new


def _apply(compiled: CompiledGraph, data: dict[str, Any], values: dict[str, Any],
           who: str, run_id: str) -> dict[str, Any]:
    """Write ``values`` into ``data`` as a node write would be: through the graph's
    reducers, then its schema; refuse what a node could not write, naming the key."""
    changed = apply_values(data, values, compiled.reducers, who, node=who, run_id=run_id)
    if compiled.state_schema is not None:
        validate_data(compiled.state_schema, data, who, node=who, run_id=run_id)
    return changed


async def fork(rt: Host, run_id: str, step: int | None, *,
               values: dict[str, Any] | None = None, options: dict[str, Any] | None = None
               ) -> Run:
    """A new run going on from checkpoint ``step`` (0: the input) of ``run_id``.

    ``values`` are written into the state there as the node that wrote that step would
    have written them (through reducers and schema), and the run routes on from that
    node with the edited state, as ``update_state(as_node=...)`` does; without values
    it goes on exactly as the original did from there."""
    record = await _record(rt, run_id)
    compiled = await rt.graphs.of_run(record)
    cp = await _fork_point(rt, record, compiled, step)
    if cp is None:
        return await _start_over(rt, record, options or {"forked_from": {"run_id": run_id}})
    if cp.position is None:
        raise ActorflowError(
            f"checkpoint {cp.step} of run {run_id} does not record where the run was; "
            "fork it from another step, or replay it from the start")
    new_id = str(uuid.uuid4())
    state = dict(cp.state, run_id=new_id)
    position = cp.position
    if values:
        data = dict(state.get("data") or {})
        _apply(compiled, data, values, "fork", run_id)
        state["data"] = data
        if cp.step > 0:
            before = await _fork_point(rt, record, compiled, cp.step - 1)
            if before is not None and before.position is not None:
                position = _route_again(before.position, cp) or position
    # A fork or replay is a run of its own, not a turn of the original's thread.
    kept = {k: v for k, v in record.options.items() if k not in _THREAD_OPTIONS}
    opts = {**kept, **(options or {}), "forked_from": {"run_id": run_id, "step": cp.step}}
    ws = WorkflowState.model_validate(state)
    run = Run.from_options(compiled, ws, opts, store=rt.store, graph_id=record.graph_id,
                           owner=rt.instance_id)
    start = Checkpoint(run_id=new_id, step=cp.step, nodes=list(cp.nodes),
                       state=ws.model_dump(mode="json"), changed={}, position=position,
                       next_seq=0, created_at=utcnow())
    created = RunRecord(
        id=new_id, graph_id=record.graph_id, graph_name=record.graph_name,
        status=RunStatus.PENDING, initial_state=ws.model_dump(mode="json"),
        owner=rt.instance_id, parent_run_id=run_id, options=opts,
        tenant=record.tenant)
    born_leased(rt, created)
    await rt.store.create_run(created)
    # Its own first checkpoint, so a crash of the fork resumes the fork.
    await rt.store.save_checkpoint(start)
    await carry_children(rt.store, run_id, new_id, position, compiled, cp.created_at)
    run.restore(start, resumed=False)
    rt.table.launch(run)
    return run


async def _fork_point(rt: Host, record: RunRecord, compiled: CompiledGraph,
                      step: int | None) -> Checkpoint | None:
    """Checkpoint ``step``; for step 0 without one, the input about to enter the graph."""
    if step == 0:
        found = await rt.store.get_checkpoint(record.id, 0)
        return found or input_checkpoint(record, Position.start(compiled.entry_point))
    return await _checkpoint_at(rt, record.id, step)


def _route_again(before: Position, cp: Checkpoint) -> Position | None:
    """``cp``'s position with the one activation that completed at its step routed
    again from its node (what a write "as" that node leaves), or None when that step
    was not one plain node completing (a map item, a failure, an answer...)."""
    now = cp.position
    assert now is not None
    if before.continuing or {w.id for w in before.waiting} != {w.id for w in now.waiting}:
        return None
    still = {a.id for a in now.pending} | {a.id for a in now.continuing} | {
        w.activation.id for w in now.waiting}
    done = [a for a in before.pending if a.id not in still]
    if len(done) != 1 or done[0].item is not NO_ITEM or cp.nodes != [done[0].node]:
        return None
    a = done[0]
    # The frames as they were before its routing, with the writes it made (so that a
    # parallel branch writing the same key is still caught).
    written = {f.id: f.writers for f in now.frames}
    frames = []
    for f in before.frames:
        f = f.copy()
        f.writers.update(written.get(f.id, {}))
        frames.append(f)
    return Position(tuple(p for p in before.pending if p.id != a.id), before.waiting,
                    (Activation(a.id, a.node, a.frames),), tuple(frames), before.next_activation,
                    before.next_frame, before.dispatched)


async def _start_over(rt: Host, record: RunRecord, extra: dict[str, Any]) -> Run:
    options = {k: v for k, v in record.options.items()
               if k not in ("forked_from", "replay_of", *_THREAD_OPTIONS)}
    data = dict((record.initial_state or {}).get("data") or {})
    # A stored graph never changes; any other run starts over with its own definition.
    graph = record.graph_id or await rt.graphs.of_run(record)
    return await rt.start(graph, data, parent_run_id=record.id, tenant=record.tenant,
                          **{**options, **extra})


async def replay(rt: Host, run_id: str, step: int | None) -> Run:
    record = await _record(rt, run_id)
    if not record.status.finished:
        raise RunError(f"run {run_id} is {record.status.value}; only a finished run is replayed",
                       run_id=run_id)
    marker = {"replay_of": {"run_id": run_id, "step": step}}
    if step is None:
        return await _start_over(rt, record, marker)
    return await fork(rt, run_id, step, options=marker)
