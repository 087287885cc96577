"""Tokens, custom events and the feed's modes on the WebSocket, through a real server:
every token of a streamed answer arrives, in order, with its node and call id."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _streaming import Scripted, chat_graph, gate, streaming_stack
from httpx_ws import WebSocketDisconnect, aconnect_ws

KINDS = pytest.mark.parametrize("kind", ["gemini", "openai"])


async def _start(client: httpx.AsyncClient, graph: dict[str, Any], data: dict[str, Any]) -> str:
    created = await client.post("/api/v1/graph/create", json=graph)
    assert created.status_code == 201, created.text
    started = await client.post("/api/v1/graph/run", json={
        "graph_id": created.json()["graph_id"], "initial_state": data})
    assert started.status_code in (200, 201, 202), started.text
    return str(started.json()["run_id"])


async def _feed(client: httpx.AsyncClient, ws_url: str) -> list[dict[str, Any]]:
    """Every message until ``complete``; opens the gate once subscribed."""
    out: list[dict[str, Any]] = []
    async with aconnect_ws(ws_url, client) as ws:
        while True:
            try:
                message = json.loads(await ws.receive_text(timeout=30))
            except WebSocketDisconnect:
                return out
            out.append(message)
            gate.open()   # the first message came after the server subscribed
            if message["type"] == "complete":
                return out


@KINDS
async def test_every_token_arrives_in_order_before_the_node_s_update(kind: str,
                                                                    anyio_backend: str) -> None:
    prompt = " ".join(f"w{i}" for i in range(40))
    async with streaming_stack(anyio_backend, kind) as (client, ws, _):
        run_id = await _start(client, chat_graph(), {"prompt": prompt})
        messages = await _feed(client, f"{ws}/api/v1/graph/ws/{run_id}?mode=debug,tokens,updates")
    tokens = [m for m in messages if m["type"] == "token"]
    assert [t["index"] for t in tokens] == list(range(len(tokens)))
    assert {t["node"] for t in tokens} == {"chat"}
    assert len({t["call_id"] for t in tokens}) == 1
    reply = "".join(t["text"] for t in tokens)
    assert reply == f"echo: {prompt}"
    update = next(i for i, m in enumerate(messages) if m["type"] == "update")
    assert messages[update]["update"] == {"reply": reply}
    assert max(i for i, m in enumerate(messages) if m["type"] == "token") < update
    assert messages[-1]["final_state"]["reply"] == reply


@KINDS
async def test_a_stream_cut_half_way_is_retried_by_the_node_under_a_new_call_id(
        kind: str, anyio_backend: str) -> None:
    async with streaming_stack(anyio_backend, kind, [Scripted(cut_after=3)]) as (client, ws, _):
        run_id = await _start(client, chat_graph(attempts=2), {"prompt": "a b c d e f"})
        messages = await _feed(client, f"{ws}/api/v1/graph/ws/{run_id}?mode=debug,tokens")
    calls: dict[str, list[str]] = {}
    for m in messages:
        if m["type"] == "token":
            calls.setdefault(m["call_id"], []).append(m["text"])
    first, second = calls   # attempt 1's call, cut; attempt 2's, whole
    assert first.split(":")[2] == "1" and second.split(":")[2] == "2"
    assert 0 < len(calls[first]) <= 3
    assert "".join(calls[second]) == "echo: a b c d e f"
    retrying = [m for m in messages if m["type"] == "log" and m["event"] == "node_retrying"]
    assert len(retrying) == 1 and "broke off" in retrying[0]["error"]
    assert messages[-1]["status"] == "completed"
    assert messages[-1]["final_state"]["reply"] == "echo: a b c d e f"


async def test_modes_choose_what_a_client_gets(anyio_backend: str) -> None:
    async with streaming_stack(anyio_backend, "openai") as (client, ws, _):
        run_id = await _start(client, chat_graph(), {"prompt": "x y"})
        gate.open()   # nothing comes before the write in this mode: don't wait for it
        messages = await _feed(client, f"{ws}/api/v1/graph/ws/{run_id}?mode=values")
        # values only: the whole data after each write, then the closing message.
        assert [m["type"] for m in messages] == ["values", "complete"]
        assert messages[0]["data"] == {"prompt": "x y", "reply": "echo: x y"}
        # A later client of a finished run gets no tokens (live only), but the update.
        later = await _feed(client, f"{ws}/api/v1/graph/ws/{run_id}?mode=tokens,updates")
        assert [m["type"] for m in later] == ["update", "complete"]
        async with aconnect_ws(f"{ws}/api/v1/graph/ws/{run_id}?mode=tokens,everything",
                               client) as bad:
            with pytest.raises(WebSocketDisconnect) as info:
                await bad.receive_text(timeout=10)
        assert info.value.code == 4400 and "everything" in (info.value.reason or "")
