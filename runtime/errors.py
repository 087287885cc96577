"""The one error tree of actorflow.

Every error the runtime raises on purpose derives from :class:`ActorflowError`.
Errors carry what a caller needs to act on them as attributes (``run_id``,
``node``, ``attempt``, ``problems``...) and say in their message what to do next.
Foreign errors are mapped at the boundary with ``raise X(...) from exc``, so the
original exception is always reachable as ``__cause__``.

::

    ActorflowError
    ├── GraphError                     a graph definition is wrong
    │   ├── GraphValidationError       compile() found problems (all listed in .problems)
    │   ├── ExpressionError            a condition expression is rejected (.position)
    │   ├── GraphSerializationError    a graph can't be turned into / read from JSON
    │   └── GraphNotFoundError         no stored or registered graph by that id or name
    ├── ToolNotFoundError              unknown tool or condition name (.suggestions)
    ├── StateError                     a state write is rejected
    │   ├── StateValidationError       a write breaks the data schema (.node, .path)
    │   │   └── InputValidationError   a run's input breaks the schema (.errors)
    │   └── ParallelWriteConflict      two branches wrote one key with no reducer
    ├── SizeLimitExceeded              a run outgrew a size bound (.limit, .size, .node)
    │   ├── StateTooLargeError         its state's data past max_state_bytes
    │   └── EventTooLargeError         one node event's payload past max_event_bytes
    ├── RunError                       about one run (.run_id)
    │   ├── RunNotFoundError           no run with that id
    │   ├── CheckpointNotFoundError    the run has no checkpoint at that step (.step)
    │   ├── InvalidTransition          a status change that the lifecycle forbids
    │   │   └── RunFinishedError       the run already finished (.status)
    │   ├── RunFailed                  the run failed (.node, .attempt, __cause__)
    │   │   ├── NodeTimeoutError       a node attempt exceeded its timeout
    │   │   ├── RunTimeoutError        the whole run exceeded its timeout
    │   │   ├── MaxStepsExceeded       a runaway loop (.loop names its nodes)
    │   │   └── RunInterrupted         too many crashes; will not resume again
    │   ├── RunCancelled               run.cancel() or runtime shutdown
    │   ├── RunWaiting                 the run paused for an answer (.interrupts)
    │   ├── InvalidResume              a resume was refused (interrupts module)
    │   └── SubscriberLagged           an event subscriber fell behind (.resume_from)
    ├── ThreadError                    about one thread (.thread_id)
    │   ├── ThreadNotFoundError        no thread with that id
    │   └── ThreadBusyError            a run of the thread is active (.active_run_id)
    ├── RuntimeClosedError             the Runtime is not running
    └── StoreError                     the store failed (.transient)
        ├── StoreUnavailableError      the database could not be reached in time
        ├── CheckpointFormatError      a stored checkpoint position this version can't read
        ├── GraphExistsError           a graph of that name is stored (store.errors)
        └── ThreadExistsError          a thread with that id exists (store.errors)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio

__all__ = [
    "ActorflowError",
    "CheckpointFormatError",
    "EventTooLargeError",
    "SizeLimitExceeded",
    "StateTooLargeError",
    "CheckpointNotFoundError",
    "ExpressionError",
    "GraphError",
    "GraphNotFoundError",
    "GraphSerializationError",
    "GraphValidationError",
    "InputValidationError",
    "InvalidTransition",
    "MaxStepsExceeded",
    "NodeTimeoutError",
    "ParallelWriteConflict",
    "RunCancelled",
    "RunError",
    "RunFailed",
    "RunFinishedError",
    "RunInterrupted",
    "RunNotFoundError",
    "RunTimeoutError",
    "RunWaiting",
    "ThreadBusyError",
    "ThreadError",
    "ThreadNotFoundError",
    "RuntimeClosedError",
    "StateError",
    "StateValidationError",
    "StoreError",
    "StoreUnavailableError",
    "SubscriberLagged",
    "ToolNotFoundError",
]


class ActorflowError(Exception):
    """Base of every error actorflow raises on purpose."""


class GraphError(ActorflowError):
    """A graph definition is wrong."""


class GraphValidationError(GraphError):
    """``Graph.compile()`` found problems; ``problems`` lists every one of them."""

    def __init__(self, graph: str, problems: Sequence[str]) -> None:
        self.graph = graph
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"graph {graph!r} is invalid ({len(self.problems)} problem(s)):\n{lines}"
        )


class ExpressionError(GraphError):
    """A condition expression was rejected.

    ``position`` is the 1-based column in ``source`` where the problem starts.
    """

    def __init__(self, message: str, source: str, position: int | None = None) -> None:
        self.reason = message
        self.source = source
        self.position = position
        where = f" at column {position}" if position is not None else ""
        super().__init__(f"invalid condition {source!r}{where}: {message}")


class GraphSerializationError(GraphError):
    """A graph could not be converted to or from its JSON form."""


class GraphNotFoundError(GraphError, LookupError):
    """No graph is stored or registered under that id or name (``key``)."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class ToolNotFoundError(ActorflowError, LookupError):
    """No tool (or condition) is registered under ``name``."""

    def __init__(self, name: str, suggestions: Sequence[str] = (), kind: str = "tool") -> None:
        self.name = name
        self.kind = kind
        self.suggestions = list(suggestions)
        hint = (
            f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else f"; see the registered {kind}s (GET /api/v1/tools, `actorflow tools`, "
            "registry.list()) or register one with @registry." + kind + "()"
        )
        super().__init__(f"unknown {kind} {name!r}{hint}")


