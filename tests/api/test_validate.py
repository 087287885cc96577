"""``POST /api/v1/graph/validate``: create's checks without storing, each problem placed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from _api_support import SEED_CREATE, serving

from runtime import MemoryStore
from runtime.store import GraphRecord


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


# -- a node's config against its tool's config_schema (runtime/config_check.py) ----------

def _one_node(node: dict[str, Any]) -> dict[str, Any]:
    # the checked node third, so a wrong index in its path would show
    return {"name": "configs", "nodes": [
        {"name": "first", "tool": "set", "config": {"values": {"a": 1}}},
        {"name": "second", "tool": "set", "config": {"values": {"b": 2}}},
        node,
    ], "edges": [{"from": "first", "to": "second"}, {"from": "second", "to": node["name"]}]}


#: The reviewer's cases, each with the problems validate and create give: (path, message).
CONFIG_CASES: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    # a negative wait; "sekonds" is left alone (delay's schema allows other keys)
    ({"name": "wait", "tool": "delay", "config": {"seconds": -5, "sekonds": 3}},
     [("nodes.2.config.seconds", "node 'wait': config.seconds: -5 is less than the minimum of 0")]),
    # what failed at execution before ("could not convert string to float: 'ten'")
    ({"name": "wait", "tool": "delay", "config": {"seconds": "ten"}},
     [("nodes.2.config.seconds", 'node \'wait\': config.seconds: "ten" is a string, not a number')]),
    # set's values must be an object (a set without values writes nothing: allowed)
    ({"name": "write", "tool": "set", "config": {"values": ["x"]}},
     [("nodes.2.config.values", "node 'write': config.values: [\"x\"] is an array, not an object")]),
    # every violation of a node is one problem, each at its field
    ({"name": "boom", "tool": "fail", "config": {"probability": 2, "message": 7}},
     [("nodes.2.config.message", "node 'boom': config.message: 7 is a number, not a string"),
      ("nodes.2.config.probability",
       "node 'boom': config.probability: 2 is greater than the maximum of 1")]),
    ({"name": "approve", "tool": "ask", "config": {"show": ["draft", 3]}},
     [("nodes.2.config.show.1", "node 'approve': config.show.1: 3 is a number, not a string")]),
]


@pytest.mark.parametrize(("node", "expected"), CONFIG_CASES,
                         ids=[f"{n['tool']}-{i}" for i, (n, _) in enumerate(CONFIG_CASES)])
async def test_a_config_that_breaks_its_tools_schema_is_a_problem_at_the_config_field(
        anyio_backend: str, node: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    graph = _one_node(node)
    async with serving(anyio_backend) as client:
        validated = await client.post("/api/v1/graph/validate", json=graph)
        created = await client.post("/api/v1/graph/create", json=graph)
        listed = await (await client.get("/api/v1/graphs")).get_json()
    body = await validated.get_json()
    assert validated.status_code == 200 and body["valid"] is False
    assert [(p["path"], p["message"]) for p in body["problems"]] == expected
    assert all(p["node"] == node["name"] and p["nodes"] == [node["name"]]
               and p["edge"] is None for p in body["problems"])
    assert created.status_code == 400
    error = (await created.get_json())["error"]
    assert error["code"] == "invalid_graph"
    assert error["details"]["problems"] == [message for _, message in expected]
    assert "configs" not in [g["name"] for g in listed["items"]]


async def test_config_problems_come_with_the_graphs_other_problems(anyio_backend: str) -> None:
    graph = _one_node({"name": "wait", "tool": "delay", "config": {"seconds": -1}})
    graph["nodes"][0]["tool"] = "sett"
    async with serving(anyio_backend) as client:
        body = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
    located = {(p["node"], p["path"]) for p in body["problems"]}
    assert located == {("first", "nodes.0"), ("wait", "nodes.2.config.seconds")}


async def test_configs_that_keep_to_their_schemas_still_validate(anyio_backend: str) -> None:
    graph = {"name": "good_configs", "nodes": [
        {"name": "empty", "tool": "set"},                                # values is optional
        {"name": "write", "tool": "set", "config": {"values": {"n": [1, {"x": None}]}}},
        {"name": "wait", "tool": "delay", "config": {"seconds": 0.5, "note": "kept"}},
        {"name": "whole", "tool": "delay", "config": {"seconds": 3}},
        {"name": "ask", "tool": "ask", "config": {"question": "ok?", "key": "ok",
                                                  "show": ["n"]}},
        {"name": "maybe", "tool": "fail", "config": {"probability": 0, "error": "ValueError",
                                                     "message": "never"}},
    ], "edges": [{"from": a, "to": b} for a, b in [
        ("empty", "write"), ("write", "wait"), ("wait", "whole"), ("whole", "ask"),
        ("ask", "maybe")]]}
    async with serving(anyio_backend) as client:
        body = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
        created = await client.post("/api/v1/graph/create", json=graph)
    assert body == {"valid": True, "problems": []}
    assert created.status_code == 201


async def test_an_inline_subgraphs_configs_are_checked_too(anyio_backend: str) -> None:
    child = {"name": "child", "nodes": [
        {"name": "nap", "tool": "delay", "config": {"seconds": "ten"}}]}
    graph = {"name": "parent", "nodes": [
        {"name": "first", "tool": "set"},
        {"name": "inner", "subgraph": {"graph": "child", "definition": child}}],
        "edges": [{"from": "first", "to": "inner"}]}
    async with serving(anyio_backend) as client:
        body = await (await client.post("/api/v1/graph/validate", json=graph)).get_json()
    [problem] = body["problems"]
    assert problem["message"] == ("node 'inner': subgraph 'child': node 'nap': "
                                  'config.seconds: "ten" is a string, not a number')
    # At the outer node, down to the field of the inline definition.
    assert (problem["node"], problem["path"]) == (
        "inner", "nodes.1.subgraph.definition.nodes.0.config.seconds")


async def test_a_stored_graph_whose_config_breaks_its_schema_still_loads_runs_and_resumes(
        anyio_backend: str) -> None:
    # Stored before configs were checked (written straight into the store): runs of it
    # start, wait and resume as before; only a definition a client submits is checked.
    # The tools read these configs fine: float("0"), a question that is not a string.
    definition = {"name": "stored_loose", "nodes": [
        {"name": "gate", "tool": "ask", "config": {"question": 42, "key": "ok"}},
        {"name": "nap", "tool": "delay", "config": {"seconds": "0", "sekonds": 1}},
        {"name": "done", "tool": "set", "config": {"values": {"done": True}}}],
        "edges": [{"from": "gate", "to": "nap"}, {"from": "nap", "to": "done"}],
        "entry_point": "gate"}
    store = MemoryStore()
    await store.save_graph(GraphRecord(id="g-loose", name="stored_loose",
                                       definition=definition))
    async with serving(anyio_backend, store=store) as client:
        refused = await client.post("/api/v1/graph/validate", json=definition)
        assert (await refused.get_json())["valid"] is False
        started = await client.post("/api/v1/graph/run", json={"graph_id": "g-loose"})
        assert started.status_code == 202, await started.get_json()
        run_id = (await started.get_json())["run_id"]
        waiting = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
        assert waiting["status"] == "waiting"
        asked = await (await client.get(f"/api/v1/runs/{run_id}/interrupts")).get_json()
        assert "42" in str(asked)
        resumed = await client.post(f"/api/v1/runs/{run_id}/resume", json={"answer": True})
        assert resumed.status_code < 300, await resumed.get_json()
        done = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
    assert done["status"] == "completed", done
    assert done["current_state"] == {"ok": True, "done": True}
