"""Graph names are per tenant: a tenant may use a name another tenant uses, sees only
its own graph under it (by name, in lists, as a subgraph, when starting a run), and a
409 tells it only about its own graphs."""

from __future__ import annotations

from typing import Any

from _api_support import serving
from _auth_support import bearer, make_key

from runtime.store import MemoryStore


def _graph(value: str) -> dict[str, Any]:
    return {"name": "review", "nodes": [{"name": "a", "tool": "set",
                                         "config": {"values": {"who": value}}}], "edges": []}


def _parent() -> dict[str, Any]:
    return {"name": "outer", "nodes": [{"name": "inner", "subgraph": {"graph": "review", "outputs": {"who": "who"}}}],
            "edges": []}


async def _keys(store: MemoryStore) -> dict[str, dict[str, str]]:
    return {t: bearer((await make_key(store, t))[0]) for t in ("acme", "globex")}


async def _final(client: Any, who: dict[str, str], graph: str) -> dict[str, Any]:
    started = await client.post("/api/v1/graph/run", headers=who, json={"graph_id": graph})
    assert started.status_code == 202, await started.get_json()
    run_id = (await started.get_json())["run_id"]
    waited = await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10", headers=who)
    body = await waited.get_json()
    assert body["status"] == "completed", body
    return dict(body["current_state"])


async def test_a_tenant_creates_a_graph_named_like_another_tenants(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        who = await _keys(store)
        ids = {}
        for tenant, headers in who.items():
            created = await client.post("/api/v1/graph/create", headers=headers,
                                        json=_graph(tenant))
            assert created.status_code == 201, await created.get_json()
            ids[tenant] = (await created.get_json())["graph_id"]
        assert ids["acme"] != ids["globex"]
        for tenant, headers in who.items():
            listed = await (await client.get("/api/v1/graphs", headers=headers)).get_json()
            assert [g["graph_id"] for g in listed["items"]] == [ids[tenant]]
            by_name = await client.get("/api/v1/graph/review", headers=headers)
            assert (await by_name.get_json())["graph_id"] == ids[tenant]
            # a run started by name runs the caller's graph
            assert (await _final(client, headers, "review"))["who"] == tenant
        # neither sees the other's by id
        other = await client.get(f"/api/v1/graph/{ids['globex']}", headers=who["acme"])
        assert other.status_code == 404


async def test_a_name_taken_in_the_callers_own_tenant_is_still_409(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        who = await _keys(store)
        first = await client.post("/api/v1/graph/create", headers=who["acme"],
                                  json=_graph("acme"))
        assert first.status_code == 201
        again = await client.post("/api/v1/graph/create", headers=who["acme"],
                                  json=_graph("acme"))
        assert again.status_code == 409
        # the other tenant learns nothing: the same name is free for it
        theirs = await client.post("/api/v1/graph/create", headers=who["globex"],
                                   json=_graph("globex"))
        assert theirs.status_code == 201


async def test_a_subgraph_named_by_name_is_the_callers_tenants(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        who = await _keys(store)
        await client.post("/api/v1/graph/create", headers=who["acme"], json=_graph("acme"))
        # globex has no graph "review": acme's must not be found for it
        refused = await client.post("/api/v1/graph/create", headers=who["globex"],
                                    json=_parent())
        assert refused.status_code == 400
        assert "review" in str(await refused.get_json())
        await client.post("/api/v1/graph/create", headers=who["globex"], json=_graph("globex"))
        created = await client.post("/api/v1/graph/create", headers=who["globex"],
                                    json=_parent())
        assert created.status_code == 201, await created.get_json()
        assert (await _final(client, who["globex"], "outer"))["who"] == "globex"