class StateError(ActorflowError):
    """A write to the run's state was rejected."""

    def __init__(self, message: str, *, node: str | None = None, run_id: str | None = None):
        self.node = node
        self.run_id = run_id
        super().__init__(message)


class StateValidationError(StateError):
    """A node's write broke the graph's data schema; ``path`` locates the field."""

    def __init__(self, message: str, *, node: str | None, path: str, run_id: str | None = None):
        self.path = path
        super().__init__(message, node=node, run_id=run_id)


class InputValidationError(StateValidationError):
    """A run's input does not fit the graph's data schema; nothing ran.

    ``errors`` lists every problem as ``{"path", "message", "type"}`` (``path`` within
    ``data``, dotted); ``path`` is the first one's.
    """

    def __init__(self, message: str, *, errors: list[dict[str, str]],
                 run_id: str | None = None) -> None:
        self.errors = errors
        super().__init__(message, node=None, path=errors[0]["path"] if errors else "",
                         run_id=run_id)


class ParallelWriteConflict(StateError):
    """Two parallel branches wrote the same key, which has no reducer."""

    def __init__(self, key: str, branches: tuple[str, str], run_id: str | None = None):
        self.key = key
        self.branches = branches
        super().__init__(
            f"parallel branches {branches[0]!r} and {branches[1]!r} both write data key "
            f"{key!r}, which has no reducer; declare one, e.g. "
            f"Graph(..., reducers={{{key!r}: 'append'}})",
            node=branches[1],
            run_id=run_id,
        )


class RunError(ActorflowError):
    """An error about one run."""

    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(message)


class RunNotFoundError(RunError, LookupError):
    """No run with that id is known to the runtime or its store."""


class CheckpointNotFoundError(RunError, LookupError):
    """The run exists but has no checkpoint at ``step``."""

    def __init__(self, message: str, *, run_id: str, step: int) -> None:
        self.step = step
        super().__init__(message, run_id=run_id)


class InvalidTransition(RunError):
    """A run status change that the lifecycle does not allow."""


class RunFinishedError(InvalidTransition):
    """The run already finished (``status``), so it cannot be cancelled (or changed so)."""

    def __init__(self, message: str, *, run_id: str, status: str) -> None:
        self.status = status
        super().__init__(message, run_id=run_id)


class RunFailed(RunError):
    """The run failed. ``node`` and ``attempt`` say where; ``__cause__`` is the original error."""

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None = None,
        node: str | None = None,
        attempt: int | None = None,
    ) -> None:
        self.node = node
        self.attempt = attempt
        super().__init__(message, run_id=run_id)


class NodeTimeoutError(RunFailed):
    """A node attempt ran longer than its ``timeout``."""


class RunTimeoutError(RunFailed):
    """The run ran longer than its ``timeout``."""


class MaxStepsExceeded(RunFailed):
    """The run executed more than ``max_steps`` nodes; ``loop`` names the looping nodes."""

    def __init__(
        self, message: str, *, run_id: str | None, node: str | None, loop: Sequence[str]
    ) -> None:
        self.loop = list(loop)
        super().__init__(message, run_id=run_id, node=node)


class RunInterrupted(RunFailed):
    """The run was interrupted by crashes too many times and is not resumed again."""


class RunCancelled(RunError):
    """The run was cancelled (``run.cancel()``, or the runtime shut down)."""


