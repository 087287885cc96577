"""Limits: request rates per key and per IP, WebSocket feeds per key, runs per tenant,
graph size and condition bounds, max_steps and default wall time, ``delay`` refusing
``inf``, and bounded ``/metrics`` labels. Each refusal names its limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio

from _api_support import SEED_CREATE, chain_graph, serving
from _auth_support import APPROVAL, bearer, handshake_refusal, make_key, start_waiting

from api.metrics import MAX_NODE_LABELS, Metrics
from runtime import EventType
from runtime.events import Event
from runtime.store import GraphRecord, MemoryStore

# A rate so low no token comes back during a test: only the burst counts.
NO_REFILL = 1e-6


async def _error(response: Any) -> dict[str, Any]:
    return dict((await response.get_json())["error"])


async def test_a_key_past_its_rate_gets_429_with_retry_after(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys", rate_per_key=NO_REFILL,
                       rate_burst=3, rate_per_ip=0) as client:
        key, _ = await make_key(store, "acme")
        other, _ = await make_key(store, "acme", name="other")
        answers = [await client.get("/api/v1/runs", headers=bearer(key)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        error = await _error(answers[-1])
        assert error["details"]["limit"] == "rate_per_key" and "rate_per_key" in error["message"]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        # another key is not held back by the first one's bucket
        assert (await client.get("/api/v1/runs", headers=bearer(other))).status_code == 200


async def test_an_address_past_its_rate_gets_429_before_authentication(
        anyio_backend: str) -> None:
    async with serving(anyio_backend, auth="keys", rate_per_ip=NO_REFILL, rate_burst=2,
                       rate_per_key=0) as client:
        answers = [await client.get("/api/v1/runs") for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert (await _error(answers[-1]))["details"]["limit"] == "rate_per_ip"


async def test_websocket_feeds_per_key_are_bounded(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys", max_ws_per_key=1) as client:
        key, _ = await make_key(store, "acme")
        _, run_id = await start_waiting(client, bearer(key), APPROVAL)
        path = f"/api/v1/graph/ws/{run_id}"
        async with client.websocket(path, headers=bearer(key)) as first:
            await first.receive()
            assert await handshake_refusal(client, path, bearer(key)) == 429
        # closed: the slot is free again (the feed of a waiting run stays open, so the
        # second one is accepted and sends its first event)
        async with client.websocket(path, headers=bearer(key)) as again:
            assert await again.receive()


async def _until(store: MemoryStore, run_id: str, status: str) -> None:
    """Until the run has ``status`` (its task runs on the app's loop meanwhile)."""
    with anyio.fail_after(10):
        while (record := await store.get_run(run_id)) is None or record.status != status:
            await anyio.sleep(0.01)


async def _slow_graph(client: Any, key: str, name: str) -> str:
    created = await client.post("/api/v1/graph/create", headers=bearer(key),
                                json=chain_graph(name, delay=30))
    return str((await created.get_json())["graph_id"])


async def _start(client: Any, key: str, graph_id: str) -> Any:
    return await client.post("/api/v1/graph/run", headers=bearer(key),
                             json={"graph_id": graph_id})


async def _cancel_all(client: Any, store: MemoryStore, keys: dict[str, str]) -> None:
    for run in await store.list_runs():
        await client.post(f"/api/v1/runs/{run.id}/cancel", headers=bearer(keys[run.tenant]))


async def test_running_runs_per_tenant_are_bounded_and_other_tenants_go_on(
        anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys",
                       max_running_runs_per_tenant=1) as client:
        keys = {t: (await make_key(store, t))[0] for t in ("acme", "other")}
        graphs = {t: await _slow_graph(client, keys[t], "slow") for t in keys}
        first = await _start(client, keys["acme"], graphs["acme"])
        await _until(store, (await first.get_json())["run_id"], "running")
        second = await _start(client, keys["acme"], graphs["acme"])
        assert second.status_code == 429
        error = await _error(second)
        assert error["details"]["limit"] == "max_running_runs_per_tenant"
        assert "1 runs running" in error["message"] and "retry" in error["message"]
        assert int(second.headers["Retry-After"]) >= 1
        # the other tenant is not held back by acme's runs
        assert (await _start(client, keys["other"], graphs["other"])).status_code == 202
        await _cancel_all(client, store, keys)


async def test_queued_runs_per_tenant_are_bounded_apart_from_running_ones(
        anyio_backend: str) -> None:
    store = MemoryStore()
    # One run executes at a time: the second waits for its slot (pending, queued).
    async with serving(anyio_backend, store=store, auth="keys", max_concurrent_runs=1,
                       max_running_runs_per_tenant=5, max_queued_runs_per_tenant=1) as client:
        keys = {"acme": (await make_key(store, "acme"))[0]}
        graph_id = await _slow_graph(client, keys["acme"], "slow")
        first = await _start(client, keys["acme"], graph_id)
        await _until(store, (await first.get_json())["run_id"], "running")
        queued = await _start(client, keys["acme"], graph_id)
        assert queued.status_code == 202  # running: 1 of 5; queued: 0 of 1
        refused = await _start(client, keys["acme"], graph_id)
        assert refused.status_code == 429
        error = await _error(refused)
        assert error["details"]["limit"] == "max_queued_runs_per_tenant"
        assert error["details"]["value"] == 1 and "queued" in error["message"]
        assert refused.headers["Retry-After"]
        await _cancel_all(client, store, keys)


class _GatedCounts(MemoryStore):
    """A MemoryStore whose count of a tenant's runs answers once ``gate`` opens (so that
    starts overlap for sure), counting the queries."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = anyio.Event()
        self.count_queries = 0

    async def count_runs_by_status(self, statuses: Sequence[str], *,
                                   tenant: str | None = None) -> dict[str, int]:
        self.count_queries += 1
        await self.gate.wait()
        return await super().count_runs_by_status(statuses, tenant=tenant)


async def test_starts_arriving_together_share_one_count_and_keep_the_bound(
        anyio_backend: str) -> None:
    store = _GatedCounts()
    store.gate.set()  # creating the key and the graph counts nothing
    async with serving(anyio_backend, store=store, auth="keys", max_concurrent_runs=1,
                       max_running_runs_per_tenant=5, max_queued_runs_per_tenant=2) as client:
        key, _ = await make_key(store, "acme")
        graph_id = await _slow_graph(client, key, "slow")
        store.gate = anyio.Event()
        answers: list[Any] = []

        async def start() -> None:
            answers.append(await _start(client, key, graph_id))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(start)
            await anyio.wait_all_tasks_blocked()  # all five wait for the one query
            store.gate.set()
        assert store.count_queries == 1
        # Each start saw the runs admitted before it: two fit the queued bound of 2.
        assert sorted(a.status_code for a in answers) == [202, 202, 429, 429, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert (await _error(refused))["details"]["limit"] == "max_queued_runs_per_tenant"
        await _cancel_all(client, store, {"acme": key})


async def test_forks_count_against_the_tenants_runs(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys",
                       max_running_runs_per_tenant=1) as client:
        key, _ = await make_key(store, "acme")
        _, waiting = await start_waiting(client, bearer(key), APPROVAL)  # waiting: not counted
        running = await _start(client, key, await _slow_graph(client, key, "slow"))
        assert running.status_code == 202
        await _until(store, (await running.get_json())["run_id"], "running")
        fork = await client.post(f"/api/v1/runs/{waiting}/fork", json={}, headers=bearer(key))
        assert fork.status_code == 429
        assert (await _error(fork))["details"]["limit"] == "max_running_runs_per_tenant"
        await _cancel_all(client, store, {"acme": key})


async def test_graph_size_and_condition_bounds_name_the_limit(anyio_backend: str) -> None:
    async with serving(anyio_backend, max_graph_nodes=3, max_graph_edges=2,
                       max_expression_chars=40, max_expression_depth=4) as client:
        nodes = [{"name": f"n{i}", "tool": "set"} for i in range(4)]
        cases = {
            "max_graph_nodes": {"name": "big", "nodes": nodes},
            "max_graph_edges": {"name": "edgy", "nodes": nodes[:2], "edges": [
                {"from": "n0", "to": "n1"}] * 3},
            "max_expression_chars": {"name": "long", "nodes": nodes[:2], "edges": [
                {"from": "n0", "to": "n1", "condition": "x < " + "1" * 60}]},
            "max_expression_depth": {"name": "deep", "nodes": nodes[:2], "edges": [
                {"from": "n0", "to": "n1", "condition": "(" * 8 + "x" + ")" * 8}]},
        }
        for limit, graph in cases.items():
            answer = await client.post("/api/v1/graph/create", json=graph)
            assert answer.status_code == 400, limit
            error = await _error(answer)
            assert error["code"] == "limit_exceeded" and error["details"]["limit"] == limit
            assert f"ACTORFLOW_{limit.upper()}" in error["message"]


async def test_max_steps_is_capped_and_runs_get_a_default_wall_time(
        anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, max_steps_cap=1000,
                       default_run_timeout=120, max_initial_state_bytes=100) as client:
        created = await (await client.post("/api/v1/graph/create", json=SEED_CREATE)
                         ).get_json()
        huge = await client.post("/api/v1/graph/run", json={
            "graph_id": created["graph_id"], "max_steps": 5000})
        assert huge.status_code == 400
        assert (await _error(huge))["details"]["limit"] == "max_steps_cap"
        fat = await client.post("/api/v1/graph/run", json={
            "graph_id": created["graph_id"], "initial_state": {"blob": "x" * 200}})
        assert fat.status_code == 400
        assert (await _error(fat))["details"]["limit"] == "max_initial_state_bytes"
        started = await (await client.post("/api/v1/graph/run", json={
            "graph_id": created["graph_id"]})).get_json()
        record = await store.get_run(started["run_id"])
        assert record is not None and record.options["timeout"] == 120


async def test_delay_refuses_an_infinite_wait(anyio_backend: str) -> None:
    graph = {"name": "forever", "nodes": [
        {"name": "wait", "tool": "delay", "config": {"seconds": "inf"}}]}
    # Stored before configs were checked at create (which now refuses it: not a number),
    # so the tool's own check still stands between such a graph and a wait forever.
    store = MemoryStore()
    await store.save_graph(GraphRecord(id="g-forever", name="forever", definition=graph))
    async with serving(anyio_backend, store=store) as client:
        refused = await client.post("/api/v1/graph/create", json={**graph, "name": "again"})
        assert refused.status_code == 400
        assert (await refused.get_json())["error"]["details"]["problems"] == [
            'node \'wait\': config.seconds: "inf" is a string, not a number']
        started = await (await client.post("/api/v1/graph/run", json={
            "graph_id": "g-forever"})).get_json()
        done = await (await client.get(f"/api/v1/runs/{started['run_id']}/wait?timeout=10")
                      ).get_json()
        assert done["status"] == "failed"
        assert "finite" in done["error"]


def test_metrics_keep_a_bounded_number_of_node_series() -> None:
    metrics = Metrics(lambda: None)
    for i in range(MAX_NODE_LABELS + 200):
        metrics.observe(Event(run_id="r", seq=i, type=EventType.NODE_COMPLETED, ts=0.0,
                              node=f"n{i}",
                              data={"duration_ms": 1.0}))
    text = metrics.render().decode()
    series = {line.split('node="')[1].split('"')[0] for line in text.splitlines()
              if line.startswith("actorflow_node_duration_seconds_count")}
    assert len(series) == MAX_NODE_LABELS + 1 and "_other" in series
    assert metrics.request_method("BREW") == "OTHER"


async def test_an_event_above_the_websocket_bound_is_sent_as_a_stub(anyio_backend: str) -> None:
    import json

    async with serving(anyio_backend, ws_max_event_bytes=2048) as client:
        graph = {"name": "fat", "nodes": [
            {"name": "big", "tool": "set", "config": {"values": {"blob": "x" * 5000}}}]}
        created = await (await client.post("/api/v1/graph/create", json=graph)).get_json()
        started = await (await client.post("/api/v1/graph/run", json={
            "graph_id": created["graph_id"]})).get_json()
        await client.get(f"/api/v1/runs/{started['run_id']}/wait?timeout=10")
        messages = []
        async with client.websocket(f"/api/v1/graph/ws/{started['run_id']}") as ws:
            while not messages or messages[-1]["type"] != "complete":
                raw = await ws.receive()
                assert len(raw.encode()) <= 2048
                messages.append(json.loads(raw))
    stubs = [m for m in messages if m.get("truncated")]
    assert stubs and all("ws_max_event_bytes=2048" in m["message"] for m in stubs)
    assert [m["seq"] for m in messages] == list(range(len(messages)))  # none skipped
