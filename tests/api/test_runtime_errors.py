"""Runtime errors become HTTP errors by one table (api/runtime_errors.py)."""

from __future__ import annotations

from typing import Any

import pytest
from _api_support import chain_graph, serving

from api.runtime_errors import api_error
from runtime import (
    ActorflowError,
    CheckpointNotFoundError,
    GraphError,
    GraphExistsError,
    GraphNotFoundError,
    GraphValidationError,
    InputValidationError,
    InvalidResume,
    RunError,
    RunFinishedError,
    RunNotFoundError,
    RuntimeClosedError,
    StateValidationError,
    StoreError,
    StoreUnavailableError,
    ToolNotFoundError,
)

CASES: list[tuple[ActorflowError, int, str]] = [
    (RunNotFoundError("x", run_id="r"), 404, "run_not_found"),
    (CheckpointNotFoundError("x", run_id="r", step=9), 404, "checkpoint_not_found"),
    (GraphNotFoundError("x", key="g"), 404, "graph_not_found"),
    (GraphValidationError("g", ["p"]), 400, "invalid_graph"),
    (InputValidationError("x", errors=[{"path": "a", "message": "m", "type": "t"}]), 400,
     "invalid_initial_state"),
    (InvalidResume("x", details=[{"path": "a", "message": "m"}]), 400, "invalid_answer"),
    (InvalidResume("x"), 409, "not_resumable"),
    (StateValidationError("x", node="n", path="a"), 400, "invalid_request"),
    (ToolNotFoundError("sett", ["set"]), 400, "invalid_request"),
    (GraphExistsError("g"), 409, "graph_exists"),
    (RunFinishedError("x", run_id="r", status="completed"), 409, "run_finished"),
    (GraphError("x"), 409, "graph_unloadable"),
    (RuntimeClosedError("x"), 503, "shutting_down"),
    (StoreUnavailableError("x"), 503, "store_unavailable"),
    (RunError("x"), 409, "conflict"),
    (ActorflowError("x"), 409, "conflict"),
]


@pytest.mark.parametrize(("error", "status", "code"), CASES,
                         ids=[type(c[0]).__name__ + str(c[1]) for c in CASES])
def test_each_runtime_error_has_one_http_answer(error: ActorflowError, status: int,
                                                code: str) -> None:
    mapped = api_error(error)
    assert mapped is not None and (mapped.status, mapped.code) == (status, code)


def test_a_store_failure_is_no_clients_doing_and_stays_a_500() -> None:
    assert api_error(StoreError("disk full")) is None


def test_the_details_name_what_the_error_is_about() -> None:
    bad_input = api_error(InputValidationError("x", errors=[
        {"path": "a.b", "message": "m", "type": "t"}]))
    assert bad_input is not None
    assert bad_input.details == [{"path": "initial_state.a.b", "message": "m", "type": "t"}]
    finished = api_error(RunFinishedError("x", run_id="r", status="failed"))
    assert finished is not None and finished.details == {"run_id": "r", "status": "failed"}


async def _finished_run(client: Any) -> str:
    created = await client.post("/api/v1/graph/create", json=chain_graph("mapped"))
    graph_id = (await created.get_json())["graph_id"]
    started = await client.post("/api/v1/graph/run", json={"graph_id": graph_id})
    run_id = str((await started.get_json())["run_id"])
    await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
    return run_id


async def test_a_missing_checkpoint_is_404_and_an_unknown_run_too(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _finished_run(client)
        missing = await client.get(f"/api/v1/runs/{run_id}/history/99")
        unknown = await client.get("/api/v1/runs/nope/history/1")
        fork = await client.post("/api/v1/runs/nope/fork", json={})
    assert missing.status_code == 404
    body = (await missing.get_json())["error"]
    assert body["code"] == "checkpoint_not_found" and body["details"]["step"] == 99
    assert unknown.status_code == fork.status_code == 404
    assert (await unknown.get_json())["error"]["code"] == "run_not_found"
    assert (await fork.get_json())["error"]["code"] == "run_not_found"


async def test_cancelling_a_finished_run_is_409_with_its_status(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _finished_run(client)
        response = await client.post(f"/api/v1/runs/{run_id}/cancel")
    assert response.status_code == 409
    error = (await response.get_json())["error"]
    assert error["code"] == "run_finished"
    assert error["details"] == {"run_id": run_id, "status": "completed"}
