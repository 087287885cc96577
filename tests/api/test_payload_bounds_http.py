"""The server's run size bounds over real HTTP (a real ``actorflow serve``, asyncio and
trio, SQLite): a run whose state outgrows ``max_state_bytes``, or whose node publishes
an event above ``max_event_bytes``, fails with an error naming the bound and the node;
a run beside it completes and the server stays healthy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _api_support import chain_graph
from _server import server, sqlite_url

BACKENDS = ["asyncio", "trio"]

#: A loop appending 1 KB to ``items`` per step, up to 500 steps (500 KB).
GROWING: dict[str, Any] = {
    "name": "growing", "reducers": {"items": "append", "count": "add"},
    "nodes": [{"name": "grow", "tool": "set",
               "config": {"values": {"items": "x" * 1000, "count": 1}}}],
    "edges": [{"from": "grow", "to": "grow", "condition": "count < 500"},
              {"from": "grow", "to": "__end__"}],
}


def _shouting(size: int) -> dict[str, Any]:
    return {"name": f"shout_{size}", "nodes": [
        {"name": "shout", "fn": "_payload_nodes:shout", "config": {"bytes": size}}]}


@pytest.fixture(params=BACKENDS)
def client(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # for _payload_nodes
    with server(request.param, sqlite_url(tmp_path), tmp_path, max_state_bytes=20_000,
                max_event_bytes=2_000, allow_imports="true") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        yield http


def _create(http: httpx.Client, graph: dict[str, Any]) -> str:
    created = http.post("/api/v1/graph/create", json=graph)
    assert created.status_code == 201, created.text
    return str(created.json()["graph_id"])


def _start(http: httpx.Client, graph_id: str, state: dict[str, Any] | None = None) -> str:
    started = http.post("/api/v1/graph/run", json={"graph_id": graph_id,
                                                  "initial_state": state or {}})
    assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


def _outcome(http: httpx.Client, run_id: str) -> dict[str, Any]:
    return dict(http.get(f"/api/v1/runs/{run_id}/wait?timeout=30").json())


def test_a_run_outgrowing_max_state_bytes_fails_alone(client: httpx.Client) -> None:
    growing = _start(client, _create(client, GROWING), {"count": 0})
    beside = _start(client, _create(client, chain_graph("beside")))
    failed = _outcome(client, growing)
    assert failed["status"] == "failed", failed
    assert "max_state_bytes=20000" in failed["error"] and "'grow'" in failed["error"]
    assert "'items'" in failed["error"]  # what grew is named
    assert failed["current_state"]["count"] < 500  # stopped when it crossed the bound
    assert _outcome(client, beside)["status"] == "completed"
    detail = client.get(f"/api/v1/runs/{growing}").json()
    assert detail["failure"]["type"] == "StateTooLargeError", detail["failure"]
    assert client.get("/health").status_code == 200


def test_an_event_above_max_event_bytes_fails_its_run_alone(client: httpx.Client) -> None:
    loud = _start(client, _create(client, _shouting(50_000)))
    quiet = _start(client, _create(client, _shouting(100)))
    failed = _outcome(client, loud)
    assert failed["status"] == "failed", failed
    assert "max_event_bytes=2000" in failed["error"] and "'shout'" in failed["error"]
    completed = _outcome(client, quiet)
    assert completed["status"] == "completed" and completed["current_state"] == {
        "shouted": 100}
    # the refused event was never stored: the run's log holds no 50 KB line
    logs = client.get(f"/api/v1/runs/{loud}").text
    assert "y" * 3000 not in logs
