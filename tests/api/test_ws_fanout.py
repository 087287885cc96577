"""Many WebSocket readers on one run (issue 10, item 5), end to end: a real ``actorflow
serve`` on each backend, real clients on loopback. Every reader of many gets every
message of the run, in order, in one JSON message per frame as before, whether its
connection is plain (frames encoded once and shared, several per write) or compressed
(permessage-deflate: each frame encoded by its own connection)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from _server import server, sqlite_url
from httpx_ws import aconnect_ws
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, CloseConnection, Request, TextMessage)
from wsproto.extensions import PerMessageDeflate

pytestmark = pytest.mark.slow

BACKENDS = ["asyncio", "trio"]
READERS = 40
STEPS = 60


def _gated_loop(steps: int) -> dict[str, Any]:
    """Waits for an answer (the readers connect meanwhile), then loops ``steps`` times."""
    return {
        "name": "fanout", "reducers": {"count": "add"},
        "nodes": [{"name": "gate", "tool": "ask", "config": {"question": "go?", "key": "go"}},
                  {"name": "tick", "tool": "set", "config": {"values": {"count": 1}}}],
        "edges": [{"from": "gate", "to": "tick"},
                  {"from": "tick", "to": "tick", "condition": f"count < {steps}"},
                  {"from": "tick", "to": "__end__"}],
    }


async def _read_all(url: str, joined: list[int]) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with httpx.AsyncClient() as http, \
            aconnect_ws(url, http, keepalive_ping_interval_seconds=None) as ws:
        joined.append(1)
        while True:
            message = json.loads(await ws.receive_text(timeout=60))
            got.append(message)
            if message["type"] == "complete":
                return got


def _deflate_reader(port: int, path: str, joined: list[int]) -> list[dict[str, Any]]:
    """A client that asks for permessage-deflate, as browsers do (wsproto on a socket)."""
    ws = WSConnection(ConnectionType.CLIENT)
    got: list[dict[str, Any]] = []
    parts: list[str] = []
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(ws.send(Request(host=f"127.0.0.1:{port}", target=path,
                                     extensions=[PerMessageDeflate()])))
        while True:
            data = sock.recv(65536)
            assert data, "the server closed before the run's complete message"
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    assert event.extensions and event.extensions[0].name == "permessage-deflate"
                    joined.append(1)
                elif isinstance(event, TextMessage):
                    parts.append(event.data)
                    if event.message_finished:
                        got.append(json.loads("".join(parts)))
                        parts.clear()
                        if got[-1]["type"] == "complete":
                            return got
                elif isinstance(event, CloseConnection):
                    raise AssertionError(f"closed before complete: {event.code}")


def _counter(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found is not None, f"{name} not in /metrics"
    return float(found.group(1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_reader_of_many_gets_every_message_in_order(backend: str, tmp_path: Path
                                                          ) -> None:
    with server(backend, sqlite_url(tmp_path), tmp_path, max_ws_per_key=READERS + 10
                ) as srv, httpx.Client(base_url=srv.url, timeout=60) as http:
        graph_id = http.post("/api/v1/graph/create", json=_gated_loop(STEPS)).json()["graph_id"]
        run_id = http.post("/api/v1/graph/run", json={"graph_id": graph_id}).json()["run_id"]
        assert http.get(f"/api/v1/runs/{run_id}/wait?timeout=30").json()["status"] == "waiting"
        path = f"/api/v1/graph/ws/{run_id}"
        results: list[list[dict[str, Any]]] = []
        deflated: list[list[dict[str, Any]]] = []

        async def readers() -> None:
            joined: list[int] = []

            async def plain() -> None:
                results.append(await _read_all(srv.ws_url + path, joined))

            async def compressed() -> None:
                deflated.append(await anyio.to_thread.run_sync(
                    _deflate_reader, srv.port, path, joined))

            async with anyio.create_task_group() as tg:
                for _ in range(READERS):
                    tg.start_soon(plain)
                tg.start_soon(compressed)
                while len(joined) < READERS + 1:
                    await anyio.sleep(0.01)
                # Every reader is in: the run goes on.
                await anyio.to_thread.run_sync(lambda: http.post(
                    f"/api/v1/runs/{run_id}/resume", json={"answer": True}))

        anyio.run(readers)
        done = http.get(f"/api/v1/runs/{run_id}/wait?timeout=60").json()
        assert done["status"] == "completed", done

        # The finished run's log, read by one client alone (one send per message).
        alone = anyio.run(_read_all, srv.ws_url + path, [])
        assert alone[-1]["type"] == "complete" and alone[-1]["final_state"]["count"] == STEPS
        assert [m["seq"] for m in alone] == list(range(len(alone)))
        assert len(alone) > 3 * STEPS
        assert len(results) == READERS and len(deflated) == 1
        for got in [*results, *deflated]:
            assert got == alone   # every message, in order, each in a frame of its own

        # The readers that joined late got what they missed several frames a write.
        metrics = http.get("/metrics").text
        frames = _counter(metrics, "actorflow_ws_frames_total")
        writes = _counter(metrics, "actorflow_ws_writes_total")
        assert frames == (READERS + 1) * len(alone)
        assert writes < frames
