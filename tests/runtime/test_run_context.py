"""What a run's own task carries from its start (Run.execute sets its execution, one
context variable per run): log records emitted there name the run, its store calls hold
through an outage, and neither leaks to the code that started the run or to another run."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from runtime import END, Graph, Runtime, RunFailed, WorkflowState, ask
from runtime.logcontext import log_fields
from runtime.store.availability import holding


class _Fields(logging.Handler):
    """Records the log fields current where each record is emitted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, dict[str, str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), log_fields()))


@pytest.fixture
def fields() -> Any:
    handler = _Fields()
    logger = logging.getLogger("actorflow.runs")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _failing(name: str) -> Any:
    async def fine(state: WorkflowState) -> None:
        return None

    async def boom(state: WorkflowState) -> None:
        raise ValueError("boom")

    g = Graph(name)
    g.add_node("fine", fine)
    g.add_node("boom", boom)
    g.add_edge("fine", "boom")
    g.add_edge("boom", END)
    return g.compile()


async def test_the_run_s_own_failure_record_names_the_run(fields: _Fields) -> None:
    async with Runtime() as rt:
        runs = [await rt.start(_failing("ctx-fail"), {}) for _ in range(3)]
        for run in runs:
            with pytest.raises(RunFailed):
                await run.result()
        outside = log_fields()
    failures = [f for message, f in fields.seen if "failed at node" in message]
    assert sorted(f["run_id"] for f in failures) == sorted(r.id for r in runs)
    assert all(f.get("node") in (None, "boom") for f in failures)
    assert outside == {}   # the caller's task never carried a run


async def test_a_run_s_tasks_hold_through_outages_and_its_caller_does_not() -> None:
    seen: dict[str, Any] = {}

    async def node(state: WorkflowState) -> dict[str, Any]:
        seen["node"] = holding()
        seen["fields"] = log_fields()

        async def child() -> None:
            seen["child"] = holding()

        async with anyio.create_task_group() as tg:   # a task the node starts
            tg.start_soon(child)
        return {"ok": True}

    g = Graph("ctx-hold")
    g.add_node("n", node)
    g.add_edge("n", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        await run.result()
        assert not holding()
    assert seen == {"node": True, "child": True,
                    "fields": {"run_id": run.id, "node": "n"}}


async def test_ask_outside_a_node_is_refused_even_in_a_run_s_task() -> None:
    # The run's task holds an execution before any node starts; ask() there (as a
    # subscriber callback or a store hook could) must still say it needs a node.
    from runtime.actor import Execution

    with pytest.raises(RuntimeError, match="inside a running node"):
        Execution("some-run").context()
    with pytest.raises(RuntimeError, match="inside a running node"):
        await ask("outside any run")
