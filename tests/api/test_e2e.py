"""End to end: a real ``actorflow serve`` process, driven with httpx and real WebSockets.

Every test runs against both server backends (asyncio, trio); the seed flow and
the restart test also run on SQLite and PostgreSQL. These are plain (sync) tests:
the backend under test is the server's, in its own process.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _api_support import SEED_CREATE
from _server import Server, database, server, sqlite_url
from httpx_ws import WebSocketDisconnect, connect_ws

pytestmark = pytest.mark.slow

BACKENDS = ["asyncio", "trio"]


def _messages(ws_url: str, client: httpx.Client, limit: int = 10_000) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with connect_ws(ws_url, client, max_message_size_bytes=2**24) as ws:
        while len(out) < limit:
            try:
                message = json.loads(ws.receive_text(timeout=30))
            except WebSocketDisconnect:
                break
            out.append(message)
            if message["type"] == "complete":
                break
    return out


def _follow(ws_base: str, run_id: str, client: httpx.Client) -> list[dict[str, Any]]:
    """Every message of a run, reconnecting with ?since= whenever this client lags."""
    out: list[dict[str, Any]] = []
    since = 0
    for _ in range(100):
        batch = _messages(f"{ws_base}/api/v1/graph/ws/{run_id}?since={since}", client)
        lagged = batch and batch[-1].get("code") == "lagged"
        out += batch[:-1] if lagged else batch
        if not lagged:
            return out
        since = batch[-1]["resume_from"]
    raise AssertionError("still lagging after 100 reconnects")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_flow_over_http_and_websocket(backend: str, kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url, server(backend, url, tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        created = http.post("/api/v1/graph/create", json=SEED_CREATE)
        assert created.status_code == 201, created.text
        graph_id = created.json()["graph_id"]
        assert http.get(f"/api/v1/graph/{graph_id}").json()["name"] == "code_review_workflow"
        assert http.post("/api/v1/graph/create", json=SEED_CREATE).status_code == 409

        started = http.post("/api/v1/graph/run", json={
            "graph_id": graph_id, "initial_state": {"code": "def hello():\n    pass",
                                                    "use_llm": False}, "timeout": 300})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        messages = _messages(f"{srv.ws_url}/api/v1/graph/ws/{run_id}", http)
        assert [m["seq"] for m in messages] == list(range(len(messages)))
        assert messages[-1]["type"] == "complete" and messages[-1]["status"] == "completed"
        nodes = [m["node"] for m in messages if m.get("event") == "node_completed"]
        assert nodes == ["extract", "analyze", "report"]

        state = http.get(f"/api/v1/graph/state/{run_id}").json()
        assert state["status"] == "completed"
        assert state["current_state"]["quality_score"] == 85
        detail = http.get(f"/api/v1/runs/{run_id}").json()
        assert len(detail["logs"]) == 6
        # The input (step 0), then one checkpoint per node.
        steps = http.get(f"/api/v1/runs/{run_id}/history").json()["checkpoints"]
        assert [c["step"] for c in steps] == [0, 1, 2, 3]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_requests_get_the_error_shape(backend: str, tmp_path: Path) -> None:
    with server(backend, sqlite_url(tmp_path), tmp_path, max_body_bytes=2048) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        too_big = http.post("/api/v1/graph/create",
                            json=dict(SEED_CREATE, description="x" * 5000))
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "payload_too_large"
        assert too_big.json()["error"]["request_id"] == too_big.headers["x-request-id"]
        not_json = http.post("/api/v1/graph/create", content=b"name=x",
                             headers={"content-type": "text/plain"})
        assert not_json.status_code == 415
        malformed = http.post("/api/v1/graph/create", content=b"{nope",
                              headers={"content-type": "application/json"})
        assert malformed.status_code == 400
        assert malformed.json()["error"]["code"] == "malformed_json"
        invalid = http.post("/api/v1/graph/create", json={
            "name": "bad", "nodes": [{"name": "a", "tool": "sett"}, {"name": "b", "tool": "nah"}],
            "edges": [{"from": "a", "to": "ghost"}]})
        assert invalid.status_code == 400
        assert len(invalid.json()["error"]["details"]["problems"]) >= 3
        assert http.get("/api/v1/runs/nope").status_code == 404
        assert "Traceback" not in invalid.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_run_websocket_closes_with_4404(backend: str, tmp_path: Path) -> None:
    with server(backend, sqlite_url(tmp_path), tmp_path) as srv, httpx.Client() as http:
        with connect_ws(f"{srv.ws_url}/api/v1/graph/ws/nope", http) as ws, \
                pytest.raises(WebSocketDisconnect) as caught:
            ws.receive_text(timeout=10)
        assert caught.value.code == 4404


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_frame_of_a_batch_client_is_a_batch_frame(backend: str, tmp_path: Path) -> None:
    # README: ?batch=true sends {"type": "batch", "messages": [...]} frames. A frame of
    # one message (the last message left of a finished run) is one too.
    with server(backend, sqlite_url(tmp_path), tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        created = http.post("/api/v1/graph/create", json=_looping_graph("batched", 3, 10))
        assert created.status_code == 201, created.text
        done = http.post("/api/v1/graph/run", json={"graph_id": created.json()["graph_id"],
                                                    "initial_state": {}, "wait": True})
        assert done.status_code == 200, done.text
        run_id = done.json()["run_id"]
        everything = _messages(f"{srv.ws_url}/api/v1/graph/ws/{run_id}", http)
        last = everything[-1]["seq"]
        for since, mode in ((0, ""), (last, ""), (last, "&mode=values")):
            frames = []
            with connect_ws(f"{srv.ws_url}/api/v1/graph/ws/{run_id}?since={since}"
                            f"&batch=true{mode}", http) as ws:
                while True:
                    try:
                        frames.append(json.loads(ws.receive_text(timeout=30)))
                    except WebSocketDisconnect:
                        break
            assert frames and all(f["type"] == "batch" for f in frames), frames
            messages = [m for f in frames for m in f["messages"]]
            assert messages[-1]["type"] == "complete"
            if not mode:
                assert messages == everything[since:]


def _looping_graph(name: str, steps: int, blob: int) -> dict[str, Any]:
    """One node looping ``steps`` times, each step publishing a ``blob``-byte update."""
    return {
        "name": name,
        "reducers": {"count": "add"},
        "nodes": [{"name": "work", "tool": "set",
                   "config": {"values": {"count": 1, "blob": "x" * blob}}}],
        "edges": [{"from": "work", "to": "work", "condition": f"count < {steps}"},
                  {"from": "work", "to": "__end__"}],
    }


def _raw_ws_that_never_reads(port: int, path: str) -> socket.socket:
    """A WebSocket handshake on a socket with a tiny receive buffer that is never read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    return sock


