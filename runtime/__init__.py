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
    ActorflowError, ExpressionError, GraphError, GraphSerializationError, GraphValidationError,
    InvalidTransition, MaxStepsExceeded, NodeTimeoutError, ParallelWriteConflict, RunCancelled,
    RunError, RunFailed, RunInterrupted, RunNotFoundError, RuntimeClosedError, RunTimeoutError,
    RunWaiting,
    StateError, StateValidationError, StoreError, StoreUnavailableError, SubscriberLagged,
    ToolNotFoundError,
)
from .events import Event, EventType
from .expressions import Expression, compile_expression
from .graph import END, Graph
from .interrupts import InvalidResume, ask
from .registry import ToolInfo, ToolRegistry, registry
from .retry import RetryPolicy
from .run import Run
from .runtime import Runtime
from .state import REDUCERS, WorkflowState
from .status import RunStatus
from .store import Checkpoint, GraphExistsError, GraphRecord, MemoryStore, RunRecord, Store, open_store

__all__ = [
    "END", "Graph", "CompiledGraph", "Runtime", "Run", "RunStatus", "RetryPolicy",
    "WorkflowState", "REDUCERS", "NodeContext", "Event", "EventType",
    "Expression", "compile_expression", "ToolInfo", "ToolRegistry", "registry",
    "Store", "MemoryStore", "open_store", "Checkpoint", "GraphRecord", "RunRecord",
    "ActorflowError", "GraphError", "GraphValidationError", "ExpressionError",
    "GraphSerializationError", "ToolNotFoundError", "StateError", "StateValidationError",
    "ParallelWriteConflict", "RunError", "RunNotFoundError", "InvalidTransition", "RunFailed",
    "NodeTimeoutError", "RunTimeoutError", "MaxStepsExceeded", "RunInterrupted",
    "RunCancelled", "RunWaiting", "InvalidResume", "ask", "SubscriberLagged", "RuntimeClosedError", "StoreError",
    "StoreUnavailableError", "GraphExistsError",
]
