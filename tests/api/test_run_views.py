"""A run as the HTTP API shows it, whether this process executes it or only the store
has it: state, wait, detail (with why it failed), interrupts; and the query names."""

from __future__ import annotations

from typing import Any

from _api_support import chain_graph, serving, start_waiting_run
from quart.typing import TestClientProtocol as Client


async def _create(client: Client, graph: dict[str, Any]) -> str:
    response = await client.post("/api/v1/graph/create", json=graph)
    assert response.status_code == 201, await response.get_data()
    return str((await response.get_json())["graph_id"])


async def _run(client: Client, graph: dict[str, Any], **body: Any) -> str:
    graph_id = await _create(client, graph)
    response = await client.post("/api/v1/graph/run", json={"graph_id": graph_id, **body})
    assert response.status_code == 202, await response.get_data()
    return str((await response.get_json())["run_id"])


WARNS: dict[str, Any] = {
    "name": "warns",
    "nodes": [{"name": "check", "tool": "test_warn", "config": {"message": "input looks odd"}},
              {"name": "hold", "tool": "delay", "config": {"seconds": 0}}],
    "edges": [{"from": "check", "to": "hold"}],
}


async def test_the_wait_response_and_the_state_carry_the_warnings(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, WARNS)
        waited = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
        state = await (await client.get(f"/api/v1/graph/state/{run_id}")).get_json()
    assert waited["status"] == "completed"
    assert waited["warnings"] == state["warnings"] == ["input looks odd"]
    assert waited["errors"] == state["errors"] == []


async def test_a_run_only_in_the_store_is_waited_for_and_shown_from_it(anyio_backend: str) -> None:
    # keep_finished_runs=0: a finished run leaves memory as soon as another starts.
    async with serving(anyio_backend, keep_finished_runs=0) as client:
        run_id = await _run(client, WARNS)
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        await _run(client, chain_graph("evicts"))
        waited = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
        detail = await (await client.get(f"/api/v1/runs/{run_id}")).get_json()
    assert waited["status"] == detail["status"] == "completed"
    assert waited["warnings"] == detail["warnings"] == ["input looks odd"]


async def test_the_detail_of_a_failed_run_says_what_was_raised_where_with_its_traceback(
        anyio_backend: str) -> None:
    graph = {"name": "fails", "nodes": [
        {"name": "parse", "tool": "fail", "config": {"error": "ValueError",
                                                     "message": "bad amount"},
         "retry": {"max_attempts": 2, "initial_delay": 0, "jitter": False}}]}
    async with serving(anyio_backend) as client:
        run_id = await _run(client, graph)
        waited = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
        detail = await (await client.get(f"/api/v1/runs/{run_id}")).get_json()
    assert waited["status"] == "failed" and waited["error_type"] == "RunFailed"
    failure = detail["failure"]
    assert (failure["type"], failure["message"]) == ("ValueError", "bad amount")
    assert (failure["node"], failure["attempt"]) == ("parse", 2)
    assert "Traceback (most recent call last)" in failure["traceback"]
    assert "ValueError: bad amount" in failure["traceback"]


async def test_the_detail_of_a_completed_run_has_no_failure(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, chain_graph("fine"))
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        detail = await (await client.get(f"/api/v1/runs/{run_id}")).get_json()
    assert detail["status"] == "completed" and detail["failure"] is None


async def test_run_detail_accepts_limit_and_offset_for_its_logs(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, chain_graph("paged"))
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        first = await client.get(f"/api/v1/runs/{run_id}?limit=2")
        rest = await (await client.get(f"/api/v1/runs/{run_id}?limit=2&offset=2")).get_json()
        assert first.status_code == 200
        body = await first.get_json()
    assert body["logs_limit"] == 2 and len(body["logs"]) == 2 and body["logs_next_offset"] == 2
    assert rest["logs_offset"] == 2
    assert [r["node_name"] for r in body["logs"] + rest["logs"]] == ["a", "a", "b", "b"]


async def test_an_unknown_query_parameter_of_the_run_detail_is_a_400_naming_it(
        anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, chain_graph("asked"))
        response = await client.get(f"/api/v1/runs/{run_id}?page=2")
    assert response.status_code == 400
    assert (await response.get_json())["error"]["details"][0]["path"] == "page"


async def test_an_initial_state_that_breaks_the_schema_is_a_400_naming_each_field(
        anyio_backend: str) -> None:
    graph = {"name": "orders", "state_schema": "_api_support:Order",
             "nodes": [{"name": "take", "tool": "set", "config": {"values": {}}}]}
    async with serving(anyio_backend, allow_imports=True) as client:
        graph_id = await _create(client, graph)
        response = await client.post("/api/v1/graph/run", json={
            "graph_id": graph_id, "initial_state": {"amount": "ten"}})
        runs = await (await client.get("/api/v1/runs")).get_json()
    assert response.status_code == 400
    error = (await response.get_json())["error"]
    assert error["code"] == "invalid_initial_state"
    assert [d["path"] for d in error["details"]] == ["initial_state.amount",
                                                     "initial_state.customer"]
    assert runs["items"] == []  # refused before anything was stored or ran


async def test_interrupts_of_a_waiting_run_and_of_an_unknown_one(anyio_backend: str) -> None:
    approval = {"name": "approval_view", "nodes": [
        {"name": "approve", "tool": "ask", "config": {"question": "ok?"}}]}
    async with serving(anyio_backend) as client:
        run_id = await start_waiting_run(client, approval)
        body = await (await client.get(f"/api/v1/runs/{run_id}/interrupts")).get_json()
        unknown = await client.get("/api/v1/runs/nope/interrupts")
    assert body["status"] == "waiting"
    assert [i["node"] for i in body["interrupts"]] == ["approve"]
    assert unknown.status_code == 404
    assert (await unknown.get_json())["error"]["code"] == "run_not_found"
