"""Regressions found in review (HTTP side): bad edits are 400s, never 500s."""

from __future__ import annotations

from typing import Any

from _api_support import serving, start_waiting_run

#: The approval graph of test_hitl, with an ``add`` reducer on ``n``.
COUNTED: dict[str, Any] = {
    "name": "counted_approval",
    "reducers": {"n": "add"},
    "nodes": [
        {"name": "count", "tool": "set", "config": {"values": {"n": 1}}},
        {"name": "approve", "tool": "ask", "config": {"question": "ok?", "key": "approved"}},
    ],
    "edges": [{"from": "count", "to": "approve"}],
}


async def _start_waiting(client: Any) -> str:
    return await start_waiting_run(client, COUNTED)


async def test_a_state_edit_its_reducer_rejects_is_a_400_not_a_500(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _start_waiting(client)
        resp = await client.post(f"/api/v1/runs/{run_id}/state",
                                 json={"values": {"n": "not a number"}})
        body = await resp.get_json()
    assert resp.status_code == 400, (resp.status_code, body)


async def test_a_fork_whose_values_its_reducer_rejects_is_a_400_not_a_500(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _start_waiting(client)
        resp = await client.post(f"/api/v1/runs/{run_id}/fork",
                                 json={"values": {"n": "not a number"}})
        body = await resp.get_json()
    assert resp.status_code == 400, (resp.status_code, body)