class RunWaiting(RunError):
    """The run paused until someone answers; ``interrupts`` lists what it waits for.

    Answer with ``Runtime.resume(run_id, answer, interrupt_id=...)``, which returns
    the handle of the resumed run.
    """

    def __init__(self, message: str, *, run_id: str, interrupts: list[dict[str, object]]):
        self.interrupts = interrupts
        super().__init__(message, run_id=run_id)


class SubscriberLagged(RunError):
    """An event subscriber fell behind its bounded buffer and was dropped.

    Subscribe again with ``run.events(since=exc.resume_from)`` to continue without a gap.
    """

    def __init__(self, *, run_id: str, resume_from: int, buffer: int) -> None:
        self.resume_from = resume_from
        self.buffer = buffer
        super().__init__(
            f"event subscriber of run {run_id} fell more than {buffer} events behind and "
            f"was dropped; resume with events(since={resume_from})",
            run_id=run_id,
        )


class RuntimeClosedError(ActorflowError):
    """The ``Runtime`` is not running (use ``async with Runtime() as rt``)."""


class StoreError(ActorflowError):
    """The store failed. ``transient`` errors are worth retrying."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        self.transient = transient
        super().__init__(message)


class StoreUnavailableError(StoreError):
    """The database could not be reached within the retry budget."""


class CheckpointFormatError(StoreError):
    """A checkpoint's position is in a format this version cannot read (written by a
    newer version, or damaged); see :mod:`runtime.position`."""


class SizeLimitExceeded(ActorflowError):
    """A run outgrew one of its size bounds (``runtime.payload_bounds``): ``size``
    bytes (as JSON) where ``limit`` are allowed, caused by ``node``."""

    def __init__(self, message: str, *, node: str | None, run_id: str | None, size: int,
                 limit: int) -> None:
        self.node = node
        self.run_id = run_id
        self.size = size
        self.limit = limit
        super().__init__(message)


class StateTooLargeError(SizeLimitExceeded):
    """A node's write grew the run's state past its ``max_state_bytes``."""


class EventTooLargeError(SizeLimitExceeded):
    """A node published an event whose payload is larger than ``max_event_bytes``."""


class ThreadError(ActorflowError):
    """About one thread (a conversation over many runs): ``thread_id`` says which."""

    def __init__(self, message: str, *, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(message)


class ThreadNotFoundError(ThreadError, LookupError):
    """No thread with that id."""


class ThreadBusyError(ThreadError):
    """A run of the thread is active (``active_run_id``) and the second run's strategy
    is ``reject``: wait for it, or start with ``multitask="enqueue"`` or ``"interrupt"``."""

    def __init__(self, message: str, *, thread_id: str, active_run_id: str) -> None:
        self.active_run_id = active_run_id
        super().__init__(message, thread_id=thread_id)


#: What breaks in the runtime's own machinery once a run is ending (see error_of_group).
_COLLATERAL = (anyio.BrokenResourceError, anyio.ClosedResourceError)


def error_of_group(group: BaseExceptionGroup[Any], run_id: str) -> ActorflowError:
    """One clear error from a task group's exception group (all leaves kept as cause):
    what a run (or a subgraph's run) ends with when its task group raises."""
    leaves: list[BaseException] = []

    def walk(g: BaseException) -> None:
        if isinstance(g, BaseExceptionGroup):
            for e in g.exceptions:
                walk(e)
        else:
            leaves.append(g)

    walk(group)
    # A mailbox or stream that broke because the run was ending is a consequence, not
    # a cause: with a run's own error beside it, that error is the one to report (a
    # wide fan-out failing once must not read as one such error per branch).
    causes = [e for e in leaves if not isinstance(e, _COLLATERAL)]
    if causes and any(isinstance(e, ActorflowError) for e in causes):
        leaves = causes
    if len(leaves) == 1 and isinstance(leaves[0], ActorflowError):
        err = leaves[0]
        if isinstance(err, RunError) and err.run_id is None:
            err.run_id = run_id
        if not isinstance(err, RunFailed):
            wrapped = RunFailed(str(err), run_id=run_id, node=getattr(err, "node", None))
            wrapped.__cause__ = err
            return wrapped
        return err
    if len(leaves) == 1:
        failed = RunFailed(f"run {run_id} failed: {type(leaves[0]).__name__}: {leaves[0]}",
                           run_id=run_id)
        failed.__cause__ = leaves[0]
        return failed
    failed = RunFailed(
        f"run {run_id} failed with {len(leaves)} errors: "
        + "; ".join(f"{type(e).__name__}: {e}" for e in leaves), run_id=run_id)
    failed.__cause__ = group
    return failed
