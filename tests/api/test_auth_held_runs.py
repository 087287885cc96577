"""Another tenant's run that this process holds in memory (running, or just finished)
is as hidden as a stored one: the tenant check answered from memory (no store read,
``api.auth.check_run``) refuses it the same way, and its own tenant still sees it."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from _api_support import serving
from _auth_support import bearer, make_key
from quart.testing.connections import WebsocketDisconnectError

from api.current import SERVICE_KEY
from runtime.store import MemoryStore

SLOW = {"name": "slow_for_b", "nodes": [{"name": "nap", "tool": "delay",
                                         "config": {"seconds": 30}}], "edges": []}
QUICK = {"name": "quick_for_b", "nodes": [{"name": "one", "tool": "set",
                                           "config": {"values": {"x": 1}}}], "edges": []}


async def _start(client: Any, headers: dict[str, str], graph: dict[str, Any],
                 **extra: Any) -> dict[str, Any]:
    created = await client.post("/api/v1/graph/create", json=graph, headers=headers)
    assert created.status_code == 201, await created.get_json()
    graph_id = (await created.get_json())["graph_id"]
    started = await client.post("/api/v1/graph/run", headers=headers,
                                json={"graph_id": graph_id, **extra})
    assert started.status_code in (200, 202), await started.get_json()
    return dict(await started.get_json())


async def _refused(client: Any, run_id: str, headers: dict[str, str]) -> None:
    for path in (f"/api/v1/runs/{run_id}", f"/api/v1/runs/{run_id}/wait?timeout=0",
                 f"/api/v1/graph/state/{run_id}", f"/api/v1/runs/{run_id}/history"):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 404, (path, answer.status_code)
        assert (await answer.get_json())["error"]["code"] == "run_not_found", path
    cancel = await client.post(f"/api/v1/runs/{run_id}/cancel", headers=headers)
    assert cancel.status_code == 404
    async with client.websocket(f"/api/v1/graph/ws/{run_id}", headers=headers) as ws:
        with pytest.raises(WebsocketDisconnectError) as info:
            await ws.receive()
    assert info.value.args[0] == 4404


async def test_another_tenants_running_or_just_finished_run_is_hidden(
        anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        b_key, _ = await make_key(store, "b")
        a_key, _ = await make_key(store, "a")
        b, a = bearer(b_key), bearer(a_key)
        running = (await _start(client, b, SLOW))["run_id"]
        finished = await _start(client, b, QUICK, wait=True)
        assert finished["status"] == "completed"
        # Both are held with their tenant: the checks below take the in-memory path.
        svc = client.app.extensions[SERVICE_KEY]
        assert svc.held_tenant(running) == svc.held_tenant(finished["run_id"]) == "b"
        for run_id in (running, finished["run_id"]):
            await _refused(client, run_id, a)
            own = await client.get(f"/api/v1/runs/{run_id}", headers=b)
            assert own.status_code == 200
        with anyio.fail_after(10):
            cancelled = await client.post(f"/api/v1/runs/{running}/cancel", headers=b)
        assert cancelled.status_code == 202
