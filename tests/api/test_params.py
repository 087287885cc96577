"""Numbers at the door: every numeric parameter and field has documented bounds and a 400.

These run on real stores: SQLite (whose driver raised OverflowError on integers past
2**63) and PostgreSQL (whose INTEGER columns refuse anything past 2**31 - 1).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from _api_support import SEED_CREATE, serving
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client

from runtime import open_store
from runtime.definition import MAX_COUNT

HUGE = 2**64
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@asynccontextmanager
async def on_store(backend: str, kind: str, tmp_path: Path) -> AsyncIterator[Client]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'params.db'}"
    else:
        url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("no PostgreSQL: run through `make test`")
    async with serving(backend, store=open_store(url)) as client:
        yield client


async def _finished_run(client: Client) -> str:
    graph = dict(SEED_CREATE, name=f"params_{os.urandom(4).hex()}")
    created = await (await client.post("/api/v1/graph/create", json=graph)).get_json()
    started = await client.post("/api/v1/graph/run", json={"graph_id": created["graph_id"]})
    run_id = str((await started.get_json())["run_id"])
    done = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
    assert done["status"] == "completed"
    return run_id


def _requests(run_id: str, n: int | str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/api/v1/runs?offset={n}", None),
        ("GET", f"/api/v1/graphs?offset={n}", None),
        ("GET", f"/api/v1/runs/{run_id}?logs_offset={n}", None),
        ("GET", f"/api/v1/runs/{run_id}/history/{n}", None),
        ("POST", f"/api/v1/runs/{run_id}/fork", {"step": n}),
        ("POST", f"/api/v1/runs/{run_id}/replay", {"step": n}),
    ]


@pytest.mark.parametrize("kind", STORES)
async def test_integers_past_the_bound_are_400_naming_the_bound(
        anyio_backend: str, kind: str, tmp_path: Path) -> None:
    async with on_store(anyio_backend, kind, tmp_path) as client:
        run_id = await _finished_run(client)
        for value in (MAX_COUNT + 1, HUGE, -1, "9" * 5000):
            for method, url, body in _requests(run_id, value):
                if isinstance(value, str) and body is not None:
                    continue  # a 5000-digit JSON integer: tests/api/test_body.py
                response = await client.open(url, method=method, json=body)
                error = (await response.get_json())["error"]
                assert response.status_code == 400, (url, error)
                assert error["code"] == "validation_error"
                assert any(words in str(error) for words in (
                    str(MAX_COUNT), "greater than or equal to 0", "exceeded maximum size"))


@pytest.mark.parametrize("kind", STORES)
async def test_integers_at_the_bound_reach_the_store_and_are_answered(
        anyio_backend: str, kind: str, tmp_path: Path) -> None:
    async with on_store(anyio_backend, kind, tmp_path) as client:
        run_id = await _finished_run(client)
        statuses = []
        for method, url, body in _requests(run_id, MAX_COUNT):
            response = await client.open(url, method=method, json=body)
            statuses.append(response.status_code)
        # Empty pages, then no such checkpoint: answers, not 500s.
        assert statuses[:3] == [200, 200, 200]
        assert all(status in (404, 409) for status in statuses[3:]), statuses


async def test_wait_timeout_must_be_finite_and_bounded(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _finished_run(client)
        for value in ("nan", "inf", "-inf", str(HUGE), "1e400"):
            response = await client.get(f"/api/v1/runs/{run_id}/wait?timeout={value}")
            assert response.status_code == 400, value


@pytest.mark.parametrize("kind", STORES)
async def test_websocket_since_past_the_bound_closes_4400_saying_the_bound(
        anyio_backend: str, kind: str, tmp_path: Path) -> None:
    async with on_store(anyio_backend, kind, tmp_path) as client:
        run_id = await _finished_run(client)
        for value in (HUGE, MAX_COUNT + 1, "9" * 5000, -1):
            async with client.websocket(f"/api/v1/graph/ws/{run_id}?since={value}") as ws:
                with pytest.raises(WebsocketDisconnectError) as caught:
                    await ws.receive()
            assert caught.value.args[0] == 4400
        # At the bound: a valid request, so the feed just completes.
        async with client.websocket(f"/api/v1/graph/ws/{run_id}?since={MAX_COUNT}") as ws:
            assert '"complete"' in str(await ws.receive())


async def test_openapi_documents_every_numeric_bound(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        spec = await (await client.get("/openapi.json")).get_json()
    params = {(path, p["name"]): p["schema"]
              for path, ops in spec["paths"].items() for op in ops.values()
              for p in op.get("parameters", [])}
    for key in [("/api/v1/runs", "offset"), ("/api/v1/graphs", "offset"),
                ("/api/v1/runs/{run_id}", "logs_offset"),
                ("/api/v1/runs/{run_id}/history/{step}", "step")]:
        assert params[key]["maximum"] == MAX_COUNT, key
        assert params[key]["minimum"] == 0, key
    # Every integer and number in every body schema has both bounds.
    unbounded = []
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            for option in prop.get("anyOf", [prop]):
                if option.get("type") in ("integer", "number") and not (
                        {"minimum", "exclusiveMinimum"} & set(option)
                        and {"maximum", "exclusiveMaximum"} & set(option)):
                    unbounded.append(f"{name}.{field}")
    request_models = {"GraphCreate", "RunCreate", "ForkIn", "ReplayIn", "RetryDef", "NodeDef",
                      "EdgeDef"}
    assert [u for u in unbounded if u.split(".")[0] in request_models] == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_real_websocket_with_since_past_the_bound_closes_4400_with_the_rule(
        backend: str, tmp_path: Path) -> None:
    import httpx
    from _server import server, sqlite_url
    from httpx_ws import WebSocketDisconnect, connect_ws

    with server(backend, sqlite_url(tmp_path), tmp_path) as srv, \
            httpx.Client(timeout=10) as client:
        graph = client.post(f"{srv.url}/api/v1/graph/create", json=SEED_CREATE).json()
        run = client.post(f"{srv.url}/api/v1/graph/run",
                          json={"graph_id": graph["graph_id"]}).json()
        client.get(f"{srv.url}/api/v1/runs/{run['run_id']}/wait", params={"timeout": 10})
        for since in (HUGE, "9" * 5000):
            # Before: SQLite's OverflowError reading events past 2**63 closed with 1011.
            url = f"{srv.ws_url}/api/v1/graph/ws/{run['run_id']}?since={since}"
            with pytest.raises(WebSocketDisconnect) as caught, connect_ws(url, client) as ws:
                ws.receive_text(timeout=10)
            assert caught.value.code == 4400
            assert caught.value.reason == f"since must be an integer from 0 to {MAX_COUNT}"
