"""A run's node workers, reused across its nodes.

A node that is not on a loop has no worker of its own waiting for work: each of its
executions used to be a new task. A chain of five nodes then cost five task spawns per
run, and on asyncio an anyio spawn allocates a task, its handle, a wrapper coroutine, a
done callback and its cells, a task state and a weak reference: most of the garbage a
run makes, and the collector's work grows with it when thousands of runs are in flight.

Instead a worker whose node has no more work takes the next activation of *any* node
of its run, queued or, once idle, the next one to come; a task is spawned only when
no worker is free to take it (see :class:`WorkerPool` for a fan-out's branches). Everything a
node execution is held to stays per execution (timeout, retries, errors: see
:class:`runtime.actor.NodeActor`), and so do a node's concurrency limit and its mailbox.

Every worker is a task of the run's task group: cancelling the run cancels the idle
ones with the busy ones, and the supervisor closes the pool when the run stops, which
ends the idle workers (a closed pool spawns and keeps none).
"""

from __future__ import annotations

import contextvars
from collections import deque
from typing import Any, Protocol

import anyio.lowlevel
from anyio.abc import TaskGroup

from .interrupts import CurrentExecution, current_context
from .spawn import Spawner, spawner
from .wakeup import Wakeup

__all__ = ["MAX_IDLE", "NodeWork", "WorkerPool"]


class NodeWork(Protocol):
    """What a worker executes work for: a node actor (runtime.actor.NodeActor, which
    imports this module, hence a protocol rather than the class)."""

    def execution(self) -> CurrentExecution:
        """The object ``runtime.ask()`` finds in the worker's context."""

    async def work(self, activation: Any, state: Any) -> None:
        """Execute ``activation`` on ``state`` (then the node's queued work); never raises."""


#: One item of work: the actor, the activation and the state its node sees. The
#: supervisor's own tuple is queued as it is: a tuple per branch in flight rather than
#: three (a 10,000-branch fan-out has all of them alive at once, and the collector
#: walks every one of them again at each collection while they are).
Work = tuple[NodeWork, Any, Any]


#: Idle workers a run keeps; others exit when done. One is all a chain needs (and a
#: join after a fan-out). Keeping more (a fan-out's workers) costs each a wait and a
#: wake-up at the end of the run, measured to cost more than the tasks they save.
MAX_IDLE = 1


class _Idle:
    """One idle worker: the event that wakes it, and why it wakes."""

    __slots__ = ("spare", "wake", "work")

    def __init__(self) -> None:
        self.wake = Wakeup()   # one waiter, once: cheaper than an anyio.Event
        self.work = False      # woken to take queued work (False: to exit)
        self.spare = False     # (see WorkerPool._call)


