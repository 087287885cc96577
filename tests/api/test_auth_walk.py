"""Every route, walked: each has an authorization decision, another tenant's resources
answer exactly like missing ones, and each missing scope is refused.

The walk reads the routes from the app's OpenAPI document and its URL map, so a route
added later is walked too; one without a decision in ``api/auth/policy.py``, or not
classified below by what another tenant's resource looks like on it, fails here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from _api_support import serving
from _auth_support import APPROVAL, bearer, handshake_refusal, make_key, start_waiting
from quart.testing.connections import WebsocketDisconnectError

from api import create_app
from api.auth import ALL_SCOPES, decision
from runtime.store import MemoryStore

#: How each operation meets another tenant's resources. "resource": its path names one
#: (answers 404 like an unknown one); "list": it lists the caller's tenant only; "body":
#: its body names one (start_run's graph); "none": no other tenant's resource can be
#: named through it (it acts on the caller's own tenant or on nothing stored).
CROSS_TENANT: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/graph/create"): "none",
    ("POST", "/api/v1/graph/validate"): "none",
    ("GET", "/api/v1/graph/{graph_id}"): "resource",
    ("GET", "/api/v1/graphs"): "list",
    ("GET", "/api/v1/graphs/{graph_id}/mermaid"): "resource",
    ("POST", "/api/v1/graph/run"): "body",
    ("GET", "/api/v1/graph/state/{run_id}"): "resource",
    ("GET", "/api/v1/runs"): "list",
    ("GET", "/api/v1/runs/{run_id}"): "resource",
    ("POST", "/api/v1/runs/{run_id}/cancel"): "resource",
    ("GET", "/api/v1/runs/{run_id}/wait"): "resource",
    ("GET", "/api/v1/runs/{run_id}/history"): "resource",
    ("GET", "/api/v1/runs/{run_id}/interrupts"): "resource",
    ("POST", "/api/v1/runs/{run_id}/resume"): "resource",
    ("GET", "/api/v1/runs/{run_id}/history/{step}"): "resource",
    ("POST", "/api/v1/runs/{run_id}/state"): "resource",
    ("POST", "/api/v1/runs/{run_id}/fork"): "resource",
    ("POST", "/api/v1/runs/{run_id}/replay"): "resource",
    ("GET", "/api/v1/runs/{run_id}/subgraphs"): "resource",
    ("POST", "/api/v1/threads"): "none",
    ("GET", "/api/v1/threads"): "list",
    ("GET", "/api/v1/threads/{thread_id}"): "resource",
    ("DELETE", "/api/v1/threads/{thread_id}"): "resource",
    ("GET", "/api/v1/threads/{thread_id}/state"): "resource",
    ("POST", "/api/v1/threads/{thread_id}/runs"): "resource",
    ("GET", "/api/v1/threads/{thread_id}/runs"): "resource",
    ("GET", "/api/v1/threads/{thread_id}/history"): "resource",
    ("POST", "/api/v1/threads/{thread_id}/copy"): "resource",
    ("GET", "/health"): "none",
    ("GET", "/api/v1/tools"): "none",
    ("GET", "/api/v1/auth/whoami"): "none",
    ("POST", "/api/v1/ws-tickets"): "none",
    ("POST", "/api/v1/keys"): "none",
    ("GET", "/api/v1/keys"): "list",
    ("POST", "/api/v1/keys/{key_id}/revoke"): "resource",
    ("POST", "/api/v1/keys/{key_id}/rotate"): "resource",
    ("GET", "/api/v1/audit"): "list",
}

#: A body each write accepts (so a refusal is the door's, not the body check's).
BODIES: dict[str, Any] = {
    "/api/v1/graph/create": {"name": "walk_new", "nodes": [{"name": "a", "tool": "set"}]},
    "/api/v1/runs/{run_id}/resume": {"answer": True},
    "/api/v1/runs/{run_id}/state": {"values": {"draft": "v2"}},
    "/api/v1/runs/{run_id}/fork": {},
    "/api/v1/runs/{run_id}/replay": {},
    "/api/v1/keys": {"name": "k", "scopes": ["runs:read"]},
    "/api/v1/keys/{key_id}/rotate": {},
    "/api/v1/threads": {},
    "/api/v1/threads/{thread_id}/runs": {"graph_id": "approval", "input": {}},
    "/api/v1/threads/{thread_id}/copy": {},
}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


def _endpoint(app: Any, method: str, path: str) -> str:
    flask_path = re.sub(r"\{(\w+)\}", r"<\1>", path)
    adapter = app.url_map.bind("localhost")
    probe = re.sub(r"<(\w+)>", lambda m: "0" if m.group(1) == "step" else "x", flask_path)
    endpoint, _ = adapter.match(probe, method=method)
    return str(endpoint)


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def test_every_route_of_the_app_has_an_auth_decision() -> None:
    app = create_app(make_settings_for_walk())
    missing = [f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
               if decision(rule.endpoint) is None]
    assert missing == [], f"routes without a decision in api/auth/policy.py: {missing}"


async def test_a_route_without_a_decision_is_refused(anyio_backend: str) -> None:
    from quart import Blueprint

    app = create_app(make_settings_for_walk(backend=anyio_backend), store=MemoryStore())
    extra = Blueprint("extra", __name__)

    @extra.get("/api/v1/forgotten")
    async def forgotten() -> str:
        return "should never be served"

    app.register_blueprint(extra)
    assert decision("extra.forgotten") is None
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/api/v1/forgotten")
        assert response.status_code == 403
        assert (await response.get_json())["error"]["code"] == "no_auth_decision"


def make_settings_for_walk(backend: str = "asyncio") -> Any:
    from _api_support import make_settings

    return make_settings(backend, auth="keys")


async def _setup(client: Any, store: MemoryStore) -> dict[str, Any]:
    """Tenant b's graph, waiting run and key; tenant a's all-scope key."""
    b_key, b_key_id = await make_key(store, "b")
    a_key, _ = await make_key(store, "a")
    graph_id, run_id = await start_waiting(client, bearer(b_key), APPROVAL)
    thread = await client.post("/api/v1/threads", json={}, headers=bearer(b_key))
    assert thread.status_code == 201, await thread.get_json()
    thread_id = (await thread.get_json())["thread_id"]
    return {"a": bearer(a_key), "b": bearer(b_key),
            "ids": {"run_id": run_id, "graph_id": graph_id, "key_id": b_key_id, "step": "0",
                    "thread_id": thread_id}}


async def _call(client: Any, method: str, path: str, headers: dict[str, str],
                template: str) -> Any:
    if method == "GET":
        return await client.get(path, headers=headers)
    if method == "DELETE":
        return await client.delete(path, headers=headers)
    return await client.post(path, headers=headers, json=BODIES.get(template, {}))


async def test_every_route_hides_another_tenants_resources(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        world = await _setup(client, store)
        spec = await (await client.get("/openapi.json")).get_json()
        ops = _operations(spec)
        unclassified = set(ops) - set(CROSS_TENANT)
        assert not unclassified, f"classify these operations in CROSS_TENANT: {unclassified}"
        ids, unknown = world["ids"], {k: ("0" if k == "step" else "no-such-id")
                                       for k in world["ids"]}
        # Lists first: tenant a's own audit entries name the ids it probes afterwards.
        for method, template in sorted(ops, key=lambda op: CROSS_TENANT[op] != "list"):
            kind = CROSS_TENANT[(method, template)]
            if kind == "resource":
                theirs = await _call(client, method, _fill(template, ids), world["a"], template)
                missing = await _call(client, method, _fill(template, unknown), world["a"],
                                      template)
                assert theirs.status_code == 404, (method, template, theirs.status_code)
                assert missing.status_code == 404, (method, template)
                a, b = await theirs.get_json(), await missing.get_json()
                for body in (a, b):
                    body["error"].pop("request_id", None)
                leaked = json.dumps(a).replace(ids.get("run_id", "?"), "no-such-id")
                for name in ("graph_id", "key_id", "thread_id"):
                    leaked = leaked.replace(ids[name], "no-such-id")
                assert json.loads(leaked) == b, (method, template)
            elif kind == "list":
                answer = await client.get(template, headers=world["a"])
                assert answer.status_code == 200, (template, await answer.get_json())
                listed = await answer.get_json()
                text = json.dumps(listed)
                assert all(item.get("tenant", "a") == "a" for item in listed["items"])
                for name in ("run_id", "graph_id", "key_id", "thread_id"):
                    assert ids[name] not in text, (template, name)
        started = await client.post("/api/v1/graph/run", headers=world["a"],
                                    json={"graph_id": ids["graph_id"]})
        assert started.status_code == 404
        assert (await started.get_json())["error"]["code"] == "graph_not_found"
        # and tenant b still sees everything of its own
        own = await client.get(f"/api/v1/runs/{ids['run_id']}", headers=world["b"])
        assert own.status_code == 200


async def test_every_route_refuses_each_missing_scope(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        world = await _setup(client, store)
        spec = await (await client.get("/openapi.json")).get_json()
        app_ops = _operations(spec)
        checked = 0
        for method, template in app_ops:
            rule = decision(_endpoint(client.app, method, template))
            assert rule is not None
            path = _fill(template, world["ids"])
            if rule.public:
                answer = await _call(client, method, path, {}, template)
                assert answer.status_code not in (401, 403), (method, template)
                continue
            anonymous = await _call(client, method, path, {}, template)
            assert anonymous.status_code == 401, (method, template, anonymous.status_code)
            assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
            if not rule.scope:
                continue
            key, _ = await make_key(store, "b", ALL_SCOPES - {rule.scope}, name="lacking")
            answer = await _call(client, method, path, bearer(key), template)
            assert answer.status_code == 403, (method, template, answer.status_code)
            error = (await answer.get_json())["error"]
            assert error["details"] == {"missing_scope": rule.scope}
            assert rule.scope in error["message"]
            checked += 1
        assert checked >= 20


async def test_the_websocket_hides_another_tenants_run_and_needs_its_scope(
        anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        world = await _setup(client, store)
        run_id = world["ids"]["run_id"]
        closes = []
        for rid in (run_id, "no-such-id"):
            async with client.websocket(f"/api/v1/graph/ws/{rid}",
                                        headers=world["a"]) as ws:
                with pytest.raises(WebsocketDisconnectError) as info:
                    await ws.receive()
                closes.append(info.value.args[0])
        assert closes == [4404, 4404]
        assert await handshake_refusal(client, f"/api/v1/graph/ws/{run_id}", {}) == 401
        lacking, _ = await make_key(store, "b", ALL_SCOPES - {"runs:read"})
        assert await handshake_refusal(client, f"/api/v1/graph/ws/{run_id}",
                                       bearer(lacking)) == 403
        async with client.websocket(f"/api/v1/graph/ws/{run_id}", headers=world["b"]) as ws:
            first = json.loads(await ws.receive())
        assert first["type"] == "log" and first["seq"] == 0


async def test_guarded_operations_declare_bearer_security_and_the_refusals(
        anyio_backend: str) -> None:
    async with serving(anyio_backend, auth="keys") as client:
        text = (await (await client.get("/openapi.json")).get_data()).decode()

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
        return dict(pairs)

    spec = json.loads(text, object_pairs_hook=no_duplicates)
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path == "/health":
                assert "security" not in op
                continue
            assert op["security"] == [{"bearer": []}], (method, path)
            assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
