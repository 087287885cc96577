"""A run's node workers, reused across its nodes.

A node that is not on a loop has no worker of its own waiting for work: each of its
executions used to be a new task. A chain of five nodes then cost five task spawns per
run, and on asyncio an anyio spawn allocates a task, its handle, a wrapper coroutine, a
done callback and its cells, a task state and a weak reference: most of the garbage a
run makes, and the collector's work grows with it when thousands of runs are in flight.

Instead a worker whose node has no more work waits here, idle, for the next activation
of *any* node of its run; a task is spawned only when no worker is idle. Everything a
node execution is held to stays per execution (timeout, retries, errors: see
:class:`runtime.actor.NodeActor`), and so do a node's concurrency limit and its mailbox.

Every worker is a task of the run's task group: cancelling the run cancels the idle
ones with the busy ones, and the supervisor closes the pool when the run stops, which
ends the idle workers (a closed pool spawns and keeps none).
"""

from __future__ import annotations

from typing import Any, Protocol

from anyio.abc import TaskGroup

from .interrupts import CurrentExecution, current_context
from .wakeup import Wakeup

__all__ = ["MAX_IDLE", "NodeWork", "WorkerPool"]


class NodeWork(Protocol):
    """What a worker executes work for: a node actor (runtime.actor.NodeActor, which
    imports this module, hence a protocol rather than the class)."""

    def execution(self) -> CurrentExecution:
        """The object ``runtime.ask()`` finds in the worker's context."""

    async def work(self, work: Any) -> None:
        """Execute ``work`` (then the node's queued work); never raises."""


#: Idle workers a run keeps; others exit when done. One is all a chain needs (and a
#: join after a fan-out). Keeping more (a fan-out's workers) costs each a wait and a
#: wake-up at the end of the run, measured to cost more than the tasks they save.
MAX_IDLE = 1


class _Idle:
    """One idle worker: the event that wakes it, and the work it wakes up to."""

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.wake = Wakeup()   # one waiter, once: cheaper than an anyio.Event
        self.job: tuple[NodeWork, Any] | None = None   # None when woken to exit


class WorkerPool:
    """The worker tasks of one run's node actors (one supervisor's)."""

    __slots__ = ("_closed", "_idle", "_name", "_tg")

    def __init__(self, tg: TaskGroup, run_id: str) -> None:
        self._tg = tg
        self._name = f"node worker of run {run_id}"
        self._idle: list[_Idle] = []
        self._closed = False

    def start(self, actor: NodeWork, work: Any) -> None:
        """Execute ``work`` for ``actor`` in an idle worker, or in a new one."""
        if self._idle:
            # Last in, first out: the most recently busy worker is the likeliest to
            # still be warm, and the others stay idle.
            slot = self._idle.pop()
            slot.job = (actor, work)
            slot.wake.set()
            return
        self._tg.start_soon(self._work, actor, work, name=self._name)

    def close(self) -> None:
        """The run stops: idle workers exit, busy ones exit when they are done."""
        self._closed = True
        idle, self._idle = self._idle, []
        for slot in idle:
            slot.wake.set()

    async def _work(self, actor: NodeWork, work: Any) -> None:
        # ``runtime.ask()`` finds the execution it is called from through this context
        # variable: private to this task, updated per activation by the actor.
        current_context.set(actor.execution())
        job: tuple[NodeWork, Any] | None = (actor, work)
        while job is not None:
            actor, work = job
            await actor.work(work)
            if self._closed or len(self._idle) >= MAX_IDLE:
                return
            job = await self._wait()

    async def _wait(self) -> tuple[NodeWork, Any] | None:
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
        return slot.job
