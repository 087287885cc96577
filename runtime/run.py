"""A run: the handle users hold, and the task that drives its supervisor."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.lowlevel

from . import tracing
from .actor import Execution
from .compiled import CompiledGraph
from .errors import (
    ActorflowError,
    RunCancelled,
    RunFailed,
    RunTimeoutError,
    RunWaiting,
    StoreError,
    StoreUnavailableError,
    error_of_group,
)
from .events import DEFAULT_SUBSCRIBER_BUFFER, Event, EventHub, EventType
from .failure import RunFailure
from .history import history
from .interrupts import InvalidResume, current_context, validate_answer
from .payload_bounds import UNBOUNDED, BoundedPublisher, RunBounds, StateGauge
from .state import WorkflowState
from .status import RunStatus
from .store.base import Checkpoint, Store
from .store.memory import MemoryStore, instant_updates
from .supervisor import Supervisor

__all__ = ["Follower", "Run"]

log = logging.getLogger("actorflow.runs")

#: Follows a run's events by id across pauses and resumes (``Runtime.events``).
Follower = Callable[[str, int, int], AsyncIterator[Event]]

#: Bound on awaited cleanup (final store writes) after a run is cancelled.
CLEANUP_TIMEOUT = 10.0
#: How long a run that failed for want of a database waits to record that.
STORE_DOWN_WAIT = 1.0

#: The data keys of a run's first and last events, as Publisher.emit takes them.
_STARTED = ("graph", "input")
_COMPLETED = ("state", "steps", "duration_ms")


class Run:
    """One execution of a graph. Get it from ``Runtime.start()``.

    ``status`` follows ``RunStatus``; ``state`` is the current state; ``events()``
    streams what happens; ``result()`` waits for the end.

    Attributes:
        id: the run id (``Runtime.get``, ``Runtime.view``, the HTTP API take it).
        graph: the compiled graph it executes; ``graph_id`` its stored id, if stored.
        input: the state data it started with.
        status: a ``RunStatus``; ``done`` is True once it stopped (finished or waiting).
        error: the error it ended with (``RunFailed``, ``RunCancelled``, ``RunWaiting``).
        failure: for a failed run, the original exception's type, message, node,
            attempt and traceback (a ``RunFailure``), as stored with the run.
        created_at, started_at, completed_at: when (UTC).
    """

    # Slots: a thousand runs may be in flight, and as many finished ones kept
    # (keep_finished); an instance dict of these ~30 names cost ~100 bytes more per run.
    # (__weakref__: the API keeps runs in a WeakKeyDictionary.)
    __slots__ = (
        "__weakref__",
        "_abandoned",
        "_cancel_requested",
        "_done",
        "_id",
        "_releasing",
        "_resumed",
        "_scope",
        "_stopped",
        "admission",
        "bounds",
        "completed_at",
        "created_at",
        "error",
        "failure",
        "follower",
        "graph",
        "graph_id",
        "hub",
        "input",
        "max_steps",
        "owner",
        "started_at",
        "status",
        "store",
        "supervisor",
        "thread_id",
        "thread_merged",
        "timeout",
        "trace_parent",
    )

    def __init__(self, graph: CompiledGraph, state: WorkflowState, *, store: Store | None,
                 timeout: float | None = None, max_steps: int | None = None,
                 graph_id: str | None = None, status: RunStatus = RunStatus.PENDING,
                 interrupt_before: frozenset[str] = frozenset(),
                 interrupt_after: frozenset[str] = frozenset()) -> None:
        self._id = state.run_id
        self.graph = graph
        self.input: dict[str, Any] = dict(state.data)
        self.graph_id = graph_id
        self.store = store
        self.timeout = timeout
        self.max_steps = max_steps
        self.status = status
        self.error: ActorflowError | None = None
        self.failure: RunFailure | None = None
        self.created_at = datetime.now(UTC)
        self.started_at: datetime | None = None
        self.completed_at: datetime | None = None
        shared = store.share_events(self.id) if isinstance(store, MemoryStore) else None
        self.hub = (EventHub(self.id, log=shared) if shared is not None else
                    EventHub(self.id, sink=self._sink(), history=self._older_events()))
        self.supervisor = Supervisor(graph, state, self.hub, store=store, max_steps=max_steps)
        self.supervisor.interrupt_before = interrupt_before
        self.supervisor.interrupt_after = interrupt_after
        self.bounds = UNBOUNDED
        # Whether the run has stopped, and the event its waiters wait on: made only
        # when someone waits before the end (most runs in flight have nobody waiting
        # yet: an event and its waiter queue each, for the collector to walk), dropped
        # once set, so a finished run kept in memory (keep_finished) holds none.
        self._stopped = False
        self._done: anyio.Event | None = None
        self._scope: anyio.CancelScope | None = None
        self._cancel_requested = False
        self._releasing = False
        self._abandoned = False  # another process took the run over: write nothing
        self._resumed = False
        self.owner: str | None = None
        # Set by the Runtime: its way to follow a run across pauses and resumes.
        self.follower: Follower | None = None
        #: The thread this run is a turn of (runtime.threads), and whether its input has
        #: been merged into the thread's state (done once, before its first step).
        self.thread_id: str | None = None
        self.thread_merged = False
        # Set by the Runtime for a thread's run: waits until the run holds its thread.
        self.admission: Callable[[Run], Awaitable[None]] | None = None
        #: The W3C trace context (``traceparent``...) of the trace the run belongs to.
        self.trace_parent: dict[str, str] | None = None

    @classmethod
    def from_options(cls, graph: CompiledGraph, state: WorkflowState,
                     options: dict[str, Any], *, store: Store | None, graph_id: str | None,
                     owner: str, status: RunStatus = RunStatus.PENDING) -> Run:
        """A run set up by the options a run record keeps (timeout, max_steps,
        interrupts), executed by ``owner`` (a runtime's instance id)."""
        run = cls(graph, state, store=store, timeout=options.get("timeout"),
                  max_steps=options.get("max_steps"), graph_id=graph_id, status=status,
                  interrupt_before=_names(options.get("interrupt_before")),
                  interrupt_after=_names(options.get("interrupt_after")))
        run.bound(RunBounds.from_options(options))
        run.owner = owner
        run.thread_id = options.get("thread_id")
        run.thread_merged = bool(options.get("thread_merged"))
        trace_parent = options.get("trace_parent")
        run.trace_parent = dict(trace_parent) if isinstance(trace_parent, dict) else None
        return run

    # -- public -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The run id."""
        return self._id

    @property
    def state(self) -> WorkflowState:
        return self.supervisor.shared_state()

    @property
    def done(self) -> bool:
        return self._stopped

    def events(self, since: int = 0, *, buffer: int = DEFAULT_SUBSCRIBER_BUFFER,
               follow: bool = True) -> AsyncIterator[Event]:
        """Events from sequence number ``since`` (replay), then live until the run ends.

        Like ``Runtime.events(run.id)``, the stream follows the run across a pause: when
        it waits for an answer, the stream waits too, and goes on with the resumed run's
        events. ``follow=False`` ends it when this handle stops executing instead
        (finished, paused, or released by a shutdown).

        Raises SubscriberLagged if the reader falls more than ``buffer`` events behind.
        """
        if follow and self.follower is not None:
            return self.follower(self.id, since, buffer)
        return self.hub.subscribe(since, buffer)

    async def result(self) -> WorkflowState:
        """Wait until the run stops; return the final state.

        Raises RunFailed / RunCancelled, or RunWaiting if it paused for an answer.
        """
        await self._wait_done()
        if self.error is not None:
            raise self.error
        return self.state

    @property
    def interrupts(self) -> list[dict[str, Any]]:
        """What the run waits for (id, kind, node, payload)."""
        return [w.public() for w in self.supervisor.waiting.values()]

    def resume(self, answer: Any = None, *, interrupt_id: str | None = None) -> None:
        """Answer a waiting branch while the run is still executing other branches.

        A run that has paused is resumed with ``Runtime.resume`` instead.
        """
        sup = self.supervisor
        if self.done or not sup.accepting_resume:
            raise InvalidResume(f"run {self.id} is {self.status.value}; resume it with "
                                "Runtime.resume()", run_id=self.id)
        entry = pick_interrupt(sup.waiting, interrupt_id, self.id)
        sup.resume(entry.id, validate_answer(entry, answer, self.id))

    async def wait(self) -> None:
        """Wait for the end without raising."""
        await self._wait_done()

    async def _wait_done(self) -> None:
        if self._stopped:
            await anyio.lowlevel.checkpoint()   # as waiting on a set event would
            return
        done = self._done
        if done is None:
            done = self._done = anyio.Event()
        await done.wait()

    def _set_done(self) -> None:
        self._stopped = True
        self.supervisor.answers_settled(recorded=False)   # one that never started, too
        done, self._done = self._done, None
        if done is not None:
            done.set()

    def cancel(self) -> None:
        """Cancel the run: every node is cancelled and its cleanup runs."""
        self._cancel_requested = True
        if self._scope is not None:
            self._scope.cancel()
        elif not self.done:
            self._finish_cancelled_before_start()

    async def history(self) -> list[Checkpoint]:
        """Its checkpoints, oldest first, led by its input (step 0), as
        ``Runtime.history`` lists them (needs a store)."""
        if self.store is None:
            return []
        return await history(self.store, self.id)

    def release(self) -> None:
        """Stop executing without finishing: the run stays resumable from its checkpoint."""
        self._releasing = True
        if self._scope is not None:
            self._scope.cancel()

    def abandon(self) -> None:
        """Stop at once and write nothing more: another process executes the run now (its
        lease was taken over), so its record is not this handle's to change."""
        self._abandoned = True
        self.release()

    def __repr__(self) -> str:
        return f"<Run {self.id} of {self.graph.name!r}: {self.status.value}>"

    def bound(self, bounds: RunBounds) -> None:
        """Hold this run to ``bounds`` (its state's size, its nodes' event payloads)."""
        self.bounds = bounds
        if bounds.max_state_bytes is not None:
            self.supervisor.state_gauge = StateGauge(bounds.max_state_bytes, self.id)
        self._attach_hub()

    def _attach_hub(self) -> None:
        # The supervisor and its node actors publish through the bound, if any; the
        # run's own events (started, completed...) go to the hub directly.
        limit = self.bounds.max_event_bytes
        self.supervisor.hub = (self.hub if limit is None
                               else BoundedPublisher(self.hub, limit, self.id))

    # -- driving ---------------------------------------------------------------------------
    def restore(self, checkpoint: Checkpoint, *, next_seq: int | None = None,
                resumed: bool = True) -> None:
        """Continue from ``checkpoint``; events go on from ``next_seq``.

        ``resumed``: the run executed before (a recovery, an answer): it goes on as
        ``run_resumed`` and keeps its ``started_at``. A fork's first execution starts
        from a checkpoint too, but is a start (``run_started``, ``started_at`` set)."""
        self.supervisor.restore(checkpoint)
        self.hub = EventHub(self.id, first_seq=max(checkpoint.next_seq, next_seq or 0),
                            sink=self._sink(), history=self._older_events())
        self._attach_hub()
        self._resumed = resumed

    def continue_events(self, next_seq: int) -> None:
        """Number this run's events from ``next_seq`` (earlier ones are in the store)."""
        self.hub = EventHub(self.id, first_seq=next_seq, sink=self._sink(),
                            history=self._older_events())
        self._attach_hub()

    async def execute(self) -> None:
        """Drive the supervisor to the end; record the outcome. Never raises.

        A database outage costs the run nothing: its store calls (and those of every
        task it starts) wait until the database is back (``store.availability.holding``)."""
        # (One coroutine: a run in flight keeps its whole chain of them. No context
        # manager either: held for the whole run, each is objects per run in flight.)
        # This task's execution, from the run's start: it holds through outages
        # (store.availability.holding), log records name the run (runtime.logcontext),
        # and the nodes it executes inline update it. One context variable set per run.
        current_context.set(Execution(self.id))
        try:
            if self.done:
                await self._store_cancelled_before_start()
                return
            if self._releasing:
                # Released while it waited for a slot (a shutdown): it never starts here.
                await self._release_unstarted()
                return
            span = tracing.start_run(self.id, self.graph.name, self.trace_parent, self._resumed)
            try:
                with anyio.CancelScope() as scope:
                    self._scope = scope
                    if self._cancel_requested:
                        scope.cancel()
                    if self.admission is not None:
                        # A thread's run: wait (pending) until it holds its thread.
                        await self.admission(self)
                    await self._begin()
                    # The supervisor is awaited here, not in a method of its own: a
                    # coroutine (and its frame) less per run in flight.
                    started = time.monotonic()
                    error: ActorflowError | None = None
                    try:
                        if self.timeout is None:
                            await self.supervisor.run()
                        else:
                            with anyio.move_on_after(self.timeout) as timer:
                                await self.supervisor.run()
                            if timer.cancelled_caught:
                                error = self._timed_out()
                    except* Exception as group:  # noqa: BLE001 - one RunFailed, never raw
                        # One handler for the whole group: two (say ActorflowError, then
                        # the rest) would each see part of it, and the second would
                        # overwrite the first.
                        error = error_of_group(group, self.id)
                    await self._ended(started, error)
                stopped = scope.cancelled_caught or self._cancel_requested or self._releasing
                # A cancel or release that arrives while the run records its own end (the
                # store write is shielded) changes nothing: the run already ended.
                if stopped and not self.status.finished and self.status is not RunStatus.WAITING:
                    await self._finish_stopped()
            except Exception as exc:  # noqa: BLE001 - contained to this run, reported as RunFailed
                # The run's own bookkeeping failed (say the store refused its start). That
                # ends this run, never the runtime's task group and the other runs in it.
                self._crashed(exc)
            except BaseException:
                await self._cut_off()
                raise
            finally:
                self._scope = None
                if span is not None:
                    span.end(self.status.value, self.error if self.status is RunStatus.FAILED
                             else None)
                self._set_done()
        finally:
            # What this task does next (RunTable._drive: the gate's release) is not the
            # run's: it neither holds through an outage nor names the run in its logs.
            current_context.set(None)

    def _crashed(self, exc: Exception) -> None:
        err = RunFailed(f"run {self.id} could not be executed: {type(exc).__name__}: {exc}",
                        run_id=self.id)
        err.__cause__ = exc
        self.error = err
        self.failure = RunFailure.of(err)
        _log_failure(self, err)
        if not self.status.finished:
            self.status = RunStatus.FAILED
        if not self.hub.closed:
            self.hub.publish(EventType.RUN_FAILED, error=str(err), error_type="RunFailed")
            self.hub.close()

    async def _begin(self) -> None:
        self.started_at = datetime.now(UTC)
        self.status = self.status.check(RunStatus.RUNNING, self.id)
        if self.store is not None:
            fields: dict[str, Any] = {"status": RunStatus.RUNNING, "owner": self.owner}
            if not self._resumed:
                fields["started_at"] = self.started_at
            await self.store.update_run(self.id, **fields)
        if self._resumed:
            self.hub.publish(EventType.RUN_RESUMED, step=self.supervisor.steps)
        else:
            self.hub.emit(EventType.RUN_STARTED, None, _STARTED, self.graph.name,
                          dict(self.state.data))

    async def _finish_stopped(self) -> None:
        """Cancelled or released before the run ended by itself."""
        if self._releasing:
            await self._finish_released()
        else:
            await self._finish(RunStatus.CANCELLED, RunCancelled(
                f"run {self.id} was cancelled", run_id=self.id))

    def _timed_out(self) -> RunTimeoutError:
        return RunTimeoutError(
            f"run {self.id} exceeded its timeout of {self.timeout}s after "
            f"{self.supervisor.steps} steps; raise timeout or check for slow nodes",
            run_id=self.id)

    async def _ended(self, started: float, error: ActorflowError | None) -> None:
        """The supervisor returned (or failed with ``error``): record how the run ended."""
        if error is not None:
            await self._finish(RunStatus.FAILED, error)
            return
        if self._cancel_requested or self._releasing:
            return
        if self.supervisor.waiting:
            await self._pause()
            return
        final = self.state.model_dump(mode="json", fallback=repr)
        self.hub.emit(EventType.RUN_COMPLETED, None, _COMPLETED, final, self.supervisor.steps,
                      round((time.monotonic() - started) * 1000, 3))
        await self._record(RunStatus.COMPLETED, final)

    async def _finish(self, status: RunStatus, error: ActorflowError) -> None:
        self.error = error
        if status is RunStatus.FAILED:
            self.failure = RunFailure.of(error)
            _log_failure(self, error)
            cause = error.__cause__
            self.hub.publish(EventType.RUN_FAILED, getattr(error, "node", None),
                             error=str(error), error_type=type(error).__name__,
                             cause=f"{type(cause).__name__}: {cause}" if cause else None)
        else:
            self.hub.publish(EventType.RUN_CANCELLED, error=str(error),
                             error_type=type(error).__name__)
        await self._record(status)

    async def _pause(self) -> None:
        interrupts = self.interrupts
        self.error = RunWaiting(
            f"run {self.id} is waiting for {len(interrupts)} answer(s): "
            + ", ".join(i["id"] for i in interrupts), run_id=self.id, interrupts=interrupts)
        self.status = self.status.check(RunStatus.WAITING, self.id)
        self.hub.close()
        await self._store_run(status=RunStatus.WAITING, owner=None,
                              current_state=self.state.model_dump(mode="json", fallback=repr))

    async def _finish_released(self, why: str = "was released by a shutdown") -> None:
        self.hub.publish(EventType.RUN_RELEASED, step=self.supervisor.steps)
        self.status = self.status.check(RunStatus.PENDING, self.id)
        self.error = RunCancelled(f"run {self.id} {why}; it resumes when a runtime opens "
                                  "the same store", run_id=self.id)
        await self._store_run(status=RunStatus.PENDING, owner=None)
        self.hub.close()

    async def _store_cancelled_before_start(self) -> None:
        if self.status is RunStatus.CANCELLED and self.store is not None:
            # Cancelled before it started: cancel() could not await the store.
            await self._store_run(status=RunStatus.CANCELLED, completed_at=self.completed_at,
                                  error=str(self.error), error_type=type(self.error).__name__)

    async def _cut_off(self) -> None:
        """Cancelled from outside (the application's task group around the runtime went
        away) before the run ended or paused: released as a shutdown releases it, so
        ``result()`` raises, its readers end, and a durable store keeps it resumable.
        The store write is shielded and bounded (``_store_run``)."""
        if (self.error is not None or self.status.finished
                or self.status is RunStatus.WAITING):
            return   # it ended, or paused, before the cancellation reached it
        self._releasing = True
        why = "was cancelled with its runtime's task group before it ended"
        if self.status is RunStatus.RUNNING:
            await self._finish_released(why)
            return
        # Still pending (waiting for its thread): it never started here.
        await self.cut_off_unstarted()

    async def cut_off_unstarted(self) -> None:
        """Cancelled with its runtime's task group while it waited for a slot or a lease:
        it never started here. Released as a shutdown releases it (shielded, bounded)."""
        if self.done:
            return
        self._releasing = True
        await self._release_unstarted("was cancelled with its runtime's task group")

    async def _release_unstarted(self, why: str = "was released by a shutdown") -> None:
        self.error = RunCancelled(f"run {self.id} {why} before it started; it starts when "
                                  "a runtime opens the same store", run_id=self.id)
        try:
            await self._store_run(status=self.status, owner=None)
        finally:
            self.hub.close()
            self._set_done()

    async def _record(self, status: RunStatus, state: dict[str, Any] | None = None) -> None:
        self.status = self.status.check(status, self.id)
        self.completed_at = datetime.now(UTC)
        self.hub.close()
        if self.store is None:
            return
        fields: dict[str, Any] = {"status": status, "completed_at": self.completed_at}
        state = state if state is not None else self.state.model_dump(mode="json",
                                                                      fallback=repr)
        if status is RunStatus.COMPLETED:
            # Stored once: a finished run's current state is its final state (see
            # RunView), unless an edit writes another later.
            fields["final_state"] = state
            fields["current_state"] = None
        else:
            fields["current_state"] = state
        if self.error is not None:
            fields["error"] = str(self.error)
            fields["error_type"] = type(self.error).__name__
        if self.failure is not None:
            fields["failure"] = self.failure
        failure = await self._store_run(**fields)
        if failure is not None and self.error is None:
            self.error = RunFailed(f"run {self.id} finished but its end could not be "
                                   f"stored: {failure}", run_id=self.id)

    async def _store_run(self, **fields: Any) -> StoreError | None:
        """Record a change of the run, shielded and bounded: a cancelled run still records
        how it ended. If the run failed because the database is unreachable, don't wait
        long: the write stays queued in the store and lands when the database is back.
        Returns the store's error, if any (the run goes on with its own outcome).

        No flush after it: ``update_run`` returns once its write is committed, and with
        it every write queued before it (the writer commits in order; an event's row
        goes with the first commit after it), so all the run's events are durable too."""
        if self.store is None or self._abandoned:
            return None
        if instant_updates(self.store):
            # It never awaits: it completes in this step, cancelled or not (a shielded
            # scope would cost a cancel scope per run and guard nothing).
            try:
                await self.store.update_run(self.id, **fields)
            except StoreError as exc:
                return exc
            return None
        store_down = _caused_by(self.error, StoreUnavailableError)
        with anyio.move_on_after(STORE_DOWN_WAIT if store_down else CLEANUP_TIMEOUT,
                                 shield=True):
            try:
                await self.store.update_run(self.id, **fields)
            except StoreError as exc:
                return exc
        return None

    def _finish_cancelled_before_start(self) -> None:
        self.status = self.status.check(RunStatus.CANCELLED, self.id)
        self.error = RunCancelled(f"run {self.id} was cancelled before it started",
                                  run_id=self.id)
        self.hub.publish(EventType.RUN_CANCELLED)
        self.hub.close()
        self.completed_at = datetime.now(UTC)
        # result() returns at once; execute() records the end in the store when it runs.
        self._set_done()

    def _sink(self) -> Callable[[Event], None] | None:
        return self.store.append_event if self.store is not None else None

    def _older_events(self) -> Callable[[str, int, int], Awaitable[list[Event]]] | None:
        """The hub's loader of this run's older events: the store's reader (the hub passes
        the run's id), not a method of the run. The hub is the run's, so a bound method would make
        run and hub a reference cycle: every finished run (its events, state and
        supervisor, ~70 objects) would then wait for one of the collector's full
        passes, which walk every such run not yet collected."""
        return self.store.read_events if self.store is not None else None


def _log_failure(run: Run, error: ActorflowError) -> None:
    """One log record per failed run, with where it failed and the whole traceback: what
    an operator reads first. ``logging`` is the host's to configure; we only emit."""
    node = getattr(error, "node", None)
    attempt = getattr(error, "attempt", None)
    # Where, as far as it is known: a run timeout or a write conflict has no attempt,
    # and a run timeout no node ("failed at node None (attempt None)" said nothing).
    where = ("" if node is None else f" at node {node!r}"
             if attempt is None else f" at node {node!r} (attempt {attempt})")
    log.error("run %s of graph %r failed%s: %s", run.id, run.graph.name, where, error,
              exc_info=error)


def _caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, kind):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def pick_interrupt(waiting: dict[str, Any], interrupt_id: str | None, run_id: str) -> Any:
    """The waiting entry an answer is for; refuses unknown ids and ambiguity clearly."""
    if interrupt_id is None:
        if len(waiting) == 1:
            return next(iter(waiting.values()))
        raise InvalidResume(
            f"run {run_id} waits for {len(waiting)} interrupts ({', '.join(waiting) or 'none'});"
            " say which one with interrupt_id", run_id=run_id)
    if interrupt_id not in waiting:
        raise InvalidResume(
            f"run {run_id} has no waiting interrupt {interrupt_id!r} (already answered, or "
            f"never asked); it waits for: {', '.join(waiting) or 'nothing'}", run_id=run_id)
    return waiting[interrupt_id]


_NO_NAMES: frozenset[str] = frozenset()


def _names(names: Any) -> frozenset[str]:
    """Node names as a frozenset; none share one empty set (a finished run kept in
    memory then holds no set of its own for the collector to walk)."""
    return frozenset(names) if names else _NO_NAMES
