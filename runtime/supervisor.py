"""The supervisor actor: owns one run's state and routing.

It dispatches activations to node actors, receives their results over one
memory object stream, merges updates through reducers, checkpoints each step,
publishes events and decides what runs next. It is the only writer of the
run's state, so merging needs no locks. Node actors are child tasks of the
supervisor's task group: when the supervisor returns, raises or is cancelled,
none of them outlives it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

from .actor import Execution, NodeActor, Result
from .compiled import CompiledGraph, CompiledNode, MapRoute
from .errors import (
    MaxStepsExceeded,
    ParallelWriteConflict,
    RunError,
    RunFailed,
    StateError,
)
from .events import EventType, Publisher
from .failure import describe
from .frames import Frame, FrameRef, frame_marks, frames_at
from .growing import lengths, shared_base, snapshot_values
from .interrupts import current_context
from .mailbox import Mailbox
from .node_cache import NodeCache
from .order import apply_ordered, next_key, outside_key
from .payload_bounds import StateGauge
from .position import NO_ITEM, Activation, PendingLog, Position, WaitEntry, answered_activation
from .routing import Send, check_goto, goto_from_json, goto_to_json
from .specs import END
from .state import (
    StateUpdate,
    WorkflowState,
    check_json,
    every_field_set,
    trusted,
    validate_data,
)
from .store.base import Checkpoint, Store
from .store.memory import changed_keys, direct_keeper
from .turns import turns
from .updates import reducer_values, split_update
from .workers import WorkerPool

__all__ = ["MAX_STEPS_AHEAD", "Supervisor"]

#: The marks of a run whose store is not durable: none ever (the memory store saves at
#: once). Shared and unable to hold anything (maxlen 0): an empty deque is ~600 bytes,
#: kept per run in flight and per finished run kept.
_NO_MARKS: deque[int] = deque(maxlen=0)


class _NoneYet(dict[Any, Any]):
    """The one empty dict a run's rarely written mappings start as (its open frames,
    waiting branches, answers): most runs never write one, and an empty dict is 64
    bytes per run in flight and per finished run kept. Shared, so it refuses to be
    written: the run's own dict replaces it at its first write (``_own``)."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("a run's shared empty mapping was written; give the run its own "
                        "first (Supervisor._own)")


_NONE_YET = _NoneYet()


class _NoneOwned(set[str]):
    """The one empty set of grown lists of every run whose graph has no reducer (only
    an ``append`` reducer grows a list in place: runtime.growing): a set is ~220 bytes
    per run in flight and per finished run kept. Shared, so it refuses to be added to
    (emptying it, as the run does, changes nothing)."""

    __slots__ = ()

    def add(self, key: str) -> None:
        raise TypeError("the shared empty set of grown lists was added to: the run's "
                        "graph has reducers, so it needs its own (Supervisor.__init__)")


_NONE_OWNED = _NoneOwned()
_K = TypeVar("_K")
_V = TypeVar("_V")


def _own(mapping: dict[_K, _V]) -> dict[_K, _V]:
    """``mapping``, or a new dict of the run's own if it is the shared empty one."""
    return {} if mapping is _NONE_YET else mapping


#: Steps a run may go on past its last committed one (see ``Supervisor._checkpoint``):
#: what a crash makes run again, at most. Enough to cover a commit's latency (an fsync
#: at durability "power") at a step every ~100 µs; more would only hold memory.
MAX_STEPS_AHEAD = 32

#: The data keys of the supervisor's per-step events, as Publisher.emit takes them.
_COMPLETED = ("attempt", "duration_ms", "update")
_UPDATED = ("update", "step")
_GROWN = ("update", "step", "append")   # a list grown: its new items


