"""Helpers for the auth tests: keys made straight in a store, and headers for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart.testing.connections import WebsocketResponseError

from api.auth import ALL_SCOPES, KeyRing


__all__ = ["APPROVAL", "bearer", "handshake_refusal", "make_key", "start_waiting"]

#: A graph whose runs wait for an answer (so resume, state edits and forks apply).
APPROVAL: dict[str, Any] = {
    "name": "approval",
    "nodes": [
        {"name": "draft", "tool": "set", "config": {"values": {"draft": "v1"}}},
        {"name": "approve", "tool": "ask",
         "config": {"question": "apply the draft?", "key": "approved", "show": ["draft"]}},
        {"name": "done", "tool": "set", "config": {"values": {"done": True}}},
    ],
    "edges": [{"from": "draft", "to": "approve"}, {"from": "approve", "to": "done"}],
}

def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

async def make_key(store: Any, tenant: str, scopes: Iterable[str] = ALL_SCOPES,
                   name: str = "test") -> tuple[str, str]:
    """(key, key id) of a new key of ``tenant`` in ``store``."""
    new = await KeyRing(store).create(name=name, tenant=tenant, scopes=frozenset(scopes))
    return new.key, new.record.id

async def start_waiting(client: Any, headers: dict[str, str], graph: dict[str, Any]
                        ) -> tuple[str, str]:
    """(graph id, run id) of a stored ``graph`` and a run of it that waits for an answer."""
    created = await client.post("/api/v1/graph/create", json=graph, headers=headers)
    assert created.status_code == 201, await created.get_json()
    graph_id = (await created.get_json())["graph_id"]
    started = await client.post("/api/v1/graph/run", headers=headers,
                                json={"graph_id": graph_id, "initial_state": {}})
    assert started.status_code == 202, await started.get_json()
    run_id = (await started.get_json())["run_id"]
    waited = await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10", headers=headers)
    assert (await waited.get_json())["status"] == "waiting"
    return str(graph_id), str(run_id)


async def handshake_refusal(client: Any, path: str, headers: dict[str, str]) -> int | None:
    """The HTTP status a test client's WebSocket handshake was refused with (None if
    accepted). QuartTrio's client raises it inside an exception group."""
    found: list[WebsocketResponseError] = []
    try:
        async with client.websocket(path, headers=headers) as ws:
            await ws.receive()
    except WebsocketResponseError as exc:
        found.append(exc)
    except BaseExceptionGroup as group:
        matched, rest = group.split(WebsocketResponseError)
        if rest is not None or matched is None:
            raise
        found.extend(_leaves(matched))
    return found[0].response.status_code if found else None


def _leaves(group: BaseExceptionGroup[Any]) -> list[Any]:
    out: list[Any] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out
