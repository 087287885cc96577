"""Failed runs are debuggable: what was raised, where, and its traceback, kept with the
run (in memory and in every store) and logged once; a bad input is refused at start."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

from runtime import (
    END,
    Graph,
    InputValidationError,
    RetryPolicy,
    RunFailed,
    RunStatus,
    Runtime,
    StateValidationError,
    WorkflowState,
    ask,
)

NO_WAIT = {"initial_delay": 0.0, "jitter": False}


async def parse_amount(state: WorkflowState) -> dict[str, Any]:
    raise ValueError(f"bad amount {state.data.get('amount')!r}")


def failing_graph() -> Graph:
    g = Graph("failing")
    g.add_node("parse", parse_amount, retry=RetryPolicy(max_attempts=2, **NO_WAIT))
    g.add_edge("parse", END)
    return g


async def test_a_failed_run_keeps_the_exception_node_attempt_and_traceback(store_url: str) -> None:
    async with Runtime(store_url, keep_finished=0) as rt:
        run = await rt.start(failing_graph(), {"amount": "x"})
        with pytest.raises(RunFailed):
            await run.result()
        failure = run.failure
        await rt.start(Graph("other").add_node("n", lambda s: None), {})  # evicts `run`
        stored = await rt.view(run.id)
    assert failure is not None
    assert (failure.type, failure.message) == ("ValueError", "bad amount 'x'")
    assert (failure.node, failure.attempt) == ("parse", 2)
    assert "in parse_amount" in failure.traceback
    assert "ValueError: bad amount 'x'" in failure.traceback
    assert not stored.live and stored.status is RunStatus.FAILED
    assert stored.failure == failure


async def test_a_failed_run_is_logged_with_node_attempt_and_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="actorflow.runs"):
        async with Runtime() as rt:
            run = await rt.start(failing_graph(), {"amount": "x"})
            await run.wait()
    [record] = [r for r in caplog.records if r.name == "actorflow.runs"]
    text = caplog.text
    assert record.levelno == logging.ERROR
    assert run.id in record.getMessage() and "node 'parse' (attempt 2)" in record.getMessage()
    assert "in parse_amount" in text and "ValueError: bad amount 'x'" in text


async def test_a_run_timeout_is_logged_without_a_node_or_attempt_it_does_not_have(
        caplog: pytest.LogCaptureFixture) -> None:
    async def slow(state: WorkflowState) -> None:
        await anyio.sleep(10)

    with caplog.at_level(logging.ERROR, logger="actorflow.runs"):
        async with Runtime() as rt:
            run = await rt.start(Graph("slow").add_node("slow", slow), {}, timeout=0.05)
            await run.wait()
    [record] = [r for r in caplog.records if r.name == "actorflow.runs"]
    message = record.getMessage()
    assert f"run {run.id} of graph 'slow' failed: " in message
    assert "None" not in message


def returns_a_number(state: WorkflowState) -> int:
    return 5


async def test_a_node_that_returns_what_no_state_takes_is_told_to_fix_it_not_retry_it() -> None:
    g = Graph("returns_a_number")
    g.add_node("n", returns_a_number)
    g.add_edge("n", END)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {})
        with pytest.raises(RunFailed) as failed:
            await run.result()
    message = str(failed.value)
    assert "node 'n' returned int; return a dict of data keys to update" in message
    assert message.endswith("Fix what the node returns")
    assert "retry" not in message


async def test_a_completed_run_has_no_failure_and_logs_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="actorflow.runs"):
        async with Runtime() as rt:
            run = await rt.start(Graph("fine").add_node("n", lambda s: {"ok": 1}), {})
            await run.result()
            view = await rt.view(run.id)
    assert run.failure is None and view.failure is None
    assert [r for r in caplog.records if r.name == "actorflow.runs"] == []


class Order(BaseModel):
    amount: int
    customer: str


async def test_an_input_that_breaks_the_schema_is_refused_at_start_naming_each_field() -> None:
    calls: list[str] = []

    def record(state: WorkflowState) -> None:
        calls.append("ran")

    g = Graph("orders", state_schema=Order).add_node("record", record)
    async with Runtime() as rt:
        with pytest.raises(InputValidationError) as info:
            await rt.start(g, {"amount": "ten"})
        stored = await rt.store.list_runs()
    err = info.value
    assert isinstance(err, StateValidationError) and err.node is None
    assert [e["path"] for e in err.errors] == ["amount", "customer"]
    assert err.path == "amount"
    assert "data.amount" in str(err) and "data.customer" in str(err)
    assert calls == [] and stored == []  # nothing ran, nothing was stored


async def test_an_input_that_fits_the_schema_starts_the_run() -> None:
    g = Graph("orders_ok", state_schema=Order).add_node("record", lambda s: {"amount": 11})
    async with Runtime() as rt:
        run = await rt.start(g, {"amount": 10, "customer": "ada"})
        final = await run.result()
    assert final.data == {"amount": 11, "customer": "ada"}


class _Verdict(BaseModel):
    ok: bool


async def forgets_await(state: WorkflowState) -> dict[str, Any]:
    return {"answer": ask({"q": "?"})}   # the mistake: no await


async def writes_a_model(state: WorkflowState) -> dict[str, Any]:
    return {"verdict": _Verdict(ok=True)}


@pytest.mark.parametrize(("node", "hint"), [
    (forgets_await, "it is a coroutine: did the node forget `await`"),
    (writes_a_model, "it is a _Verdict model"),
])
async def test_a_value_no_store_can_write_says_what_the_usual_mistake_is(
        tmp_path: Any, node: Any, hint: str) -> None:
    g = Graph("unstorable")
    g.add_node("n", node)
    g.add_edge("n", END)
    async with Runtime(f"sqlite:///{tmp_path / 'u.db'}") as rt:
        run = await rt.start(g.compile(), {})
        with pytest.raises(RunFailed) as failed:
            await run.result()
    assert "cannot be stored as JSON" in str(failed.value) and hint in str(failed.value)
