"""The audit log: every write and every refusal, who, what, which resource, outcome, when;
``GET /api/v1/audit`` for admins of the tenant, with filters; retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _api_support import SEED_CREATE, serving
from _auth_support import bearer, make_key
from quart.testing.connections import WebsocketDisconnectError

from runtime.store import AuditQuery, AuditRecord, MemoryStore, open_store, utcnow


async def _audit(client: Any, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    answer = await client.get(f"/api/v1/audit{query}", headers=headers)
    assert answer.status_code == 200, await answer.get_json()
    return list((await answer.get_json())["items"])


async def test_writes_are_audited_with_who_what_and_outcome(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        key, key_id = await make_key(store, "acme")
        created = await client.post("/api/v1/graph/create", json=SEED_CREATE,
                                    headers=bearer(key))
        graph_id = (await created.get_json())["graph_id"]
        started = await client.post("/api/v1/graph/run", json={"graph_id": graph_id},
                                    headers=bearer(key))
        run_id = (await started.get_json())["run_id"]
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10", headers=bearer(key))
        again = await client.post("/api/v1/runs/{run_id}/cancel".format(run_id=run_id),
                                  headers=bearer(key))
        assert again.status_code == 409
        entries = await _audit(client, bearer(key))
    by_action = {e["action"]: e for e in entries}
    made = by_action["POST /api/v1/graph/create"]
    assert (made["actor"], made["actor_kind"], made["tenant"], made["outcome"],
            made["status"], made["resource"]) == (key_id, "key", "acme", "ok", 201,
                                                  f"graph:{graph_id}")
    assert made["ip"] and made["request_id"] and made["ts"]
    run = by_action["POST /api/v1/graph/run"]
    assert (run["resource"], run["status"]) == (f"run:{run_id}", 202)
    cancel = by_action["POST /api/v1/runs/<run_id>/cancel"]
    assert (cancel["outcome"], cancel["status"], cancel["resource"]) == (
        "failed", 409, f"run:{run_id}")
    assert not any(e["action"].startswith("GET /api/v1/runs/") for e in entries)  # reads: no


async def test_refusals_are_audited_and_visible_to_the_tenants_admin_only(
        anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        acme, acme_id = await make_key(store, "acme")
        reader, reader_id = await make_key(store, "acme", {"runs:read"}, name="reader")
        other, _ = await make_key(store, "other")
        created = await client.post("/api/v1/graph/create", json=SEED_CREATE,
                                    headers=bearer(other))
        theirs = (await created.get_json())["graph_id"]
        assert (await client.get("/api/v1/runs")).status_code == 401
        assert (await client.post("/api/v1/graph/create", json=SEED_CREATE,
                                  headers=bearer(reader))).status_code == 403
        assert (await client.get(f"/api/v1/graph/{theirs}", headers=bearer(acme))
                ).status_code == 404
        assert (await client.get("/api/v1/audit", headers=bearer(reader))).status_code == 403
        denied = await _audit(client, bearer(acme), "?outcome=denied")
        other_view = await _audit(client, bearer(other))
        by_reader = await _audit(client, bearer(acme), f"?actor={reader_id}")
    kinds = {(e["action"], e["status"], e["actor"]) for e in denied}
    assert ("POST /api/v1/graph/create", 403, reader_id) in kinds
    assert ("GET /api/v1/graph/<graph_id>", 404, acme_id) in kinds
    assert ("GET /api/v1/audit", 403, reader_id) in kinds
    hidden = next(e for e in denied if e["status"] == 404)
    assert hidden["resource"] == f"graph:{theirs}" and "another tenant" in hidden["detail"]
    assert all(e["tenant"] == "acme" for e in denied)
    assert {e["actor"] for e in by_reader} == {reader_id}
    # the other tenant's admin sees its own write, none of acme's refusals
    assert [e["action"] for e in other_view] == ["POST /api/v1/graph/create"]
    # an anonymous refusal is the operator's (default tenant) to see
    anonymous = await store.list_audit(AuditQuery(tenant="default", actor="anonymous"))
    assert [(e.action, e.status) for e in anonymous] == [("GET /api/v1/runs", 401)]


async def test_audit_filters_by_action_and_time(anyio_backend: str) -> None:
    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        key, _ = await make_key(store, "acme")
        await client.post("/api/v1/graph/create", json=SEED_CREATE, headers=bearer(key))
        since = utcnow()
        await client.post("/api/v1/ws-tickets", headers=bearer(key))
        action = "POST%20/api/v1/ws-tickets"
        assert len(await _audit(client, bearer(key), f"?action={action}")) == 1
        later = await _audit(client, bearer(key),
                             f"?since={since.isoformat().replace('+00:00', 'Z')}")
        assert [e["action"] for e in later] == ["POST /api/v1/ws-tickets"]
        bad = await client.get("/api/v1/audit?outcome=maybe", headers=bearer(key))
        assert bad.status_code == 400


async def test_old_audit_entries_are_pruned_when_the_server_starts(
        anyio_backend: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    store = open_store(url)
    await store.open()
    for days in (100, 1):
        store.append_audit(AuditRecord(  # type: ignore[attr-defined]
            ts=utcnow() - timedelta(days=days), tenant="acme", actor="k", actor_kind="key",
            action=f"POST /x/{days}", outcome="ok", status=200))
    await store.close()
    async with serving(anyio_backend, store=open_store(url), auth="keys",
                       audit_retention_days=30) as client:
        rows = await client.app.extensions["actorflow"].rt().store.list_audit(
            AuditQuery(tenant="acme"))
    assert [r.action for r in rows] == ["POST /x/1"]


async def test_websocket_refusals_are_audited(anyio_backend: str) -> None:
    from _auth_support import APPROVAL, handshake_refusal, start_waiting

    store = MemoryStore()
    async with serving(anyio_backend, store=store, auth="keys") as client:
        owner, _ = await make_key(store, "acme")
        stranger, stranger_id = await make_key(store, "other")
        _, run_id = await start_waiting(client, bearer(owner), APPROVAL)
        path = f"/api/v1/graph/ws/{run_id}"
        assert await handshake_refusal(client, path, {}) == 401
        async with client.websocket(path, headers=bearer(stranger)) as ws:
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ws.receive()
        assert closed.value.args[0] == 4404  # as for an unknown run
    refused = await store.list_audit(AuditQuery(action="WS /api/v1/graph/ws/<run_id>"))
    assert {(e.actor, e.status, e.outcome) for e in refused} == {
        ("anonymous", 401, "denied"), (stranger_id, 404, "denied")}
    hidden = next(e for e in refused if e.status == 404)
    assert hidden.tenant == "other" and hidden.resource == f"run:{run_id}"
