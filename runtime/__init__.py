"""actorflow's runtime: an actor-based workflow-graph engine on anyio.

Embed it in any anyio application, on asyncio or trio::

    from runtime import Graph, Runtime, END

    g = Graph("hello")
    g.add_node("greet", greet)
    g.add_edge("greet", END)

    async with Runtime() as rt:
        run = await rt.start(g.compile(), {"name": "world"})
        print((await run.result()).data)
"""

from . import builtin_tools as _builtin_tools  # noqa: F401  (registers delay/set/fail)
from .compiled import CompiledGraph
from .context import NodeContext
from .errors import (
    ActorflowError,
    CheckpointNotFoundError,
    ExpressionError,
    GraphError,
    GraphNotFoundError,
    GraphSerializationError,
    GraphValidationError,
    InputValidationError,
    InvalidTransition,
    MaxStepsExceeded,
    NodeTimeoutError,
    ParallelWriteConflict,
    SizeLimitExceeded,
    StateTooLargeError,
    EventTooLargeError,
    RunCancelled,
    RunError,
    RunFailed,
    RunFinishedError,
    RunInterrupted,
    RunNotFoundError,
    RuntimeClosedError,
    RunTimeoutError,
    RunWaiting,
    StateError,
    StateValidationError,
    StoreError,
    StoreUnavailableError,
    SubscriberLagged,
    ThreadBusyError,
    ThreadError,
    ThreadNotFoundError,
    ToolNotFoundError,
)
from .events import Event, EventType
from .expressions import Expression, compile_expression
from .failure import RunFailure
from .graph import END, Graph
from .interrupts import InvalidResume, ask
from .registry import ToolInfo, ToolRegistry, registry
from .node_cache import CachePolicy
from .retry import RetryPolicy
from .routing import START, Command, Send
from .payload_bounds import RunBounds
from .run import Run
from .runtime import Runtime
from .state import REDUCERS, WorkflowState
from .status import RunStatus
from .store import (
    Checkpoint,
    GraphExistsError,
    GraphRecord,
    MemoryStore,
    RunRecord,
    Store,
    ThreadExistsError,
    ThreadRecord,
    open_store,
)
from .threads import Multitask
from .view import RunView

__all__ = [
    "END",
    "START",
    "REDUCERS",
    "ActorflowError",
    "Checkpoint",
    "CachePolicy",
    "CheckpointNotFoundError",
    "Command",
    "CompiledGraph",
    "Event",
    "EventType",
    "Expression",
    "ExpressionError",
    "Graph",
    "GraphError",
    "GraphExistsError",
    "GraphNotFoundError",
    "GraphRecord",
    "GraphSerializationError",
    "GraphValidationError",
    "InputValidationError",
    "InvalidResume",
    "InvalidTransition",
    "MaxStepsExceeded",
    "MemoryStore",
    "Multitask",
    "NodeContext",
    "NodeTimeoutError",
    "ParallelWriteConflict",
    "SizeLimitExceeded",
    "RunBounds",
    "StateTooLargeError",
    "EventTooLargeError",
    "RetryPolicy",
    "Run",
    "RunCancelled",
    "RunError",
    "RunFailed",
    "RunFailure",
    "RunFinishedError",
    "RunInterrupted",
    "RunNotFoundError",
    "RunRecord",
    "RunStatus",
    "RunTimeoutError",
    "RunView",
    "RunWaiting",
    "Send",
    "Runtime",
    "RuntimeClosedError",
    "StateError",
    "StateValidationError",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "SubscriberLagged",
    "ThreadBusyError",
    "ThreadError",
    "ThreadExistsError",
    "ThreadNotFoundError",
    "ThreadRecord",
    "ToolInfo",
    "ToolNotFoundError",
    "ToolRegistry",
    "WorkflowState",
    "ask",
    "compile_expression",
    "open_store",
    "registry",
]
