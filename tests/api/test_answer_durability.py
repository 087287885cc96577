"""An answer the API acknowledged (``POST /runs/{id}/resume``: 202) survives a ``kill -9``
of the server that took it, whatever the answered node does next.

The node that asked goes on working for seconds after the answer (so its step is not
written when the server is killed); before the fix the 202 came back once the run was
launched, the answer lived only in memory, and after the restart the run waited for it
again. Real processes: a server (this checkout's code), ``kill -9``, a new server on the
same database; SQLite and PostgreSQL (when ACTORFLOW_TEST_POSTGRES_URL is set), asyncio
and trio.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from _server import database, server

pytestmark = pytest.mark.slow

GRAPH = {
    "name": "answer_then_work",
    "nodes": [
        {"name": "start", "tool": "set", "config": {"values": {"started": True}}},
        {"name": "ask", "fn": "_answer_nodes:ask_then_work"},
        {"name": "done", "tool": "set", "config": {"values": {"done": True}}},
    ],
    "edges": [{"from": "start", "to": "ask"}, {"from": "ask", "to": "done"}],
}
#: Seconds the answered node works: the server is killed well within them.
WORK = 4.0


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_acknowledged_answer_survives_a_kill_9_of_the_server(
        backend: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))   # for _answer_nodes
    with database(kind, tmp_path) as url:
        with server(backend, url, tmp_path, allow_imports="true") as srv, \
                httpx.Client(base_url=srv.url, timeout=30) as http:
            assert http.post("/api/v1/graph/create", json=GRAPH).status_code == 201
            run_id = http.post("/api/v1/graph/run", json={
                "graph_id": GRAPH["name"], "initial_state": {"work": WORK}}).json()["run_id"]
            assert http.get(f"/api/v1/runs/{run_id}/wait?timeout=30").json()["status"] \
                == "waiting"
            answered = http.post(f"/api/v1/runs/{run_id}/resume", json={"answer": "yes"})
            assert answered.status_code == 202, answered.text
            time.sleep(0.5)   # the answered node works on: its step is not written yet
            srv.proc.kill()
            srv.proc.wait()
        with server(backend, url, tmp_path, allow_imports="true") as srv, \
                httpx.Client(base_url=srv.url, timeout=60) as http:
            # Resumed from the checkpoint holding the answer: it goes on by itself.
            view = http.get(f"/api/v1/runs/{run_id}/wait?timeout=40").json()
            assert view["status"] == "completed", view
            assert view["current_state"]["answer"] == "yes"
            assert view["current_state"]["done"] is True
