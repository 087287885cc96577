"""The example workflows are served: stored at start, listed, runnable by name, and the
seed's code-review request bodies work unchanged."""

from __future__ import annotations

from _api_support import serving

from nodes.workflows import SEED_GRAPH


async def test_both_example_workflows_are_listed_at_start(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graphs = await (await client.get("/api/v1/graphs")).get_json()
        tools = await (await client.get("/api/v1/tools")).get_json()
    names = {g["name"] for g in graphs["items"]}
    assert {"code_review", "summarization"} <= names
    tool_names = {t["name"] for t in tools["tools"]} if isinstance(tools, dict) else {
        t["name"] for t in tools}
    assert {"extract_functions", "calculate_complexity", "generate_report", "split_text",
            "summarize_chunk", "approve_revision"} <= tool_names


async def test_the_seeds_code_review_request_bodies_work_unchanged(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        created = await client.post("/api/v1/graph/create", json=SEED_GRAPH)
        assert created.status_code == 201
        graph_id = (await created.get_json())["graph_id"]
        started = await client.post("/api/v1/graph/run", json={
            "graph_id": graph_id,
            "initial_state": {"code": "def hello():\n    pass", "use_llm": False},
            "timeout": 300,
        })
        assert started.status_code == 202
        run_id = (await started.get_json())["run_id"]
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=30")
        state = await (await client.get(f"/api/v1/graph/state/{run_id}")).get_json()
    assert state["status"] == "completed"
    data = state["current_state"]
    assert 0 <= data["quality_score"] < 100
    assert any("Add docstring" in s for s in data["suggestions"])


async def test_the_stored_code_review_example_runs_by_name(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        started = await client.post("/api/v1/graph/run", json={
            "graph_id": "code_review", "initial_state": {"code": "def hello():\n    pass"}})
        assert started.status_code == 202
        run_id = (await started.get_json())["run_id"]
        state = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=30")).get_json()
    assert state["status"] == "completed"
    assert state["current_state"]["report"]["status"] == "ok"
