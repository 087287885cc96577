"""Threads over HTTP against a real server (issue 13, item 2): turns, the one-writer
strategies (409, enqueue, interrupt), copy and delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import server
from test_e2e import BACKENDS, database

CHAT = {"name": "chat_turns", "reducers": {"messages": "append"},
        "nodes": [{"name": "reply", "tool": "set", "config": {"values": {"messages": ["bot"]}}}],
        "edges": [{"from": "reply", "to": "END"}]}
SLOW = {"name": "slow_turns", "reducers": {"messages": "append"},
        "nodes": [{"name": "think", "tool": "delay", "config": {"seconds": 30}},
                  {"name": "reply", "tool": "set", "config": {"values": {"messages": ["late"]}}}],
        "edges": [{"from": "think", "to": "reply"}, {"from": "reply", "to": "END"}]}


def _wait(http: httpx.Client, run_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = http.get(f"/api/v1/runs/{run_id}/wait?timeout=5").json()
        if state["status"] == status:
            return dict(state)
    raise AssertionError(f"run {run_id} is not {status}: {state}")


def _running(http: httpx.Client, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while http.get(f"/api/v1/graph/state/{run_id}").json()["status"] != "running":
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_conversation_over_http(backend: str, kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url, server(backend, url, tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        assert http.post("/api/v1/graph/create", json=CHAT).status_code == 201
        made = http.post("/api/v1/threads", json={"thread_id": "c1", "graph_id": "chat_turns"})
        assert made.status_code == 201, made.text
        assert http.post("/api/v1/threads", json={"thread_id": "c1"}).status_code == 409
        for text in ("u1", "u2"):
            started = http.post("/api/v1/threads/c1/runs",
                                json={"graph_id": "chat_turns", "input": {"messages": [text]}})
            assert started.status_code == 202, started.text
            _wait(http, started.json()["run_id"], "completed")
        state = http.get("/api/v1/threads/c1/state").json()["state"]
        assert state["messages"] == ["u1", "bot", "u2", "bot"]
        runs = http.get("/api/v1/threads/c1/runs").json()["runs"]
        assert [r["status"] for r in runs] == ["completed", "completed"]
        history = http.get("/api/v1/threads/c1/history").json()
        # Each run's input (step 0), then its one step.
        assert history["run_ids"] == [runs[0]["run_id"]] * 2 + [runs[1]["run_id"]] * 2
        assert [c["step"] for c in history["checkpoints"]] == [0, 1, 0, 1]

        copied = http.post("/api/v1/threads/c1/copy", json={"thread_id": "c2"})
        assert copied.status_code == 201 and copied.json()["copied_from"] == "c1"
        assert http.get("/api/v1/threads/c2/state").json()["state"] == state

        deleted = http.delete("/api/v1/threads/c1")
        assert deleted.status_code == 200 and deleted.json()["runs_deleted"] == 2
        assert http.get("/api/v1/threads/c1").status_code == 404
        assert http.get(f"/api/v1/runs/{runs[0]['run_id']}").status_code == 404
        assert http.get("/api/v1/threads/c2").status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_run_on_a_busy_thread_follows_its_strategy(backend: str, kind: str,
                                                            tmp_path: Path) -> None:
    with database(kind, tmp_path) as url, server(backend, url, tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        for graph in (CHAT, SLOW):
            assert http.post("/api/v1/graph/create", json=graph).status_code == 201
        first = http.post("/api/v1/threads/t/runs",
                          json={"graph_id": "slow_turns", "input": {"messages": ["a"]}}).json()
        _running(http, first["run_id"])

        busy = http.post("/api/v1/threads/t/runs",
                         json={"graph_id": "chat_turns", "input": {"messages": ["b"]}})
        assert busy.status_code == 409
        error = busy.json()["error"]
        assert error["code"] == "thread_busy"
        assert error["details"]["active_run_id"] == first["run_id"]
        assert http.get("/api/v1/threads/t").json()["active_run_id"] == first["run_id"]
        assert http.delete("/api/v1/threads/t").status_code == 409

        cutting = http.post("/api/v1/threads/t/runs", json={
            "graph_id": "chat_turns", "input": {"messages": ["c"]}, "multitask": "interrupt"})
        assert cutting.status_code == 202, cutting.text
        _wait(http, first["run_id"], "cancelled")
        done = _wait(http, cutting.json()["run_id"], "completed")
        # The cancelled turn left nothing in the thread.
        assert done["current_state"]["messages"] == ["c", "bot"]

        slow = http.post("/api/v1/threads/t/runs",
                         json={"graph_id": "slow_turns", "input": {"messages": ["s"]}}).json()
        _running(http, slow["run_id"])
        queued = http.post("/api/v1/threads/t/runs", json={
            "graph_id": "chat_turns", "input": {"messages": ["q"]}, "multitask": "enqueue"})
        assert queued.status_code == 202
        queued_id = queued.json()["run_id"]
        assert http.get(f"/api/v1/graph/state/{queued_id}").json()["status"] == "pending"
        assert http.post(f"/api/v1/runs/{slow['run_id']}/cancel").status_code == 202
        done = _wait(http, queued_id, "completed")
        # It waited for the thread, then started from the state the runs before left.
        assert done["current_state"]["messages"] == ["c", "bot", "q", "bot"]
