"""A run in one request: ``POST /api/v1/graph/run`` with ``"wait": true`` answers 200 with
the final state once the run finished, 202 with its id and status while it still runs
or waits for an answer, bounded by ``wait_timeout`` and the server's ``max_wait_seconds``.

Against a real ``actorflow serve`` process (Hypercorn) on asyncio and trio, SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _api_support import chain_graph, serving
from _auth_support import APPROVAL, bearer, make_key
from _server import server, sqlite_url

from runtime.store import MemoryStore

BACKENDS = ["asyncio", "trio"]


@pytest.fixture(params=BACKENDS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    with server(request.param, sqlite_url(tmp_path), tmp_path, max_wait_seconds=5) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        yield http


def _graph(http: httpx.Client, graph: dict[str, Any]) -> str:
    created = http.post("/api/v1/graph/create", json=graph)
    assert created.status_code == 201, created.text
    return str(created.json()["graph_id"])


def _run(http: httpx.Client, graph_id: str, **extra: Any) -> httpx.Response:
    return http.post("/api/v1/graph/run", json={"graph_id": graph_id, "wait": True, **extra})


def test_wait_answers_200_with_the_final_state_of_a_finished_run(client: httpx.Client) -> None:
    answer = _run(client, _graph(client, chain_graph("quick")), initial_state={"x": 1})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "completed"
    assert body["current_state"] == {"x": 1, "a": 1, "done": True}
    # what it answered is what the server keeps
    stored = client.get(f"/api/v1/runs/{body['run_id']}").json()
    assert stored["status"] == "completed" and stored["final_state"] == body["current_state"]


def test_wait_answers_200_for_a_failed_run_with_its_error(client: httpx.Client) -> None:
    answer = _run(client, _graph(client, chain_graph("broken", fail=True)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "failed" and "boom" in answer.json()["error"]


def test_wait_answers_202_with_the_run_id_while_the_run_still_runs(
        client: httpx.Client) -> None:
    answer = _run(client, _graph(client, chain_graph("slow", delay=60)), wait_timeout=0.2)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] in {"pending", "running"} and body["run_id"]
    assert client.post(f"/api/v1/runs/{body['run_id']}/cancel").status_code == 202


def test_wait_is_capped_by_the_servers_max_wait_seconds(client: httpx.Client) -> None:
    # the server above caps waits at 5 s: asking 600 s still answers, with 202
    answer = _run(client, _graph(client, chain_graph("slower", delay=60)), wait_timeout=600)
    assert answer.status_code == 202, answer.text
    client.post(f"/api/v1/runs/{answer.json()['run_id']}/cancel")


def test_wait_answers_202_when_the_run_waits_for_an_answer(client: httpx.Client) -> None:
    answer = _run(client, _graph(client, APPROVAL))
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    assert answer.json()["status"] == "waiting"
    asks = client.get(f"/api/v1/runs/{run_id}/interrupts").json()
    assert asks["interrupts"], asks


def test_a_wait_timeout_out_of_bounds_is_refused_naming_the_field(client: httpx.Client) -> None:
    graph_id = _graph(client, chain_graph("bounded"))
    for bad in (0, -1, 10**9, "soon"):
        answer = _run(client, graph_id, wait_timeout=bad)
        assert answer.status_code == 400, (bad, answer.text)
        assert "wait_timeout" in answer.text


async def test_wait_needs_the_runs_read_scope(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as http:
        key, _ = await make_key(store, "acme", scopes={"graphs:write", "runs:write"})
        created = await http.post("/api/v1/graph/create", headers=bearer(key),
                                  json=chain_graph("quick"))
        graph_id = (await created.get_json())["graph_id"]
        refused = await http.post("/api/v1/graph/run", headers=bearer(key),
                                  json={"graph_id": graph_id, "wait": True})
        assert refused.status_code == 403
        assert (await refused.get_json())["error"]["details"]["missing_scope"] == "runs:read"
        # without wait the same key starts runs
        started = await http.post("/api/v1/graph/run", headers=bearer(key),
                                  json={"graph_id": graph_id})
        assert started.status_code == 202


async def test_editing_a_run_without_runs_read_does_not_answer_with_its_state(
        anyio_backend: str) -> None:
    # A write-only credential may edit a stopped run, as the scope says, but the answer
    # must not hand it the state `runs:read` guards (the security review read a run's
    # secrets this way).
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as http:
        writer, _ = await make_key(store, "acme", scopes={"graphs:write", "runs:write"})
        reader, _ = await make_key(store, "acme", scopes={"runs:read", "runs:write"})
        created = await http.post("/api/v1/graph/create", headers=bearer(writer),
                                  json=chain_graph("secretive"))
        graph_id = (await created.get_json())["graph_id"]
        started = await http.post("/api/v1/graph/run", headers=bearer(writer),
                                  json={"graph_id": graph_id,
                                        "initial_state": {"card": "4111 1111 1111 1111"}})
        run_id = (await started.get_json())["run_id"]
        await http.get(f"/api/v1/runs/{run_id}/wait?timeout=10", headers=bearer(reader))
        blind = await http.post(f"/api/v1/runs/{run_id}/state", headers=bearer(writer),
                                json={"values": {"note": "edited"}})
        seen = await http.post(f"/api/v1/runs/{run_id}/state", headers=bearer(reader),
                               json={"values": {"note": "again"}})
    assert blind.status_code == 200, await blind.get_data(as_text=True)
    body = await blind.get_json()
    assert body["state"] is None and body["step"] >= 1 and "4111" not in str(body)
    assert (await seen.get_json())["state"]["card"] == "4111 1111 1111 1111"