class Supervisor:
    """Executes one run of a compiled graph. Create, optionally ``restore()``, then ``run()``."""

    # Slots: thousands of runs may be in flight at once.
    __slots__ = (
        "_actors",
        "_answered",
        "_answers",
        "_base",
        "_cp_changed",
        "_cp_nodes",
        "_cp_step",
        "_done",
        "_frames",
        "_held",
        "_keep",
        "_log",
        "_marks",
        "_next_activation",
        "_next_frame",
        "_owned",
        "_pending",
        "_pool",
        "_recorded",
        "_answers_kept",
        "_restored",
        "_results",
        "_resumes",
        "_view",
        "accepting_resume",
        "dispatched",
        "durable",
        "graph",
        "hub",
        "interrupt_after",
        "interrupt_before",
        "max_steps",
        "node_cache",
        "path",
        "run_id",
        "state",
        "state_gauge",
        "steps",
        "store",
        "waiting",
    )

    def __init__(self, graph: CompiledGraph, state: WorkflowState, hub: Publisher, *,
                 store: Store | None = None, max_steps: int | None = None,
                 path: str = "") -> None:
        self.graph = graph
        self.path = path          # "" for a run's graph, "node/node" for a subgraph's
        self.run_id = state.run_id
        self.hub = hub
        self.store = store
        self.durable = bool(getattr(store, "durable", False))
        # A plain memory store keeps each step as a tuple: built here, without the model.
        self._keep = direct_keeper(store)
        # The data its last flat step kept (see _checkpoint), for the next to share.
        self._base: dict[str, Any] | None = None
        self.max_steps = max_steps or graph.max_steps
        # Its fields set shared: the run marks ``iteration`` set at its first step,
        # which grows a model's own set past its inline table (~730 bytes per run).
        every_field_set(state)
        self.state = state
        self.steps = 0            # node executions completed
        self.dispatched = 0       # node executions started (max_steps counts these)
        # (Open frames, waiting branches and answers: the shared empty dict until the
        # first is written, see _NoneYet.)
        self._frames: dict[int, Frame] = _NONE_YET
        self._pending: dict[int, Activation] = {}
        # Append-only logs of what entered and left _pending, kept when the store is not
        # durable: its position at every step is then O(1) to take (PendingLog).
        self._log: list[Activation] | None = (
            [] if store is not None and not self.durable else None)
        self._done: list[Activation] = []
        self._next_activation = 0
        self._next_frame = 0
        self._actors: dict[str, NodeActor] = {}
        self._restored: Position | None = None
        self._view: WorkflowState | None = None   # what nodes see; rebuilt after a merge
        # Append keys whose list this run made and handed to nobody: it grows them in
        # place (runtime.growing). Whatever hands a list out removes its key.
        self._owned: set[str] = set() if graph.reducers else _NONE_OWNED
        self.waiting: dict[str, WaitEntry] = _NONE_YET   # interrupt id -> waiting branch
        self.interrupt_before: frozenset[str] = frozenset()   # per-run static interrupts
        self.interrupt_after: frozenset[str] = frozenset()
        self.accepting_resume = False             # the loop is running and reads resumes
        self.node_cache: NodeCache | None = None  # the runtime's (see RunTable.launch)
        self.state_gauge: StateGauge | None = None  # the run's max_state_bytes, if any
        self._answers: dict[str, Any] = _NONE_YET   # answers given at restore
        self._resumes = 0                         # live answers queued in the mailbox
        # Answered live but not yet dispatched (the answer waits in the mailbox): still
        # part of the run's position, so a checkpoint in between keeps the answer.
        self._answered: dict[str, tuple[WaitEntry, Any]] = _NONE_YET
        # Set once every answer given so far is committed (or the run stopped): what
        # Runtime.resume waits for before it acknowledges one (see answers_recorded).
        self._recorded: anyio.Event | None = None
        self._answers_kept = True
        # What the checkpoint of the current step records, so that a later save at the
        # same step (an interrupt, a pause, a handled failure) keeps who wrote what.
        self._cp_step = -1
        self._cp_nodes: tuple[str, ...] = ()
        self._cp_changed: dict[str, Any] = _NONE_YET   # (replaced, never written)
        # The store's marks of this run's checkpoints not known to be committed yet.
        self._marks: deque[int] = deque() if self.durable else _NO_MARKS
        # While run() executes: the mailbox node workers report to, and the workers.
        self._results: Mailbox[Result | _Resume] | None = None
        self._pool: WorkerPool | None = None
        # While run() executes: what the step being handled dispatched (see _loop).
        self._held: list[tuple[NodeActor, Activation, WorkflowState]] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def restore(self, checkpoint: Checkpoint, answers: dict[str, Any] | None = None) -> None:
        """Continue from a checkpoint: its in-flight activations run again (at least
        once); its waiting branches wait on, except those ``answers`` answers."""
        p = checkpoint.position
        if p is None:
            raise RunError(f"checkpoint {checkpoint.step} of run {self.run_id} does not "
                           "record where the run was; it cannot be continued",
                           run_id=self.run_id)
        self.state = WorkflowState.model_validate(checkpoint.state)
        every_field_set(self.state)
        self.steps = checkpoint.step
        # A save at this step before the next (a live answer, a pause) keeps who wrote
        # it and what, as it does for a step of its own (see _checkpoint).
        self._cp_step = checkpoint.step
        self._cp_nodes = tuple(checkpoint.nodes)
        self._cp_changed = checkpoint.changed
        # Copies: the checkpoint may be held by the store (the memory store keeps it).
        self._frames = {f.id: f.copy() for f in p.frames}
        self._next_frame = p.next_frame
        self._next_activation = p.next_activation
        self.dispatched = p.dispatched
        self._restored = p
        self._answers = dict(answers or {})
        self._view = None

    async def run(self) -> WorkflowState:
        """Execute until every branch has ended; return the final state.

        Raises RunFailed (and subclasses) for node failures, conflicts, max_steps.
        """
        # Unbounded: a worker must never block on reporting (see NodeActor). What can
        # queue here is bounded by the activations in flight.
        mailbox: Mailbox[Result | _Resume] = Mailbox()
        self._results = mailbox
        self._held = []
        # What was taken from the mailbox, next last (a list: an empty deque is ~600
        # bytes, per run in flight). Shared by both phases below.
        taken: list[Result | _Resume] = []
        # ``runtime.ask()`` in a node executed inline, and log records, find the execution
        # in this task's context: a run's own task holds its own from its start
        # (Run.execute), nothing to hide or set; a subgraph's run, in its parent's node,
        # gets one of its own, and the parent's comes back when it ends.
        current = current_context.get()
        asker = None if current is None or current.run_id == self.run_id else \
            current_context.set(Execution(self.run_id))
        try:
            self._start()
            self.accepting_resume = True
            if await self._loop(mailbox, taken):
                self.accepting_resume = False   # every branch ended: nothing takes one
            else:
                # Work in parallel from here on: node workers, in a task group. The
                # mailbox closes after the task group has ended: a node that finishes
                # while its run is failing (cleanup that ignores the cancellation)
                # reports into a mailbox nobody reads, instead of failing its worker
                # (one error per branch still running, in the run's error).
                async with anyio.create_task_group() as tg:
                    pool = self._pool = WorkerPool(tg, self.run_id)
                    await self._loop(mailbox, taken)
                    # Every branch ended: an answer given while the workers close
                    # would be taken by nobody (Runtime.resume answers it from the
                    # run's checkpoint once it has stopped, or refuses it).
                    self.accepting_resume = False
                    for actor in self._actors.values():
                        actor.close()
                    pool.close()
            # A node executed inline may have ignored the run's cancellation (a timeout,
            # Run.cancel) and returned: the run still ends cancelled, as when a worker
            # executed it and the supervisor was cancelled waiting for its result. (No
            # turn of the event loop unless cancelled: once per run.)
            await anyio.lowlevel.checkpoint_if_cancelled()
            self.accepting_resume = False
            if self.waiting:
                # Nothing runs and someone must answer: pause with a checkpoint,
                # which is all a waiting run keeps.
                await self._checkpoint((), {}, durable=True)
            elif self._marks:
                # Done: every step committed before the run reports its outcome.
                await self._durable(None)
        finally:
            if asker is not None:
                current_context.reset(asker)
            self.answers_settled(recorded=False)   # a run that stopped takes none
            mailbox.close()
            self.accepting_resume = False
            # A finished run may be kept around (Runtime.keep_finished): keep its state
            # and events, not its machinery (the task group and its cancel scopes, the
            # mailbox: a dozen objects for the collector to walk per finished run).
            self._actors.clear()
            self._view = None
            self._pool = None
            self._results = None
            self._held = None
        return self.state

    async def _loop(self, mailbox: Mailbox[Result | _Resume],
                    taken: list[Result | _Resume]) -> bool:
        """Handle results and answers until every branch has ended (True), or until
        work must go to node workers and there are none yet (False: run() opens them).

        What one step dispatches waits in ``_held`` until the step is done. A lone
        activation with nothing else in flight (a chain, a loop, a join) is executed
        here, in the supervisor's task: no worker task, wake-up or mailbox round trip
        per node execution. Its timeout, retries, events and cancellation are the same
        code as in a worker (NodeActor._execute); nothing can arrive meanwhile (no
        other node runs, no branch waits for an answer), so the supervisor has nothing
        else to read.
        """
        held = self._held
        assert held is not None
        turn = turns()
        while self._pending or self._resumes:
            if held:
                if (len(held) == 1 and len(self._pending) == 1 and not taken
                        and not self._resumes and not self.waiting):
                    actor, act, view = held.pop()
                    # A turn of the event loop per node execution, as a worker's
                    # costs: a run of nodes that never wait still lets the other tasks
                    # run, and its timeout and cancellation reach it (not due after a
                    # node that waited, where the backend can tell: runtime.turns).
                    if turn.due():
                        await turn.take()
                    await self._handle(await actor.inline(act, view))
                    continue
                pool = self._pool
                if pool is None:
                    return False
                for work in held:
                    work[0].submit(work, pool)
                held.clear()
            if not taken:
                taken += mailbox.take_all()
                if not taken:
                    await mailbox.wait()
                    taken += mailbox.take_all()
                if len(taken) > 1:
                    taken.sort(key=_arrival)
                    taken.reverse()
            result = taken.pop()
            if isinstance(result, _Resume):
                self._resumes -= 1
                self._answered.pop(result.entry.id, None)
                self._continue(result.entry, result.answer)
                # Record the answer now: acknowledged means it survives a crash.
                await self._checkpoint((), {}, durable=True)
                if not self._resumes:
                    self.answers_settled(recorded=True)
                continue
            await self._handle(result)
        return True

    def shared_state(self) -> WorkflowState:
        """The live state, for a reader outside the run (``Run.state``): the run grows
        none of the lists it holds now in place, so what the reader keeps stays as read."""
        self._owned.clear()
        return self.state

    def _start(self) -> None:
        p = self._restored
        if p is None:
            self._deliver(self.graph.entry_point, ())
            return
        for a in p.pending:
            self._dispatch(a.node, a.frames, item=a.item, index=a.index, count=False,
                           act_id=a.id, answers=a.answers)
        for entry in p.waiting:
            if entry.id in self._answers:
                self._continue(entry, self._answers[entry.id])
            else:
                self.waiting = _own(self.waiting)
                self.waiting[entry.id] = entry
        for a in p.continuing:
            self._after(self.graph.nodes[a.node], a.frames, _goto_of(a.answers))

    def _continue(self, entry: WaitEntry, answer: Any) -> None:
        """Go on with a branch whose interrupt has been answered."""
        a = entry.activation
        if entry.kind == "after":
            self._after(self.graph.nodes[entry.node], a.frames, _goto_of(entry.payload))
            return
        answers = dict(a.answers or {})
        answers[entry.id] = answer
        self._dispatch(entry.node, a.frames, item=a.item, index=a.index, count=False,
                       act_id=a.id, answers=answers)

    def resume(self, interrupt_id: str, answer: Any) -> None:
        """Answer a waiting branch while the run is still going (see Run.resume)."""
        entry = self.waiting.pop(interrupt_id)
        self._answered = _own(self._answered)
        self._answered[interrupt_id] = (entry, answer)
        self.hub.publish(EventType.RESUMED, entry.node, interrupt_id=interrupt_id)
        self._resumes += 1
        if self.durable and self._recorded is None:
            self._recorded = anyio.Event()
            self._answers_kept = False
        assert self._results is not None   # accepting_resume: the run is executing
        self._results.send_nowait(_Resume(entry, answer))

    async def answers_recorded(self) -> bool:
        """Wait until every answer given so far with ``resume`` is committed (True), or
        the run stopped before it took them (False); True at once with none pending or
        no durable store (nothing to wait for)."""
        recorded = self._recorded
        if recorded is None:
            return self._answers_kept
        await recorded.wait()
        return self._answers_kept

    def answers_settled(self, *, recorded: bool) -> None:
        """Release whoever waits in ``answers_recorded``, telling them whether the
        answers were recorded."""
        waiting, self._recorded = self._recorded, None
        if waiting is not None:
            self._answers_kept = recorded
            waiting.set()

    # -- results --------------------------------------------------------------------------
    async def _handle(self, result: Result) -> None:
        act = result.activation
        gone = self._pending.pop(act.id, None)
        if gone is not None and self._log is not None:
            self._done.append(gone)
        actor = self._actors[act.node]
        if actor.done():
            # A node with nothing more to do: its actor goes (a wide fan-out's branches
            # are as many nodes, a chain's nodes as many steps, each actor alive until
            # the run ends otherwise: ~160 bytes per node done, per run in flight). A
            # node on a loop keeps its own (see NodeActor.done); any other node reached
            # again gets a new one, idle as this one was.
            del self._actors[act.node]
        node = self.graph.nodes[act.node]
        if result.interrupt is not None:
            i = result.interrupt
            self._wait(WaitEntry(i.interrupt_id, "ask", act.node, i.payload, i.schema, act))
            await self._checkpoint((), {})
            return
        if result.error is not None:
            self._failed(node, result)
            top = self._frames.get(act.frames[-1][0]) if act.frames else None
            if top is not None and top.kind == "map" and top.target == act.node and top.complete:
                # A handled failure was the map's last item: merge the others, go on.
                await self._finish_map(top)
            else:
                await self._checkpoint((act.node,), {})
            return
        assert result.update is not None
        self.steps += 1
        top = self._frames.get(act.frames[-1][0]) if act.frames else None
        duration_ms = round(result.duration * 1000, 3)
        if act.index is None and not result.cached:   # (no ** merges: the common case)
            self.hub.emit(EventType.NODE_COMPLETED, act.node, _COMPLETED, result.attempt,
                          duration_ms, result.update.data)
        else:
            self.hub.publish(EventType.NODE_COMPLETED, act.node, attempt=result.attempt,
                             duration_ms=duration_ms, update=result.update.data,
                             **({"index": act.index} if act.index is not None else {}),
                             **({"cached": True} if result.cached else {}))
        if top is not None and top.kind == "map" and top.target == act.node:
            if result.update.goto is not None:
                raise RunFailed(
                    f"node {act.node!r} returned a Command with goto while run by a map edge; "
                    "a map's items go on together along its edges: return the update only",
                    run_id=self.run_id, node=act.node)
            top.results[act.index or 0] = result.update
            top.arrived += 1
            self._feed_map(top)
            if top.complete:
                await self._finish_map(top)
            else:
                await self._checkpoint((act.node,), {})
            return
        # Checked before the write: a wrong goto fails the run with its state untouched.
        goto = None if result.update.goto is None else check_goto(
            node.name, node.goto, result.update.goto, END)
        changed = self._merge(result.update, act.node, act.frames)
        if node.interrupt_after or act.node in self.interrupt_after:
            # A Command's goto waits with the pause, so the run goes where the node said.
            paused = {"after": act.node, **({"goto": goto_to_json(goto)} if goto else {})}
            self._wait(WaitEntry(f"{act.node}:{act.id}:after", "after", act.node,
                                 paused, None, act))
        else:
            self._after(node, act.frames, goto)
        await self._checkpoint((act.node,), changed)

    def _failed(self, node: CompiledNode, result: Result) -> None:
        exc = result.error
        assert exc is not None
        message = describe(exc)
        handled = node.on_error is not None
        self.hub.publish(EventType.NODE_FAILED, node.name, attempt=result.attempt,
                         error=message, handled=handled)
        if node.on_error is None:
            if isinstance(exc, RunFailed):
                exc.run_id = exc.run_id or self.run_id
                raise exc
            others = len(self._pending)
            # What the node returned was refused: trying it again returns the same.
            fix = (". Fix what the node returns" if isinstance(exc, StateError) else
                   ". Fix the node, or let it retry (retry=RetryPolicy(...)) or route its "
                   "failures (on_error=...)")
            err = RunFailed(
                f"node {node.name!r} failed on attempt {result.attempt}: {message}; the "
                "run stops" + (f" with {others} other node execution"
                               f"{'s' if others > 1 else ''} unfinished" if others else "")
                + fix,
                run_id=self.run_id, node=node.name, attempt=result.attempt,
            )
            raise err from exc
        self.state.errors.append(f"{node.name}: {message}")
        self._view = None
        frames = result.activation.frames
        top = self._frames.get(frames[-1][0]) if frames else None
        if top is not None and top.kind == "map" and top.target == node.name:
            # A failed item counts as done and the map goes on. Its handler runs as a
            # side path outside every frame: the map itself continues along the target's
            # edges once, so an enclosing fan-out must not see a second branch arrive.
            top.ended += 1
            frames = ()
            self._feed_map(top)
        self._deliver(node.on_error, frames)

    # -- state ----------------------------------------------------------------------------
    def _merge(self, update: StateUpdate, node: str, frames: tuple[FrameRef, ...]) -> dict[str, Any]:
        if not update.data and not self._frames:
            # Nothing written, and no open frame to order a write in: nothing to fold.
            return self._record({}, update, node)
        reducers = self.graph.reducers
        data = self.state.data
        for fid, branch in frames:
            frame = self._frames.get(fid)
            if frame is None or frame.kind != "fanout":
                continue
            for key in update.data:
                if key in reducers:
                    continue
                first = frame.writers.get(key)
                if first is None:
                    frame.writers[key] = (branch, node)
                elif first[0] != branch:
                    raise ParallelWriteConflict(key, (first[1], node), run_id=self.run_id)
        before = reducer_values(data, update.data, reducers, self._owned) if reducers else None
        where = next_key(self._frames, frames)
        if where is None and self._frames and reducers:
            where = outside_key(self._frames, update.data, reducers)   # a side path's write
        changed = apply_ordered(data, [update.data], reducers, where,
                                f"node {node!r}", node=node, run_id=self.run_id,
                                owned=self._owned)
        return self._record(changed, update, node, before)

    def _record(self, changed: dict[str, Any], update: StateUpdate, node: str,
                before: dict[str, Any] | None = None) -> dict[str, Any]:
        """The tail of every write: errors and warnings, schema, JSON, the delta event."""
        if update.errors:
            self.state.errors.extend(update.errors)
        if update.warnings:
            self.state.warnings.extend(update.warnings)
        # What pydantic's __setattr__ does for a model without validate_assignment,
        # at a tenth of its cost (once per step).
        state = self.state
        state.__dict__["iteration"] = self.steps
        state.__pydantic_fields_set__.add("iteration")
        self._view = None
        schema = self.graph.state_schema
        if schema is not None and changed:
            validate_data(schema, self.state.data, f"node {node!r}", node=node,
                          run_id=self.run_id)
        # A grown list travels as its new items (runtime.updates), and only they need
        # checking: the old ones were checked when written (checking the whole list
        # at every step made a growing list quadratic).
        values, grown = split_update(changed, before, update.data)
        if self._owned and values:
            self._owned.difference_update(values)   # the event holds these lists whole
        if self.durable and changed:
            check_json({**values, **grown} if grown else values, node, self.run_id)
        if self.state_gauge is not None and changed:
            self.state_gauge.check(self.state.data, changed, node)
        if changed or update.errors or update.warnings:
            # No delta event for a node that changed nothing (its node_completed says so).
            if grown:
                self.hub.emit(EventType.STATE_UPDATED, node, _GROWN, values, self.steps,
                              grown)
            else:
                self.hub.emit(EventType.STATE_UPDATED, node, _UPDATED, values, self.steps)
        return changed

    def _wait(self, entry: WaitEntry) -> None:
        self.waiting = _own(self.waiting)
        self.waiting[entry.id] = entry
        self.hub.publish(EventType.WAITING, entry.node, interrupt=entry.public())

    def _position(self) -> Position:
        """Where the run is: pending and waiting activations, open frames, counters."""
        # Taken at every step (the memory store included, for fork and replay): the
        # common case, nothing answered, waiting or open, costs a tuple and one object.
        pending: Sequence[Activation] = (tuple(self._pending.values()) if self._log is None
                                         else PendingLog(self._log, self._done))
        continuing: tuple[Activation, ...] = ()
        if self._answered:
            more: list[Activation] = []
            going: list[Activation] = []
            for entry, answer in self._answered.values():
                runs_again, act = answered_activation(entry, answer)
                (more if runs_again else going).append(act)
            pending, continuing = (*pending, *more), tuple(going)
        return Position(
            pending, tuple(self.waiting.values()) if self.waiting else (), continuing,
            frames_at(self._frames),
            self._next_activation, self._next_frame, self.dispatched, self.path)

    async def _checkpoint(self, nodes: tuple[str, ...], changed: dict[str, Any], *,
                          durable: bool = False) -> None:
        """Record the step. What the run waits for (at every durability level):

        - a step's checkpoint goes to the store's writer and the run goes on at once:
          the commit (shared with every other run's steps) happens meanwhile;
        - ``durable`` (a pause for an answer, an answer taken) and the end of the
          run (``run``) wait until every step so far is committed, so nothing the
          run reports (an outcome, a question, an acknowledged answer) can be lost;
        - a run more than MAX_STEPS_AHEAD steps past its last commit waits for the
          oldest one: a crash makes at most that many steps run again (at least
          once, as for the node in flight), and a slow database slows the runs
          down instead of queueing without end.
        """
        if self.store is None:
            return
        if self.steps == self._cp_step:
            nodes = self._cp_nodes + tuple(n for n in nodes if n not in self._cp_nodes)
            changed = {**self._cp_changed, **changed}
        self._cp_step, self._cp_nodes, self._cp_changed = self.steps, nodes, changed
        s = self.state
        log = self._log
        if self._keep is not None and log is not None and not (self._answered or self.waiting):
            keys = changed_keys(changed, s.data)
            if type(keys) is tuple:
                # Nothing answered or waiting (a chain, a loop, a fan-out's steps) and
                # the changes are the state's own values: the step flat, in one tuple
                # (runtime.store.memory._FLAT), its position as the lengths of the run's
                # logs of activations dispatched and done and the marks of its open
                # frames, its data as the dict shared with the steps before that
                # changed no value (growing.shared_base) and the lengths of the lists
                # grown in place. A 10,000-branch fan-out keeps one such step per
                # branch: a Position, its PendingLog, a state tuple, a dict and a
                # ListAt less each.
                base = self._base = shared_base(s.data, self._base)
                done = self._done
                self._keep((self.run_id, self.steps, nodes, keys, self.hub.next_seq,
                            time.time(), s.workflow_id, s.run_id, s.timestamp, s.iteration,
                            base, tuple(s.errors), tuple(s.warnings), s.config, log,
                            len(log), done, len(done), self._next_activation,
                            self._next_frame, self.dispatched, self.path,
                            lengths(s.data, self._owned), *frame_marks(self._frames)))
                return
        data: dict[str, Any]
        if not self._owned:
            data = dict(s.data)
        elif self.durable:
            # A durable store encodes the checkpoint later, in its writer: it gets the
            # lists themselves, and the run stops growing them in place.
            data = dict(s.data)
            self._owned.clear()
        else:
            # The memory store keeps the checkpoint by reference and deep-copies what
            # it hands out: a grown list is kept as its length (runtime.growing).
            data = snapshot_values(s.data, self._owned)
            changed = snapshot_values(changed, self._owned, data)
        if self._keep is not None:
            # What MemoryStore.save_checkpoint keeps of the model below, made directly
            # (the state as the values of runtime.store.memory._STATE_FIELDS).
            if log is None or self._answered or self.waiting:
                self._keep((self.run_id, self.steps, nodes, (
                    s.workflow_id, s.run_id, s.timestamp, s.iteration, data,
                    tuple(s.errors), tuple(s.warnings), s.config),
                    changed, self._position(), self.hub.next_seq, time.time()))
            else:
                # Flat as above, with changes that are not the state's own values (a
                # snapshot of them), and its data as a snapshot of its own.
                done = self._done
                self._keep((self.run_id, self.steps, nodes, changed_keys(changed, data),
                            self.hub.next_seq, time.time(), s.workflow_id, s.run_id,
                            s.timestamp, s.iteration, data, tuple(s.errors),
                            tuple(s.warnings), s.config, log, len(log), done, len(done),
                            self._next_activation, self._next_frame, self.dispatched,
                            self.path, (), *frame_marks(self._frames)))
            return
        cp = trusted(Checkpoint, {
            "run_id": self.run_id, "step": self.steps, "nodes": list(nodes),
            "state": {"workflow_id": s.workflow_id, "run_id": s.run_id,
                      "timestamp": s.timestamp, "iteration": s.iteration,
                      "data": data, "errors": list(s.errors),
                      "warnings": list(s.warnings), "config": s.config},
            "changed": changed, "position": self._position(),
            "next_seq": self.hub.next_seq, "created_at": datetime.now(UTC),
        })
        if not self.durable:   # memory: nothing to wait for, the save is all
            await self.store.save_checkpoint(cp)
            return
        self._marks.append(await self.store.queue_checkpoint(cp))
        if durable:
            await self._durable(None)
        elif len(self._marks) > MAX_STEPS_AHEAD:
            await self._durable(self._marks.popleft())

    async def _durable(self, mark: int | None) -> None:
        """Wait for the commit of ``mark`` (None: of every step so far)."""
        assert self.store is not None
        if mark is None:
            self._marks.clear()
        await self.store.wait_committed(self.run_id, mark)

    # -- routing --------------------------------------------------------------------------
    def _after(self, node: CompiledNode, frames: tuple[FrameRef, ...],
               goto: list[str | Send] | None = None) -> None:
        if not goto and len(node.static) == 1 and not (node.routes or node.routers
                                                       or node.maps):
            # One unconditional edge (a chain's): where route() goes, without its lists.
            to = node.static[0]
            if to == END:
                self._end(frames)
            else:
                self._deliver(to, frames)
            return
        targets: list[str | MapRoute | Send]
        if goto:
            targets = list(goto)   # a Command's goto: instead of the node's edges
        else:
            targets = list(self.graph.route(node, self.state))
            targets.extend(node.maps)
        if not targets:
            self._end(frames)
            return
        if len(targets) == 1 and not isinstance(targets[0], Send):
            # (A Send always opens a frame: its payload belongs to its branch.)
            self._enter(targets[0], frames, node.name)
            return
        names = frozenset(t.target if isinstance(t, MapRoute) else
                          t.node if isinstance(t, Send) else t for t in targets) - {END}
        frame = self._open(Frame(
            id=0, kind="fanout", origin=node.name, parent=frames, expected=len(targets),
            join=self._join(names, targets),
        ))
        frame.ended = sum(1 for t in targets if t == END)
        for i, target in enumerate(targets):
            if target != END:
                self._enter(target, frames + ((frame.id, i),), node.name)
        if frame.complete and frame.id in self._frames:
            # Every branch went straight to END.
            del self._frames[frame.id]
            self._end(frames)

    def _join(self, names: frozenset[str], targets: list[str | MapRoute | Send]) -> str | None:
        if not names:
            return None
        if len(names) == 1 and any(isinstance(t, Send) for t in targets):
            # Sends to one node: its branches meet after it, not at it.
            return self.graph.join_after(next(iter(names)))
        return self.graph.join_for(names)

    def _enter(self, target: str | MapRoute | Send, frames: tuple[FrameRef, ...],
               origin: str) -> None:
        if isinstance(target, MapRoute):
            self._start_map(target, frames, origin)
        elif isinstance(target, Send):
            self._deliver(target.node, frames, target.arg)
        elif target == END:
            self._end(frames)
        else:
            self._deliver(target, frames)

    def _deliver(self, node: str, frames: tuple[FrameRef, ...], item: Any = NO_ITEM) -> None:
        """Send a branch to ``node``, arriving at a join if ``node`` joins its frame."""
        while frames:
            frame = self._frames.get(frames[-1][0])
            if frame is None or frame.kind != "fanout" or frame.join != node:
                break
            frame.arrived += 1
            if not frame.complete:
                return
            del self._frames[frame.id]
            frames = frame.parent
        self._dispatch(node, frames, item=item)

    def _end(self, frames: tuple[FrameRef, ...]) -> None:
        """A branch reached END."""
        while frames:
            frame = self._frames.get(frames[-1][0])
            if frame is None:
                return
            frame.ended += 1
            if not frame.complete:
                return
            del self._frames[frame.id]
            if frame.arrived and frame.join is not None:
                # Through _deliver: an enclosing frame may share this join, and then the
                # branch arrives there instead of running the join early.
                self._deliver(frame.join, frame.parent)
                return
            frames = frame.parent

    def _open(self, frame: Frame) -> Frame:
        frame.id = self._next_frame
        self._next_frame += 1
        # The frame takes a place in its enclosing branch's order, so writes inside it
        # sort after the writes before it there and before those after its join.
        where = next_key(self._frames, frame.parent)
        if where is not None:
            frame.prefix = where[1]
        self._frames = _own(self._frames)
        self._frames[frame.id] = frame
        return frame

    def _start_map(self, route: MapRoute, frames: tuple[FrameRef, ...], origin: str) -> None:
        items = self.state.data.get(route.over)
        if not isinstance(items, list):
            raise RunFailed(
                f"map edge {origin}->{route.target}: data[{route.over!r}] must be a list, got "
                f"{type(items).__name__}; make {origin!r} write a list there",
                run_id=self.run_id, node=origin,
            )
        if not items:
            self._after(self.graph.nodes[route.target], frames)
            return
        frame = self._open(Frame(
            id=0, kind="map", origin=origin, join=None, parent=frames, expected=len(items),
            target=route.target, item_key=route.item_key, items=list(items),
            limit=route.max_concurrency,
        ))
        self._feed_map(frame)

    def _feed_map(self, frame: Frame) -> None:
        limit = frame.limit or len(frame.items)
        running = frame.next_index - frame.arrived - frame.ended
        while frame.next_index < len(frame.items) and running < limit:
            i = frame.next_index
            frame.next_index += 1
            running += 1
            assert frame.target is not None
            self._dispatch(frame.target, frame.parent + ((frame.id, i),),
                           item=frame.items[i], index=i)

    async def _finish_map(self, frame: Frame) -> None:
        del self._frames[frame.id]
        assert frame.target is not None
        # The items' updates, in item order, through the reducers, as one write.
        updates: list[dict[str, Any]] = []
        writers: dict[str, int] = {}
        errors: list[str] = []
        warnings: list[str] = []
        reducers = self.graph.reducers
        for i in sorted(frame.results):
            u = frame.results[i]
            values = {k: v for k, v in u.data.items() if k != frame.item_key}
            for key in values:
                if key not in reducers:
                    if key in writers:
                        raise ParallelWriteConflict(
                            key, (f"{frame.target}[{writers[key]}]", f"{frame.target}[{i}]"),
                            run_id=self.run_id)
                    writers[key] = i
            updates.append(values)
            errors += u.errors
            warnings += u.warnings
        before = (reducer_values(self.state.data, {k for u in updates for k in u}, reducers,
                                 self._owned) if reducers else None)
        changed = apply_ordered(self.state.data, updates, reducers,
                                next_key(self._frames, frame.parent), f"node {frame.target!r}",
                                node=frame.target, run_id=self.run_id, owned=self._owned)
        changed = self._record(changed, StateUpdate(changed, errors, warnings), frame.target,
                               before)
        target = self.graph.nodes[frame.target]
        if target.interrupt_after or frame.target in self.interrupt_after:
            act_id = self._next_activation
            self._next_activation += 1
            self._wait(WaitEntry(f"{frame.target}:{act_id}:after", "after", frame.target,
                                 {"after": frame.target}, None,
                                 Activation(act_id, frame.target, frame.parent)))
        else:
            self._after(target, frame.parent)
        # After routing, so the checkpoint holds the work it dispatched.
        await self._checkpoint((frame.target,), changed)

    def _dispatch(self, name: str, frames: tuple[FrameRef, ...], *, item: Any = NO_ITEM,
                  index: int | None = None, count: bool = True, act_id: int | None = None,
                  answers: dict[str, Any] | None = None) -> None:
        if count:
            self.dispatched += 1
            if self.dispatched > self.max_steps:
                loop = self.graph.loop_of(name)
                raise MaxStepsExceeded(
                    f"run exceeded max_steps={self.max_steps} at node {name!r}; it keeps "
                    f"looping through {' -> '.join(loop)}. Check the loop's exit condition "
                    "or raise max_steps", run_id=self.run_id, node=name, loop=loop,
                )
        if item is NO_ITEM:
            view = self._view
            if view is None:
                view = self._view = self._snapshot(None)
        else:
            frame = self._frames.get(frames[-1][0]) if frames else None
            if frame is not None and frame.kind == "fanout":
                # A Send's payload: laid over the data its branch's node sees.
                view = self._snapshot(None, item if isinstance(item, dict) else None)
            else:
                view = self._snapshot((frame.item_key if frame is not None else "item", item))
        if act_id is None:
            act_id = self._next_activation
            self._next_activation += 1
        act = Activation(act_id, name, frames, item, index, answers)
        node = self.graph.nodes[name]
        if node.interrupt_before or name in self.interrupt_before:
            before = f"{name}:{act_id}:before"
            if not answers or before not in answers:
                self._wait(WaitEntry(before, "before", name, {"before": name}, None, act))
                return
        self._pending[act.id] = act
        if self._log is not None:
            self._log.append(act)
        actor = self._actors.get(name)
        if actor is None:
            assert self._results is not None   # in run()
            actor = self._actors[name] = NodeActor(
                node, self.run_id, self.hub, self._results, self.store, self.path,
                # (Only a subgraph node spawns: a bound method is an object per actor.)
                self._spawn if node.subgraph is not None else None,
                self.node_cache, self.graph.name)
        assert self._held is not None   # in run()
        self._held.append((actor, act, view))

    def _spawn(self, graph: CompiledGraph, state: WorkflowState, hub: Publisher,
               path: str) -> Supervisor:
        """A subgraph's supervisor, checkpointing to this run's store under ``path``
        (and caching its nodes' results in the runtime's node cache, as this one)."""
        child = Supervisor(graph, state, hub, store=self.store, path=path)
        child.node_cache = self.node_cache
        return child

    def _snapshot(self, item: tuple[str, Any] | None,
                  overlay: dict[str, Any] | None = None) -> WorkflowState:
        # A shallow copy: a node that rebinds keys of its input can't corrupt the run.
        # Activations dispatched between two merges share it (nodes must not mutate
        # their input; they return updates), and so the run stops growing its lists.
        self._owned.clear()
        s = self.state
        data = dict(s.data)
        if item is not None:
            data[item[0]] = item[1]
        if overlay:
            data.update(overlay)
        return trusted(WorkflowState, {
            "workflow_id": s.workflow_id, "run_id": s.run_id, "timestamp": s.timestamp,
            "iteration": s.iteration, "data": data, "errors": list(s.errors),
            "warnings": list(s.warnings), "config": s.config,
        })


def _arrival(message: Result | _Resume) -> int:
    """Answers first, then results in activation order: the branches of a fan-out that
    finished together merge in branch order, each write an append at the end of what
    the others wrote, whatever order the scheduler ran them in (trio reverses half its
    batches, and a write arriving before an earlier branch's costs a copy:
    runtime.order)."""
    return message.activation.id if isinstance(message, Result) else -1


class _Resume:
    """A live answer for a waiting branch, sent to the supervisor's mailbox."""

    __slots__ = ("answer", "entry")

    def __init__(self, entry: WaitEntry, answer: Any) -> None:
        self.entry = entry
        self.answer = answer


def _goto_of(held: Any) -> list[str | Send] | None:
    """The goto a pause after a node holds (its payload, or a continuing activation's
    answers), or None to follow the node's edges."""
    goto = held.get("goto") if isinstance(held, dict) else None
    return goto_from_json(goto) if isinstance(goto, list) else None