class WorkerPool:
    """The worker tasks of one run's node actors (one supervisor's).

    Work waits in one queue, oldest first, and a worker takes the next item when it is
    done with one. A fan-out's branches that never wait (or finish before the next one
    starts) then run one after the other in the same task, in branch order, instead of
    costing a task spawn each (the task, its coroutine and anyio's wrapper, ~10 objects
    per branch, all alive at once in a 10,000-branch fan-out: the collector walked them
    again and again). Parallelism is kept by one rule: whenever a worker starts an item
    while others wait and no worker is on its way to the queue, it first calls a spare
    one (an idle worker, or a new task). If the item blocks, the spare finds the queue
    still full a turn of the event loop later, and then calls a worker for every item
    left: branches that wait all start within two turns, each in a task of its own as
    before, and none ever waits behind another.
    """

    __slots__ = ("_closed", "_coming", "_context", "_generation", "_idle", "_name", "_queue",
                 "_tg")

    def __init__(self, tg: TaskGroup, run_id: str) -> None:
        # Workers start in ``tg`` (runtime.spawn: under trio its nursery, no TaskHandle
        # per worker).
        self._tg: Spawner = spawner(tg)
        self._name = f"node worker of run {run_id}"
        self._idle: list[_Idle] = []
        self._queue: deque[Work] = deque()
        # Workers called to the queue (spawned or woken) that have not taken an item yet.
        self._coming = 0
        self._closed = False
        # The supervisor's context when it last handed work over, and how many times
        # it has changed: a worker called in an older one takes no more work (start()).
        self._context: contextvars.Context | None = None
        self._generation = 0

    def start(self, work: Work) -> None:
        """Execute ``work`` (actor, activation, state) in a worker: an idle one, one
        already called to the queue, or a new one."""
        queue = self._queue
        if not queue:
            # Called by the supervisor, whose context a node it executed inline may
            # have changed (a context variable set) since it called the workers idle
            # or on their way now: branches start in the context of the node that
            # fanned them out, as tasks spawned now would, not in a worker's older
            # one. Those workers take nothing more. (Checked when the queue is empty:
            # once per fan-out, not per branch.)
            context = contextvars.copy_context()
            if context != self._context:
                self._context = context
                self._generation += 1
                self._coming = 0
                self._dismiss()
        queue.append(work)
        if not self._coming:
            self._call()

    def close(self) -> None:
        """The run stops: idle workers exit, busy ones exit when they are done."""
        self._closed = True
        self._queue.clear()
        self._dismiss()

    def _dismiss(self) -> None:
        """Idle workers exit."""
        idle, self._idle = self._idle, []
        for slot in idle:
            slot.wake.set()

    def _call(self, spare: bool = False) -> None:
        """Bring one more worker to the queue (``spare``: in case the item a worker is
        starting blocks)."""
        self._coming += 1
        if self._idle:
            # Last in, first out: the most recently busy worker is the likeliest to
            # still be warm, and the others stay idle.
            slot = self._idle.pop()
            slot.work = True
            slot.spare = spare
            slot.wake.set()
            return
        self._tg.start_soon(self._work, spare, self._generation, name=self._name)

    def _spread(self) -> None:
        """A spare worker arrives: if the queue is still full, the item it was called
        for blocked (a worker that is not blocked takes the queue's next item in the
        turn it finished the last): these items wait, and one more turn each would make
        the last branch of a wide fan-out start thousands of turns late. Every item left
        but the one the spare takes gets a worker of its own now, as every branch had a
        task."""
        for _ in range(len(self._queue) - 1 - self._coming):
            self._call()

    async def _work(self, spare: bool, generation: int) -> None:
        queue = self._queue
        while True:   # once per call to the queue: spawned, or woken while idle
            if generation != self._generation:
                return   # called in an older context of the supervisor's (start())
            self._coming -= 1
            if queue:
                # A run cancelled since this worker was called (a failure, a timeout,
                # Run.cancel) starts no more items. Once per call, not per item: the
                # items a worker then takes without waiting run in one turn of the
                # event loop, where nothing else runs to cancel them (their own tasks,
                # spawned together, all started in one turn too); an item that waits
                # is cancelled where it waits.
                await anyio.lowlevel.checkpoint_if_cancelled()
            if spare:
                self._spread()
            start: contextvars.Context | None = None
            while queue and generation == self._generation:
                actor, activation, state = queue.popleft()
                if start is None:
                    # ``runtime.ask()`` finds the execution it is called from through
                    # this context variable: private to this task, updated per
                    # activation by the actor.
                    current_context.set(actor.execution())
                    # The context the items taken now start in, as a task of their own
                    # would start in the supervisor's. One that leaves it changed (a
                    # context variable set) ends this worker: the next must not see it.
                    start = contextvars.copy_context()
                if queue and not self._coming:
                    # If this item blocks, the next one must not wait for it.
                    self._call(spare=True)
                await actor.work(activation, state)
                if queue and contextvars.copy_context() != start:
                    if not self._coming:
                        self._call()
                    return
            # A worker whose last item left its context changed does not go idle
            # either: it would start the next fan-out's branches in that context (all
            # of them, taken one after the other), which the node that fanned them out
            # does not see.
            if (self._closed or len(self._idle) >= MAX_IDLE or generation != self._generation
                    or (start is not None and contextvars.copy_context() != start)):
                return
            called = await self._wait()
            if called is None:
                return
            spare = called

    async def _wait(self) -> bool | None:
        """Wait idle; None when the pool closed, else whether called as a spare."""
        slot = _Idle()
        self._idle.append(slot)
        try:
            await slot.wake.wait()
        except BaseException:
            # Cancelled while idle: the run's task group is cancelled, so the run is
            # stopping and dispatches nothing more; it must not hand work to this one.
            if slot in self._idle:
                self._idle.remove(slot)
            raise
        return slot.spare if slot.work else None
