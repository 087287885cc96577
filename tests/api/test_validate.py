"""``POST /api/v1/graph/validate``: create's checks without storing, each problem placed."""

from __future__ import annotations

import copy

from _api_support import SEED_CREATE, serving


async def test_a_valid_graph_answers_valid_with_no_problems_and_stores_nothing(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/validate", json=SEED_CREATE)
        assert response.status_code == 200
        assert await response.get_json() == {"valid": True, "problems": []}
        listed = await (await client.get("/api/v1/graphs")).get_json()
        assert SEED_CREATE["name"] not in [g["name"] for g in listed["items"]]


async def test_every_problem_create_refuses_is_reported_at_its_node_or_edge(anyio_backend: str) -> None:
    bad = copy.deepcopy(SEED_CREATE)
    bad["nodes"][1]["tool"] = "sett"
    bad["edges"].append({"from": "report", "to": "nowhere"})
    async with serving(anyio_backend) as client:
        created = await client.post("/api/v1/graph/create", json=bad)
        refused = (await created.get_json())["error"]["details"]["problems"]
        body = await (await client.post("/api/v1/graph/validate", json=bad)).get_json()
    assert body["valid"] is False
    assert [p["message"] for p in body["problems"]] == refused
    by_message = {p["message"]: p for p in body["problems"]}
    tool = next(p for m, p in by_message.items() if "'sett'" in m)
    assert (tool["node"], tool["path"]) == ("analyze", "nodes.1")
    edge = next(p for m, p in by_message.items() if "nowhere" in m)
    assert (edge["edge"], edge["path"], edge["node"]) == (2, "edges.2", None)


async def test_a_bad_condition_is_placed_at_its_edge_and_column(anyio_backend: str) -> None:
    graph = copy.deepcopy(SEED_CREATE)
    graph["edges"][1]["condition"] = "quality_score >= 70 and __import__('os')"
    async with serving(anyio_backend) as client:
        body = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
    [problem] = body["problems"]
    assert problem["edge"] == 1 and problem["path"] == "edges.1"
    assert problem["column"] == graph["edges"][1]["condition"].index("__import__") + 1


async def test_parallel_writes_name_both_branches_as_nodes(anyio_backend: str) -> None:
    graph = {"name": "clash", "nodes": [
        {"name": "start", "tool": "set", "config": {"values": {"k": 0}}},
        {"name": "left", "tool": "set", "config": {"values": {"k": 1}}},
        {"name": "right", "tool": "set", "config": {"values": {"k": 2}}},
    ], "edges": [{"from": "start", "to": ["left", "right"]}]}
    async with serving(anyio_backend) as client:
        body = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
    [problem] = body["problems"]
    assert problem["nodes"] == ["left", "right"]


async def test_a_definition_of_the_wrong_shape_is_problems_with_field_paths_not_a_400(anyio_backend: str) -> None:
    graph = copy.deepcopy(SEED_CREATE)
    graph["nodes"][2]["timeout"] = -1
    del graph["edges"][0]["to"]
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/validate", json=graph)
        assert response.status_code == 200
        body = await response.get_json()
    by_path = {p["path"]: p for p in body["problems"]}
    assert by_path["nodes.2.timeout"]["node"] == "report"
    assert by_path["edges.0.to"]["edge"] == 0
    assert body["valid"] is False


async def test_a_body_that_is_not_json_is_still_400_malformed_json(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/validate", data=b"{nope",
                                     headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert (await response.get_json())["error"]["code"] == "malformed_json"


async def test_validate_is_in_the_openapi_document_with_the_graph_body(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        spec = await (await client.get("/openapi.json")).get_json()
    op = spec["paths"]["/api/v1/graph/validate"]["post"]
    assert "requestBody" in op and "200" in op["responses"]


async def test_edges_spelled_start_and_end_are_located_as_the_runtime_names_them(anyio_backend: str) -> None:
    # README allows "START" / "END" for the graph's ends; the runtime's sentences say
    # __start__ / __end__. Each problem is still placed at the edge the client wrote.
    graph = {"name": "ends", "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {}}},
        {"name": "b", "tool": "set", "config": {"values": {}}},
    ], "edges": [
        {"from": "START", "to": "a"},
        {"from": "a", "to": "b"},
        {"from": "b", "to": "END", "condition": "y +"},
    ]}
    mistyped = copy.deepcopy(graph)
    mistyped["edges"][0]["to"] = "aa"
    del mistyped["edges"][2]["condition"]
    async with serving(anyio_backend) as client:
        condition = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
        entry = await (await client.post("/api/v1/graph/validate", json=mistyped)).get_json()
    [problem] = condition["problems"]
    assert "__end__" in problem["message"]
    assert (problem["edge"], problem["path"], problem["column"]) == (2, "edges.2", 4)
    [problem] = [p for p in entry["problems"] if p["message"].startswith("entry point")]
    assert problem["message"].startswith("entry point 'aa' is not a node")
    assert (problem["edge"], problem["path"]) == (0, "edges.0")


async def test_an_entry_point_field_that_names_no_node_is_placed_at_that_field(anyio_backend: str) -> None:
    graph = {"name": "entry", "entry_point": "aa", "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {}}}], "edges": []}
    async with serving(anyio_backend) as client:
        body = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
    [problem] = [p for p in body["problems"] if p["message"].startswith("entry point")]
    assert (problem["edge"], problem["path"]) == (None, "entry_point")
