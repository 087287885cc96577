"""A list that grows (an ``append`` reducer's key) travels on the WebSocket as its new
items, and ``values`` rebuilds the whole list from them (issue 10: the whole list per
step made storage and every reader quadratic); through a real server."""

from __future__ import annotations

from _streaming import gate, streaming_stack
from test_ws_streaming import _feed, _start

GROW = {"name": "ws_grow", "entry_point": "grow", "reducers": {"items": "append", "n": "add"},
        "nodes": [{"name": "grow", "tool": "set", "config": {"values": {"items": "x", "n": 1}}}],
        "edges": [{"from": "grow", "to": "grow", "condition": "n < 3"},
                  {"from": "grow", "to": "END"}]}


async def test_updates_carry_the_appended_items_and_values_the_whole_list(
        anyio_backend: str) -> None:
    async with streaming_stack(anyio_backend, "openai") as (client, ws, _):
        run_id = await _start(client, GROW, {"n": 0, "items": ["seed"]})
        gate.open()
        messages = await _feed(client, f"{ws}/api/v1/graph/ws/{run_id}?mode=updates,values")
    updates = [m for m in messages if m["type"] == "update"]
    assert [(m["update"], m["append"]) for m in updates] == [
        ({"n": n}, {"items": ["x"]}) for n in (1, 2, 3)]
    values = [m["data"]["items"] for m in messages if m["type"] == "values"]
    assert values == [["seed", "x"], ["seed", "x", "x"], ["seed", "x", "x", "x"]]
    assert messages[-1]["final_state"]["items"] == ["seed", "x", "x", "x"]
