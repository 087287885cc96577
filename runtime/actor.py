"""Node actors: the mailboxes and worker counts of a run's nodes.

Each node of a run has one mailbox (a memory object stream) and up to its
concurrency limit of workers reading from it, taken on demand from the run's
:class:`~runtime.workers.WorkerPool` (a worker idle after one node's work takes
the next node's). A worker runs one activation at a time (timeout, retries with
backoff) and reports a :class:`Result` to the supervisor over the supervisor's own
stream. Workers never raise: every outcome, failure included, is a message.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import sniffio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import tracing
from .compiled import CompiledNode
from .context import NodeContext
from .errors import NodeTimeoutError, RunFailed
from .events import EventType, Publisher
from .interrupts import Interrupt, current_context
from .mailbox import Outbox
from .node_cache import NodeCache
from .position import NO_ITEM, Activation
from .state import StateUpdate, WorkflowState
from .store.base import Store
from .subgraph import Spawn, run_subgraph
from .workers import WorkerPool

__all__ = ["Execution", "NodeActor", "Result"]

log = logging.getLogger("actorflow.cache")

#: The data keys of a node_started event, as Publisher.emit takes them.
_STARTED = ("attempt", "input", "input_step")
_STARTED_AT = (*_STARTED, "index")   # an item of a map edge


def _cancelled() -> bool:
    """Whether a CancelledError caught in a node execution is a cancellation of the
    task executing it. On asyncio anyio cancels a task with ``Task.cancel()``, which
    ``cancelling()`` counts; under trio asyncio's CancelledError is never one."""
    if sniffio.current_async_library() != "asyncio":
        return False
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0

#: What a node actor receives: an activation and the state its node sees.
Work = tuple[Activation, WorkflowState]


@dataclass(slots=True)
class Result:
    """What a worker reports back: an update, or the error that ended the last attempt."""

    activation: Activation
    update: StateUpdate | None
    error: Exception | None
    attempt: int
    duration: float
    interrupt: Interrupt | None = None
    cached: bool = False          # the update came from the node cache


class Execution:
    """The activation a task of run ``run_id`` is executing, for ``ask()`` and log records;
    its NodeContext is built only when asked for (most nodes never do).

    A run's own task holds one from its start (``Run.execute``, no activation yet: log
    records of the run name it), which the nodes it executes inline then update; a
    node worker holds one of its own (WorkerPool)."""

    __slots__ = ("act", "actor", "attempt", "ctx", "run_id")

    def __init__(self, run_id: str, actor: NodeActor | None = None) -> None:
        self.run_id = run_id
        self.actor = actor
        self.act: Activation | None = None
        self.attempt = 0
        self.ctx: NodeContext | None = None

    def context(self) -> NodeContext:
        if self.ctx is None:
            a, act = self.actor, self.act
            if a is None or act is None:
                raise RuntimeError("ask() can only be called from inside a running node")
            self.ctx = NodeContext(a.run_id, a.node.name, self.attempt, a.node.config,
                                   None if act.item is NO_ITEM else act.item, act.index,
                                   a.hub, act.id, act.answers)
        return self.ctx

    def where(self) -> tuple[str, str | None]:
        return self.run_id, None if self.actor is None else self.actor.node.name


