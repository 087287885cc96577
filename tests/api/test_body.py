"""JSON at the door: bounded in depth and size, and kept to the one rule for both stores.

Before, a 5000-digit integer, nesting of 300 or 5000 levels each gave a 500; NUL and
lone surrogates were stored on SQLite and a 500 on PostgreSQL; NaN became null on
SQLite. Now each is a 400 saying what and where, on a real SQLite store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from _api_support import SEED_CREATE, serving
from quart.typing import TestClientProtocol as Client

from api.body import MAX_JSON_DEPTH
from runtime import open_store


@asynccontextmanager
async def on_sqlite(backend: str, tmp_path: Path) -> AsyncIterator[Client]:
    async with serving(backend, store=open_store(f"sqlite:///{tmp_path / 'body.db'}")) as client:
        yield client


async def _post(client: Client, url: str, text: str) -> tuple[int, dict[str, Any]]:
    response = await client.post(url, data=text.encode("utf-8", "surrogatepass"),
                                 headers={"Content-Type": "application/json"})
    return response.status_code, await response.get_json()


async def _graph_id(client: Client) -> str:
    created = await (await client.post("/api/v1/graph/create", json=SEED_CREATE)).get_json()
    return str(created["graph_id"])


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def test_an_integer_of_more_than_4300_digits_is_400_json_limit(
        anyio_backend: str, tmp_path: Path) -> None:
    async with on_sqlite(anyio_backend, tmp_path) as client:
        body = f'{{"graph_id": "{await _graph_id(client)}", "initial_state": {{"n": {"9" * 5000}}}}}'
        status, answer = await _post(client, "/api/v1/graph/run", body)
    assert status == 400
    assert answer["error"]["code"] == "json_limit"
    assert "5000 digits; at most 4300" in answer["error"]["message"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 999, 5000])
async def test_nesting_past_the_limit_is_400_json_limit(
        anyio_backend: str, tmp_path: Path, depth: int) -> None:
    async with on_sqlite(anyio_backend, tmp_path) as client:
        body = (f'{{"graph_id": "{await _graph_id(client)}", '
                f'"initial_state": {{"x": {_nested(depth)}}}}}')
        status, answer = await _post(client, "/api/v1/graph/run", body)
    assert status == 400
    assert answer["error"]["code"] == "json_limit"
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in answer["error"]["message"]


async def test_nesting_within_the_limit_runs_and_is_stored(anyio_backend: str,
                                                           tmp_path: Path) -> None:
    deep = json.loads(_nested(MAX_JSON_DEPTH - 3))  # body, initial_state and x take 3 levels
    async with on_sqlite(anyio_backend, tmp_path) as client:
        started = await client.post("/api/v1/graph/run", json={
            "graph_id": await _graph_id(client), "initial_state": {"x": deep}})
        assert started.status_code == 202, await started.get_json()
        run_id = (await started.get_json())["run_id"]
        done = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
    assert done["status"] == "completed"
    assert done["current_state"]["x"] == deep


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_not_json(anyio_backend: str, tmp_path: Path,
                                             token: str) -> None:
    async with on_sqlite(anyio_backend, tmp_path) as client:
        body = f'{{"graph_id": "{await _graph_id(client)}", "initial_state": {{"x": {token}}}}}'
        status, answer = await _post(client, "/api/v1/graph/run", body)
    assert status == 400
    assert answer["error"]["code"] == "malformed_json"
    assert f"{token} is not a JSON number" in answer["error"]["message"]


async def test_a_number_beyond_a_double_is_400_not_infinity(anyio_backend: str,
                                                           tmp_path: Path) -> None:
    async with on_sqlite(anyio_backend, tmp_path) as client:
        body = f'{{"graph_id": "{await _graph_id(client)}", "initial_state": {{"x": 1e400}}}}'
        status, answer = await _post(client, "/api/v1/graph/run", body)
    assert status == 400
    assert answer["error"]["code"] == "json_limit"


#: Where text reaches a store: a graph's and a node's name, a node's config, a run's
#: input and config, a state edit, a fork; each with NUL and with a lone surrogate.
TEXT_PLACES = {
    "graph name": ("/api/v1/graph/create", ('{"name": "g%s", "nodes": [{"name": "a", '
                   '"tool": "set"}]}'), "name"),
    "node name": ("/api/v1/graph/create", ('{"name": "g", "nodes": [{"name": "a%s", '
                  '"tool": "set"}]}'), "nodes.0.name"),
    "node config": ("/api/v1/graph/create", ('{"name": "g", "nodes": [{"name": "a", '
                    '"tool": "set", "config": {"values": {"k": "v%s"}}}]}'),
                    "nodes.0.config.values.k"),
    "config key": ("/api/v1/graph/create", ('{"name": "g", "nodes": [{"name": "a", '
                   '"tool": "set", "config": {"values": {"k%s": 1}}}]}'),
                   "nodes.0.config.values.k"),
    "run input": ("/api/v1/graph/run", ('{"graph_id": "GRAPH", "initial_state": '
                  '{"x": ["ok", "v%s"]}}'), "initial_state.x.1"),
    "run config": ("/api/v1/graph/run", '{"graph_id": "GRAPH", "config": {"c": "v%s"}}',
                   "config.c"),
    "state edit": ("/api/v1/runs/RUN/state", '{"values": {"x": "v%s"}}', "values.x"),
    "fork values": ("/api/v1/runs/RUN/fork", '{"values": {"x": "v%s"}}', "values.x"),
}


@pytest.mark.parametrize("char,kind", [("\\u0000", "nul_character"),
                                       ("\\ud800", "lone_surrogate")])
@pytest.mark.parametrize("place", list(TEXT_PLACES))
async def test_nul_and_lone_surrogates_are_400_naming_the_path(
        anyio_backend: str, tmp_path: Path, place: str, char: str, kind: str) -> None:
    url, template, path = TEXT_PLACES[place]
    async with on_sqlite(anyio_backend, tmp_path) as client:
        graph_id = await _graph_id(client)
        started = await client.post("/api/v1/graph/run", json={"graph_id": graph_id})
        run_id = (await started.get_json())["run_id"]
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        before = [await (await client.get(f"/api/v1/{what}")).get_json()
                  for what in ("graphs", "runs", f"runs/{run_id}/history")]
        body = (template % char).replace("GRAPH", graph_id)
        status, answer = await _post(client, url.replace("RUN", run_id), body)
        after = [await (await client.get(f"/api/v1/{what}")).get_json()
                 for what in ("graphs", "runs", f"runs/{run_id}/history")]
    assert status == 400, answer
    error = answer["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["type"] == kind
    assert error["details"][0]["path"].startswith(path)
    assert after == before  # no graph, run or checkpoint stored


async def test_text_rule_holds_for_path_and_query_parameters(anyio_backend: str,
                                                            tmp_path: Path) -> None:
    async with on_sqlite(anyio_backend, tmp_path) as client:
        for url in ["/api/v1/runs/a%00b", "/api/v1/graph/a%00b", "/api/v1/runs/a%00b/history/1",
                    "/api/v1/runs?graph_id=a%00b", "/api/v1/runs?status=%00"]:
            response = await client.get(url)
            answer = await response.get_json()
            assert response.status_code == 400, (url, answer)
            assert answer["error"]["details"][0]["type"] == "nul_character"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_body_sent_to_a_route_that_takes_none_leaves_the_connection_usable(
        backend: str, tmp_path: Path) -> None:
    # Found by schemathesis: on trio, Hypercorn waited for the unread body and the next
    # request on the same keep-alive connection hung.
    import httpx
    from _server import server, sqlite_url

    with server(backend, sqlite_url(tmp_path), tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as client:
        for method, url in [("GET", "/api/v1/runs"), ("DELETE", "/api/v1/graph/create"),
                            ("POST", "/api/v1/runs/nope/cancel")]:
            for body in ({"unread": 1}, {"unread": "x" * 100_000}):
                sent = client.request(method, url, json=body)
                assert sent.status_code in (200, 404, 405)
                assert client.get("/health").status_code == 200  # same connection
