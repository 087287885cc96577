"""The WebSocket log feed, through Quart's test client (real sockets: tests/api/test_e2e.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _api_support import SEED_CREATE, chain_graph, serving
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client


async def _run(client: Client, graph: dict[str, Any], **body: Any) -> str:
    created = await (await client.post("/api/v1/graph/create", json=graph)).get_json()
    started = await (await client.post("/api/v1/graph/run",
                                       json={"graph_id": created["graph_id"], **body})).get_json()
    return str(started["run_id"])


async def _messages(client: Client, path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with client.websocket(path) as ws:
        while True:
            try:
                message = json.loads(await ws.receive())
            except WebsocketDisconnectError:
                return out
            out.append(message)
            if message["type"] == "complete":
                return out


async def test_finished_run_replays_every_event_then_completes(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, SEED_CREATE, initial_state={"code": "x"})
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        messages = await _messages(client, f"/api/v1/graph/ws/{run_id}")
        assert [m["seq"] for m in messages] == list(range(len(messages)))
        logs = [(m["node"], m["status"]) for m in messages
                if m["type"] == "log" and m["event"].startswith("node_")]
        assert logs == [("extract", "started"), ("extract", "completed"),
                        ("analyze", "started"), ("analyze", "completed"),
                        ("report", "started"), ("report", "completed")]
        final = messages[-1]
        assert final["type"] == "complete" and final["status"] == "completed"
        assert final["final_state"]["quality_score"] == 85


async def test_live_run_streams_until_complete(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, chain_graph("live", delay=0.2))
        messages = await _messages(client, f"/api/v1/graph/ws/{run_id}")
        assert messages[-1]["type"] == "complete"
        assert messages[-1]["final_state"] == {"a": 1, "done": True}
        assert [m["seq"] for m in messages] == list(range(len(messages)))


async def test_since_skips_the_events_before_it(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, SEED_CREATE)
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        messages = await _messages(client, f"/api/v1/graph/ws/{run_id}?since=4")
        assert messages[0]["seq"] == 4


async def test_failed_run_sends_error_then_complete(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _run(client, chain_graph("fails", fail=True))
        messages = await _messages(client, f"/api/v1/graph/ws/{run_id}")
        error, complete = messages[-2:]
        assert error["type"] == "error" and "boom" in error["message"]
        assert complete == {**complete, "type": "complete", "status": "failed"}
        failed = [m for m in messages if m["type"] == "log" and m["status"] == "failed"]
        assert failed[0]["node"] == "c" and "boom" in failed[0]["error"]


async def test_unknown_run_closes_with_4404(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        async with client.websocket("/api/v1/graph/ws/nope") as ws:
            with pytest.raises(WebsocketDisconnectError) as caught:
                await ws.receive()
        assert caught.value.args[0] == 4404
