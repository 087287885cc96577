"""Health, metrics, tools, OpenAPI and the offline docs page."""

from __future__ import annotations

import re

from _api_support import SEED_CREATE, serving, start_waiting_run


async def test_health_is_ok_when_the_database_answers(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.get("/health")
        assert response.status_code == 200
        body = await response.get_json()
        assert body == {"status": "ok", "database": True, "accepting_runs": True,
                        "backend": anyio_backend, "outage": None}


async def test_tools_lists_the_registry_with_descriptions(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        body = await (await client.get("/api/v1/tools")).get_json()
        names = {t["name"]: t for t in body["tools"]}
        assert {"set", "delay", "fail"} <= set(names)
        assert names["set"]["description"]


async def test_metrics_count_runs_nodes_and_requests(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = (await (await client.post("/api/v1/graph/create", json=SEED_CREATE)).get_json())["graph_id"]
        run = await (await client.post("/api/v1/graph/run", json={"graph_id": graph_id})).get_json()
        await client.get(f"/api/v1/runs/{run['run_id']}/wait?timeout=10")
        text = (await (await client.get("/metrics")).get_data()).decode()
        assert 'actorflow_runs{status="completed"} 1.0' in text
        assert 'actorflow_runs_finished_total{status="completed"} 1.0' in text
        assert 'actorflow_node_duration_seconds_count{node="extract"} 1.0' in text
        assert "actorflow_websocket_clients 0.0" in text
        assert re.search(r'actorflow_http_requests_total\{method="POST",status="202"\} 1.0', text)


async def test_metrics_count_the_runs_waiting_for_an_answer(anyio_backend: str) -> None:
    approval = {"name": "asks", "nodes": [{"name": "approve", "tool": "ask"}]}
    async with serving(anyio_backend) as client:
        for i in range(3):
            await start_waiting_run(client, {**approval, "name": f"asks{i}"})
        text = (await (await client.get("/metrics")).get_data()).decode()
    # A waiting run holds no process: the count comes from the database.
    assert 'actorflow_runs{status="waiting"} 3.0' in text
    assert 'actorflow_runs{status="running"} 0.0' in text


async def test_openapi_documents_the_seed_endpoints_and_bodies(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        spec = await (await client.get("/openapi.json")).get_json()
        paths = spec["paths"]
        for path in ("/api/v1/graph/create", "/api/v1/graph/run",
                     "/api/v1/graph/state/{run_id}", "/api/v1/graph/{graph_id}",
                     "/api/v1/runs", "/api/v1/tools", "/health"):
            assert path in paths, path
        create = paths["/api/v1/graph/create"]["post"]
        assert "requestBody" in create and "201" in create["responses"]


async def test_docs_page_loads_nothing_from_other_hosts(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        page = (await (await client.get("/docs")).get_data()).decode()
        assert "SwaggerUIBundle" in page
        assert not re.search(r"(src|href)=\"(https?:)?//", page)
        for asset in re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', page):
            response = await client.get(asset)
            assert response.status_code == 200, asset
        assert (await client.get("/docs/static/../../setup.py")).status_code == 404


async def test_openapi_paths_are_the_real_routes(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        spec = await (await client.get("/openapi.json")).get_json()
    paths = set(spec["paths"])
    for path in ("/api/v1/runs/{run_id}/history/{step}", "/api/v1/runs/{run_id}/resume",
                 "/api/v1/runs/{run_id}/fork", "/api/v1/graph/state/{run_id}",
                 "/api/v1/threads", "/api/v1/threads/{thread_id}",
                 "/api/v1/threads/{thread_id}/runs", "/api/v1/threads/{thread_id}/state",
                 "/api/v1/threads/{thread_id}/history", "/api/v1/threads/{thread_id}/copy",
                 "/api/v1/runs/{run_id}/subgraphs"):
        assert path in paths
    threads = spec["paths"]["/api/v1/threads/{thread_id}/runs"]["post"]
    assert "requestBody" in threads and "409" in threads["responses"]
    # Every path parameter a route declares appears in its path.
    for path, item in spec["paths"].items():
        for op in item.values():
            for p in op.get("parameters", []):
                if p.get("in") == "path":
                    assert "{" + p["name"] + "}" in path, (path, p["name"])


async def test_metrics_count_node_cache_hits_and_misses(anyio_backend: str) -> None:
    graph = {"name": "cached_set", "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {"x": 1}}, "cache": {"ttl": 60}}]}
    async with serving(anyio_backend) as client:
        created = await client.post("/api/v1/graph/create", json=graph)
        assert created.status_code == 201, await created.get_json()
        graph_id = (await created.get_json())["graph_id"]
        for _ in range(3):
            run = await (await client.post("/api/v1/graph/run", json={
                "graph_id": graph_id, "initial_state": {"q": 1}})).get_json()
            await client.get(f"/api/v1/runs/{run['run_id']}/wait?timeout=10")
        text = (await (await client.get("/metrics")).get_data()).decode()
        assert "actorflow_node_cache_hits_total 2.0" in text
        assert "actorflow_node_cache_misses_total 1.0" in text


async def test_metrics_are_the_operators_not_a_tenants(anyio_backend: str) -> None:
    # The figures span every tenant (run counts, node names): another tenant's admin
    # read them before (the security review).
    from _auth_support import bearer, make_key

    from runtime import MemoryStore

    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        operator, _ = await make_key(store, "default", scopes={"admin"})
        tenant_admin, _ = await make_key(store, "acme", scopes={"admin"})
        refused = await client.get("/metrics", headers=bearer(tenant_admin))
        allowed = await client.get("/metrics", headers=bearer(operator))
    assert refused.status_code == 403
    assert "default tenant" in (await refused.get_json())["error"]["message"]
    assert allowed.status_code == 200
    assert "actorflow_runs" in await allowed.get_data(as_text=True)