@pytest.mark.parametrize("backend", BACKENDS)
def test_slow_websocket_client_is_dropped_while_the_run_completes(backend: str,
                                                                   tmp_path: Path) -> None:
    with server(backend, sqlite_url(tmp_path), tmp_path, ws_buffer=16,
                ws_send_timeout=1) as srv, httpx.Client(base_url=srv.url, timeout=60) as http:
        graph_id = http.post("/api/v1/graph/create",
                             json=_looping_graph("loop", 300, 20_000)).json()["graph_id"]
        run_id = http.post("/api/v1/graph/run", json={"graph_id": graph_id}).json()["run_id"]
        slow = _raw_ws_that_never_reads(srv.port, f"/api/v1/graph/ws/{run_id}")
        try:
            fast = _follow(srv.ws_url, run_id, http)
            assert fast[-1]["type"] == "complete" and fast[-1]["status"] == "completed"
            assert fast[-1]["final_state"]["count"] == 300
            assert [m["seq"] for m in fast] == list(range(len(fast)))
            done = http.get(f"/api/v1/runs/{run_id}/wait?timeout=30").json()
            assert done["status"] == "completed"
            if backend == "asyncio":
                # Its blocked send timed out: the server closed its side.
                _wait_for_metric(srv, "actorflow_websocket_clients 0.0")
        finally:
            slow.close()
        # On trio, Hypercorn shields socket writes, so the stalled connection's task
        # ends only when the socket does (the run was never held up by it).
        _wait_for_metric(srv, "actorflow_websocket_clients 0.0")


def _wait_for_metric(srv: Server, line: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in httpx.get(srv.url + "/metrics").text:
            return
        time.sleep(0.1)
    raise AssertionError(f"metric {line!r} not seen within {timeout}s")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_releases_a_running_run_and_a_restart_resumes_it(backend: str, kind: str,
                                                                  tmp_path: Path) -> None:
    graph = {"name": "slow", "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {"a": 1}}},
        {"name": "b", "tool": "delay", "config": {"seconds": 2}},
        {"name": "c", "tool": "set", "config": {"values": {"done": True}}}],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]}
    with database(kind, tmp_path) as url:
        with server(backend, url, tmp_path) as first, \
                httpx.Client(base_url=first.url, timeout=30) as http:
            graph_id = http.post("/api/v1/graph/create", json=graph).json()["graph_id"]
            run_id = http.post("/api/v1/graph/run", json={"graph_id": graph_id}).json()["run_id"]
            with connect_ws(f"{first.ws_url}/api/v1/graph/ws/{run_id}", http) as ws:
                while True:  # wait until b runs
                    m = json.loads(ws.receive_text(timeout=10))
                    if m.get("event") == "node_started" and m["node"] == "b":
                        break
                assert first.terminate() == 0
                tail = []
                while not tail or tail[-1]["type"] == "log":
                    tail.append(json.loads(ws.receive_text(timeout=10)))
                assert tail[-1]["type"] == "released", tail
        with server(backend, url, tmp_path) as second, \
                httpx.Client(base_url=second.url, timeout=30) as http:
            done = http.get(f"/api/v1/runs/{run_id}/wait?timeout=20").json()
            assert done["status"] == "completed", done
            assert done["current_state"] == {"a": 1, "done": True}
            replay = _messages(f"{second.ws_url}/api/v1/graph/ws/{run_id}", http)
            events = [m.get("event") for m in replay]
            assert "run_released" in events and "run_resumed" in events
            assert replay[-1]["type"] == "complete"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_run_is_logged_and_its_detail_carries_the_traceback(backend: str,
                                                                      tmp_path: Path) -> None:
    graph = {"name": "fails", "nodes": [
        {"name": "parse", "tool": "fail", "config": {"error": "ValueError",
                                                     "message": "bad amount"}}]}
    with server(backend, sqlite_url(tmp_path), tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        graph_id = http.post("/api/v1/graph/create", json=graph).json()["graph_id"]
        run_id = http.post("/api/v1/graph/run", json={"graph_id": graph_id}).json()["run_id"]
        assert http.get(f"/api/v1/runs/{run_id}/wait?timeout=30").json()["status"] == "failed"
        failure = http.get(f"/api/v1/runs/{run_id}").json()["failure"]
        log = srv.log()
    assert (failure["type"], failure["node"], failure["attempt"]) == ("ValueError", "parse", 1)
    assert "ValueError: bad amount" in failure["traceback"]
    assert f"run {run_id} of graph 'fails' failed at node 'parse' (attempt 1)" in log
    assert "Traceback (most recent call last)" in log and "ValueError: bad amount" in log