class NodeActor:
    """The mailbox and worker pool of one node in one run."""

    __slots__ = (
        "_limit",
        "_linger",
        "_receive",
        "_results",
        "_send",
        "_traced",
        "busy",
        "cache",
        "graph",
        "hub",
        "node",
        "path",
        "run_id",
        "spawn",
        "store",
        "workers",
    )

    def __init__(self, node: CompiledNode, run_id: str, hub: Publisher,
                 results: Outbox[Result], store: Store | None = None, path: str = "",
                 spawn: Spawn | None = None, cache: NodeCache | None = None,
                 graph: str = "") -> None:
        self.node = node
        self.store = store        # a subgraph node checkpoints its child's steps here
        self.path = path          # where this node's graph is in the run (subgraphs)
        self.spawn = spawn        # makes a subgraph node's child supervisor
        # Used only for a node with a cache policy: the runtime's cache, the graph name.
        self.cache = cache if node.cache is not None else None
        self.graph = graph
        self.run_id = run_id
        self.hub = hub
        self._results = results
        # Whether the run is traced, read once: actors are made in the run's task,
        # where the run's span (if any) is current (runtime.tracing), so a node
        # execution of an untraced run does nothing for tracing at all.
        self._traced = tracing.traced()
        self._limit = node.concurrency or math.inf
        # A node on a loop or behind a map edge is likely to get more work: its idle
        # workers wait for it. Any other node's worker goes back to the run's pool once
        # its mailbox is empty, for another node's work (a wide fan-out still costs one
        # task per branch, like spawning it by hand).
        self._linger = node.persistent
        # Made when first needed (a worker waits on it, or work queues in it): a node
        # executed inline by the supervisor (runtime.supervisor) never needs one.
        self._send: MemoryObjectSendStream[Work] | None = None
        self._receive: MemoryObjectReceiveStream[Work] | None = None
        self.workers = 0
        self.busy = 0

    def _mailbox(self) -> MemoryObjectSendStream[Work]:
        if self._send is None:
            # Unbounded: the supervisor must never block on a busy node (it would stop
            # reading results and deadlock with the workers). What queues here is
            # bounded by the run's max_steps and by map concurrency limits.
            self._send, self._receive = anyio.create_memory_object_stream(math.inf)
        return self._send

    def submit(self, work: tuple[NodeActor, Activation, WorkflowState],
               pool: WorkerPool) -> None:
        """Hand ``work`` (this actor, an activation, the state it sees) to a worker (one
        of ``pool``'s, or one of this node's already waiting); it reports to the
        supervisor's mailbox."""
        self.busy += 1
        if self.busy > self.workers and self.workers < self._limit:
            # A new worker takes its first activation directly (``work`` queued as it
            # is); the mailbox is for work that arrives while every worker is busy.
            self.workers += 1
            pool.start(work)
            return
        self._mailbox().send_nowait((work[1], work[2]))

    def inline(self, activation: Activation, state: WorkflowState) -> Awaitable[Result]:
        """Execute ``activation`` in the caller's task (the supervisor's, when nothing
        else of its run is in flight): the same execution a worker does, returning
        its Result instead of reporting it. Busy until ``done()``, as if submitted."""
        self.busy += 1
        return self._execute(activation, state)

    def done(self) -> bool:
        """An activation of this node is handled; whether the actor is now idle and
        holds nothing (no worker, no mailbox, not lingering): dropping it then loses
        nothing, and the next activation of its node makes a new one."""
        self.busy -= 1
        return not (self.busy or self.workers or self._linger or self._send is not None)

    def close(self) -> None:
        """End of input: idle workers see the end of their mailbox and exit."""
        if self._send is not None:
            self._send.close()

    def _current(self, act: Activation, attempt: int) -> Execution:
        current = current_context.get()
        if current is None:
            # Executed inline by a supervisor not started by Run.execute (which sets
            # one for its task): made once and reused (as a worker's).
            current = Execution(self.run_id, self)
            current_context.set(current)
        # Set by this task: Run.execute, the supervisor's run() (a subgraph's, in its
        # parent's node) or WorkerPool.
        assert isinstance(current, Execution) and current.run_id == self.run_id
        # A worker may have run another node of the run before this one.
        current.actor, current.act, current.attempt, current.ctx = self, act, attempt, None
        return current

    def execution(self) -> Execution:
        """What ``runtime.ask()`` finds in a worker task (see WorkerPool)."""
        return Execution(self.run_id, self)

    async def work(self, activation: Activation, state: WorkflowState) -> None:
        """Execute ``activation`` on ``state``, then what waits in the mailbox (a node on a loop: until
        the mailbox closes); called by a worker of the run's WorkerPool, which counts
        in ``workers`` from submit() until this returns."""
        # All workers of a node read the one mailbox (anyio streams allow several
        # waiting receivers); the results stream is shared with the supervisor, which
        # owns and closes both.
        results = self._results
        try:
            while True:
                # Unbounded stream: never blocks.
                results.send_nowait(await self._execute(activation, state))
                if self._receive is None and not self._linger:
                    return   # (what _next would say, without a coroutine to ask it)
                queued = await self._next()
                if queued is None:
                    return
                activation, state = queued
        finally:
            self.workers -= 1

    async def _next(self) -> Work | None:
        inbox = self._receive
        if inbox is None:
            if not self._linger:
                return None
            self._mailbox()
            inbox = self._receive
            assert inbox is not None
        # Take queued work without a scheduling round trip; wait only when idle (that
        # wait is where cancellation reaches an idle worker). The wait is outside the
        # except clause, so no WouldBlock and traceback stay alive while it lasts.
        try:
            return inbox.receive_nowait()
        except anyio.WouldBlock:
            pass
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None
        if not self._linger:
            return None
        try:
            return await inbox.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None

    def _execute(self, act: Activation, state: WorkflowState) -> Awaitable[Result]:
        # Returns the coroutine to await rather than awaiting it: one coroutine (and
        # frame) less per node execution, and per task in flight.
        if self.cache is None:
            return self._run(act, state)
        return self._cached(act, state)

    async def _cached(self, act: Activation, state: WorkflowState) -> Result:
        policy, cache = self.node.cache, self.cache
        assert policy is not None and cache is not None
        started = time.perf_counter()
        try:
            key = cache.key(self.graph, self.node.name, self.node.config, state, policy)
            hit = await cache.get(key)
        except Exception as exc:  # noqa: BLE001 - a failing key function fails the node
            return Result(act, None, exc, 1, time.perf_counter() - started)
        if hit is not None:
            # Skipped: its update is written as if it had run; its events say it came
            # from the cache.
            log.info("node %s of run %s: cache hit (%s)", self.node.name, self.run_id,
                     key[:12])
            self.hub.publish(EventType.NODE_STARTED, self.node.name, attempt=1,
                             input=state.data, input_step=state.iteration, cached=True,
                             **({"index": act.index} if act.index is not None else {}))
            return Result(act, hit, None, 1, time.perf_counter() - started, cached=True)
        result = await self._run(act, state)
        if result.update is not None and result.update.goto is None:
            # (A Command's goto may hold Sends that are not JSON: not cached.)
            cache.put(key, result.update, policy.ttl)
        return result

    async def _run(self, act: Activation, state: WorkflowState) -> Result:
        node = self.node
        attempt = 0
        while True:
            attempt += 1
            # ``input`` is the state data the node sees (a shared, never-mutated snapshot,
            # not a copy) for live subscribers; stores keep only ``input_step``, the
            # checkpoint holding that state (storing it would copy the whole state per
            # node execution: quadratic for a state that grows).
            if act.index is None:
                self.hub.emit(EventType.NODE_STARTED, node.name, _STARTED, attempt,
                              state.data, state.iteration)
            else:
                self.hub.emit(EventType.NODE_STARTED, node.name, _STARTED_AT, attempt,
                              state.data, state.iteration, act.index)
            started = time.perf_counter()
            span = (tracing.start_attempt(self.run_id, node.name, attempt, act.index)
                    if self._traced else None)
            try:
                call = self._call(act, state, attempt)
                try:
                    out = await (call if span is None else tracing.within(span, call))
                except asyncio.CancelledError as exc:
                    raise self._uncalled_for(exc, attempt) from exc
                update = (out if isinstance(out, StateUpdate)
                          else StateUpdate.from_result(out, state, node.name))
                if span is not None:
                    tracing.end_attempt(span, "completed")
                return Result(act, update, None, attempt, time.perf_counter() - started)
            except Interrupt as interrupt:
                if span is not None:
                    tracing.end_attempt(span, "interrupted")
                return Result(act, None, None, attempt, time.perf_counter() - started,
                              interrupt)
            except Exception as exc:  # noqa: BLE001 - a node may raise anything; it's reported
                retry = node.retry
                if retry is not None and retry.should_retry(exc, attempt):
                    if span is not None:
                        tracing.end_attempt(span, "retrying", exc)
                    delay = retry.delay(attempt)
                    self.hub.publish(EventType.NODE_RETRYING, node.name, attempt=attempt,
                                     delay=delay, error=f"{type(exc).__name__}: {exc}")
                    await anyio.sleep(delay)
                    continue
                if span is not None:
                    tracing.end_attempt(span, "failed", exc)
                return Result(act, None, exc, attempt, time.perf_counter() - started)
            finally:
                if span is not None:
                    tracing.abandon_attempt(span)   # cancelled: the span still ends

    def _uncalled_for(self, exc: asyncio.CancelledError, attempt: int) -> RunFailed:
        """The failure to report for a CancelledError that is no cancellation of this
        task (a task the node awaited was cancelled by someone else): the node's, not
        the end of the task executing it (a worker, or the run's own task: the run
        would vanish). A real cancellation is raised on."""
        if _cancelled():
            raise exc
        name = self.node.name
        return RunFailed(
            f"node {name!r} raised CancelledError though nothing cancelled it (attempt "
            f"{attempt}); handle the cancellation of what it awaited inside the node",
            run_id=self.run_id, node=name, attempt=attempt)

    def _call(self, act: Activation, state: WorkflowState, attempt: int) -> Awaitable[Any]:
        """What to await for one attempt: the node's own coroutine in the common case
        (no wrapping coroutine per node execution). Called inside _run's ``try``, so
        an error in making the call (a wrong signature) is the attempt's error too."""
        node = self.node
        current = self._current(act, attempt)
        if node.subgraph is not None:
            assert self.spawn is not None   # the supervisor gives one to every actor
            return self._timed(run_subgraph(
                node.subgraph, state, act, node=node.name, path=self.path, hub=self.hub,
                store=self.store, spawn=self.spawn), attempt)
        args: tuple[Any, ...] = (state,)
        if node.second_arg == "config":
            args = (state, node.config)
        elif node.second_arg is not None:
            args = (state, current.context())
        if node.timeout is None and node.is_async:
            # The common case awaits the node itself: three wrapping coroutines less to
            # create (and collect) per node execution.
            return node.fn(*args)  # type: ignore[no-any-return]
        return self._timed(self._invoke(args), attempt)

    async def _timed(self, call: Awaitable[Any], attempt: int) -> Any:
        node = self.node
        if node.timeout is None:
            return await call
        with anyio.move_on_after(node.timeout) as scope:
            return await call
        if scope.cancelled_caught:
            raise NodeTimeoutError(
                f"node {node.name!r} timed out after {node.timeout}s (attempt {attempt}); "
                "raise its timeout or make it faster",
                run_id=self.run_id, node=node.name, attempt=attempt,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _invoke(self, args: tuple[Any, ...]) -> Any:
        if self.node.is_async:
            return await self.node.fn(*args)
        # Sync nodes run in a worker thread so they never block the event loop.
        return await anyio.to_thread.run_sync(partial(self.node.fn, *args), abandon_on_cancel=True)
