"""The public surface of ``runtime`` (after anyio's tests/test_all_attributes.py).

Adding or removing a public name must be a deliberate change to EXPECTED below.
"""

from __future__ import annotations

import pytest

import runtime

EXPECTED = {
    # building and running
    "END", "Graph", "CompiledGraph", "Runtime", "Run", "RunStatus", "RetryPolicy",
    # a run as it is now (live or stored), and why a failed run failed
    "RunView", "RunFailure",
    # state and nodes
    "WorkflowState", "REDUCERS", "NodeContext",
    # human in the loop
    "ask",
    # threads (conversations over many runs)
    "Multitask", "ThreadRecord", "ThreadError", "ThreadNotFoundError", "ThreadBusyError",
    "ThreadExistsError",
    # routing from code (LangGraph's START, Send, Command)
    "START", "Send", "Command",
    # node caching
    "CachePolicy",
    # events
    "Event", "EventType",
    # conditions
    "Expression", "compile_expression",
    # tools
    "ToolInfo", "ToolRegistry", "registry",
    # stores
    "Store", "MemoryStore", "open_store", "Checkpoint", "GraphRecord", "RunRecord",
    # errors
    "ActorflowError", "GraphError", "GraphValidationError", "ExpressionError",
    "GraphSerializationError", "ToolNotFoundError", "StateError", "StateValidationError",
    "ParallelWriteConflict", "RunError", "RunNotFoundError", "InvalidTransition", "RunFailed",
    "NodeTimeoutError", "RunTimeoutError", "MaxStepsExceeded", "RunInterrupted",
    "RunCancelled", "RunWaiting", "InvalidResume", "SubscriberLagged", "RuntimeClosedError", "StoreError",
    "StoreUnavailableError", "GraphExistsError", "GraphNotFoundError",
    "InputValidationError", "CheckpointNotFoundError", "RunFinishedError",
    "SizeLimitExceeded", "StateTooLargeError", "EventTooLargeError", "RunBounds",
}


@pytest.mark.parametrize("name", sorted(runtime.__all__))
def test_every_name_in_all_exists(name: str) -> None:
    assert getattr(runtime, name, None) is not None, f"runtime.__all__ lists missing {name!r}"


def test_all_lists_each_name_once() -> None:
    assert len(runtime.__all__) == len(set(runtime.__all__))


def test_public_surface_is_exactly_the_expected_names() -> None:
    names = set(runtime.__all__)
    assert names - EXPECTED == set(), "new public names: add them to EXPECTED deliberately"
    assert EXPECTED - names == set(), "public names removed: remove them from EXPECTED too"


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from runtime import *", namespace)  # noqa: S102 - the point of the test
    namespace.pop("__builtins__")
    assert set(namespace) == set(runtime.__all__)


def test_every_public_error_derives_from_actorflow_error() -> None:
    errors = [getattr(runtime, n) for n in runtime.__all__
              if isinstance(getattr(runtime, n), type)
              and issubclass(getattr(runtime, n), BaseException)]
    assert errors
    assert all(issubclass(e, runtime.ActorflowError) for e in errors)
