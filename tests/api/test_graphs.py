"""Graph routes: the seed's create and get, list, Mermaid."""

from __future__ import annotations

import copy

from _api_support import SEED_CREATE, chain_graph, serving


async def test_create_graph_with_the_seed_body_answers_201_with_the_seed_fields(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", json=SEED_CREATE)
        assert response.status_code == 201
        body = await response.get_json()
        assert set(body) == {"graph_id", "name", "description", "created_at"}
        assert body["name"] == "code_review_workflow"
        assert body["description"] == "Analyzes Python code quality"


async def test_get_graph_returns_the_definition_by_id(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        created = await (await client.post("/api/v1/graph/create", json=SEED_CREATE)).get_json()
        response = await client.get(f"/api/v1/graph/{created['graph_id']}")
        assert response.status_code == 200
        body = await response.get_json()
        assert body["graph_id"] == created["graph_id"]
        assert [n["name"] for n in body["nodes"]] == ["extract", "analyze", "report"]
        assert body["edges"][0] == {"from": "extract", "to": "analyze"}
        assert body["entry_point"] == "extract"


async def test_duplicate_graph_name_is_409(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        assert (await client.post("/api/v1/graph/create", json=SEED_CREATE)).status_code == 201
        response = await client.post("/api/v1/graph/create", json=SEED_CREATE)
        assert response.status_code == 409
        error = (await response.get_json())["error"]
        assert error["code"] == "graph_exists"
        assert error["details"] == {"name": "code_review_workflow"}


async def test_invalid_graph_lists_every_problem_with_tool_suggestions(anyio_backend: str) -> None:
    bad = copy.deepcopy(SEED_CREATE)
    bad["nodes"][0]["tool"] = "sett"                       # unknown tool, close to "set"
    bad["edges"].append({"from": "report", "to": "nowhere"})  # unknown node
    bad["entry_point"] = "missing"                          # unknown entry point
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", json=bad)
        assert response.status_code == 400
        error = (await response.get_json())["error"]
        assert error["code"] == "invalid_graph"
        problems = "\n".join(error["details"]["problems"])
        assert len(error["details"]["problems"]) >= 3
        assert "'sett'" in problems and "'set'" in problems
        assert "nowhere" in problems
        assert "missing" in problems


async def test_graph_body_not_matching_the_schema_is_400_with_field_paths(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create",
                                     json={"name": "", "nodes": [{"tool": "set"}]})
        assert response.status_code == 400
        error = (await response.get_json())["error"]
        assert error["code"] == "validation_error"
        paths = {d["path"] for d in error["details"]}
        assert {"name", "nodes.0.name"} <= paths


async def test_python_import_paths_are_refused_by_default(anyio_backend: str) -> None:
    graph = {"name": "imports", "nodes": [{"name": "x", "fn": "os:system"}]}
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", json=graph)
        assert response.status_code == 400
        assert "importing code named in untrusted JSON is refused" in (await response.get_json())["error"]["details"]["problems"][0]


async def test_unknown_graph_is_404_in_the_error_shape(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.get("/api/v1/graph/nope")
        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "graph_not_found"


async def test_graphs_are_listed_a_page_at_a_time(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        for i in range(3):
            await client.post("/api/v1/graph/create", json=chain_graph(f"g{i}"))
        # The three example workflows are stored at start, before these three.
        first = await (await client.get("/api/v1/graphs?limit=4")).get_json()
        assert [g["name"] for g in first["items"]][3:] == ["g0"]
        assert first["next_offset"] == 4
        second = await (await client.get("/api/v1/graphs?limit=4&offset=4")).get_json()
        assert [g["name"] for g in second["items"]] == ["g1", "g2"]
        assert second["next_offset"] is None


async def test_graph_renders_as_mermaid(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        created = await (await client.post("/api/v1/graph/create", json=SEED_CREATE)).get_json()
        body = await (await client.get(f"/api/v1/graphs/{created['graph_id']}/mermaid")).get_json()
        assert body["mermaid"].startswith("flowchart TD")
        assert "n_extract --> n_analyze" in body["mermaid"]


async def test_a_graph_whose_edge_goes_to_end_as_langgraph_spells_it_runs_to_the_end(
        anyio_backend: str) -> None:
    graph = {"name": "to_end", "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {"a": 1}}},
        {"name": "b", "tool": "set", "config": {"values": {"b": 1}}}],
        "edges": [{"from": "a", "to": "END", "condition": "a == 1"}, {"from": "a", "to": "b"}]}
    async with serving(anyio_backend) as client:
        created = await client.post("/api/v1/graph/create", json=graph)
        assert created.status_code == 201, await created.get_json()
        graph_id = (await created.get_json())["graph_id"]
        run = await (await client.post("/api/v1/graph/run", json={"graph_id": graph_id})
                     ).get_json()
        state = await (await client.get(f"/api/v1/runs/{run['run_id']}/wait?timeout=10")
                       ).get_json()
    assert state["status"] == "completed" and state["current_state"] == {"a": 1}


async def test_a_misspelled_node_name_in_an_edge_is_400_with_a_did_you_mean(
        anyio_backend: str) -> None:
    graph = chain_graph("typo")
    graph["edges"].append({"from": "c", "to": "bb"})
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create", json=graph)
    assert response.status_code == 400
    problems = (await response.get_json())["error"]["details"]["problems"]
    assert any("unknown target node 'bb'; did you mean 'b'?" in p for p in problems)
