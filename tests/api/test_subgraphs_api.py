"""Subgraphs in JSON over HTTP: a stored graph used by name (and version) as a node."""

from __future__ import annotations

from typing import Any

from _api_support import chain_graph, serving


def _parent(version: str | None = None, **extra: Any) -> dict[str, Any]:
    sub: dict[str, Any] = {"graph": "inner_chain", "inputs": ["a"],
                           "outputs": {"done": "inner_done"}, **extra}
    if version is not None:
        sub["version"] = version
    return {"name": "outer_chain",
            "nodes": [{"name": "first", "tool": "set", "config": {"values": {"a": 7}}},
                      {"name": "inner", "subgraph": sub}],
            "edges": [{"from": "first", "to": "inner"}, {"from": "inner", "to": "END"}]}


async def test_a_stored_graph_named_as_a_subgraph_runs_inside_its_parent(
        anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        made = await client.post("/api/v1/graph/create", json=chain_graph("inner_chain"))
        assert made.status_code == 201
        made = await client.post("/api/v1/graph/create", json=_parent())
        assert made.status_code == 201, await made.get_json()
        graph_id = (await made.get_json())["graph_id"]
        started = await client.post("/api/v1/graph/run",
                                    json={"graph_id": graph_id, "initial_state": {}})
        run_id = (await started.get_json())["run_id"]
        waited = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
        assert waited["status"] == "completed", waited
        state = await (await client.get(f"/api/v1/graph/state/{run_id}")).get_json()
        assert state["current_state"]["inner_done"] is True
        stored = await (await client.get(f"/api/v1/graph/{graph_id}")).get_json()
        chart = await (await client.get(f"/api/v1/graphs/{graph_id}/mermaid")).get_json()
    # The stored form carries the subgraph's definition; the chart draws it nested.
    inner = [n for n in stored["nodes"] if n["name"] == "inner"][0]
    assert [n["name"] for n in inner["subgraph"]["definition"]["nodes"]] == ["a", "b", "c"]
    assert "subgraph n_inner" in chart["mermaid"]


async def test_an_unknown_subgraph_name_or_a_wrong_version_is_400_naming_it(
        anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        missing = await client.post("/api/v1/graph/create", json=_parent())
        assert missing.status_code == 400
        assert "'inner_chain'" in str(await missing.get_json())
        await client.post("/api/v1/graph/create", json=chain_graph("inner_chain"))
        wrong = await client.post("/api/v1/graph/create", json=_parent("sha256:00"))
        assert wrong.status_code == 400
        assert "not the sha256:00 asked for" in str(await wrong.get_json())


async def test_import_paths_inside_an_inline_subgraph_are_refused_too(anyio_backend: str) -> None:
    inline = {"name": "sneaky", "nodes": [{"name": "x", "fn": "os:system"}]}
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/create",
                                     json=_parent(definition=inline))
        assert response.status_code == 400
        assert "untrusted JSON is refused" in str(await response.get_json())


async def test_a_run_s_subgraph_steps_are_listed_with_their_path(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        await client.post("/api/v1/graph/create", json=chain_graph("inner_chain"))
        made = await client.post("/api/v1/graph/create", json=_parent())
        graph_id = (await made.get_json())["graph_id"]
        started = await client.post("/api/v1/graph/run",
                                    json={"graph_id": graph_id, "initial_state": {}})
        run_id = (await started.get_json())["run_id"]
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        body = await (await client.get(f"/api/v1/runs/{run_id}/subgraphs")).get_json()
        missing = await client.get("/api/v1/runs/nope/subgraphs")
    [sub] = body["subgraphs"]
    assert sub["id"] == f"{run_id}/inner:1" and sub["path"] == "inner"
    assert [c["nodes"] for c in sub["checkpoints"]] == [["a"], ["b"], ["c"]]
    assert missing.status_code == 404


async def test_subgraph_steps_come_a_bounded_page_at_a_time(anyio_backend: str) -> None:
    two = _parent()
    two["nodes"].append({"name": "again", "subgraph": _parent()["nodes"][1]["subgraph"]})
    two["edges"] = [{"from": "first", "to": "inner"}, {"from": "inner", "to": "again"},
                    {"from": "again", "to": "END"}]
    async with serving(anyio_backend) as client:
        await client.post("/api/v1/graph/create", json=chain_graph("inner_chain"))
        made = await client.post("/api/v1/graph/create", json=two)
        graph_id = (await made.get_json())["graph_id"]
        started = await client.post("/api/v1/graph/run", json={"graph_id": graph_id})
        run_id = (await started.get_json())["run_id"]
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        pages, cursor = [], ""
        while True:
            got = await client.get(f"/api/v1/runs/{run_id}/subgraphs?limit=2{cursor}")
            body = await got.get_json()
            assert got.status_code == 200, body
            pages.append([(s["path"], [c["nodes"][0] for c in s["checkpoints"]])
                          for s in body["subgraphs"]])
            if body["next_cursor"] is None:
                break
            cursor = f"&cursor={body['next_cursor']}"
        past = await client.get(f"/api/v1/runs/{run_id}/subgraphs?cursor=9:-1")
    # Two checkpoints a page; an execution split over two pages keeps its id and path.
    assert pages == [[("inner", ["a", "b"])],
                     [("inner", ["c"]), ("again", ["a"])],
                     [("again", ["b", "c"])]]
    assert past.status_code == 400
    assert "points past the run's 2 subgraph executions" in str(await past.get_json())
