"""Tenants on graphs and runs, API keys and the audit log, on memory, SQLite and
PostgreSQL, under asyncio and trio."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _store_support import BACKENDS, KINDS, run_with_store

from runtime.store import (
    AccessStore,
    ApiKeyRecord,
    AuditQuery,
    AuditRecord,
    GraphRecord,
    RunRecord,
    utcnow,
)

params = pytest.mark.parametrize
both = [params("backend", BACKENDS), params("kind", KINDS)]


def parametrized(fn: Any) -> Any:
    for mark in reversed(both):
        fn = mark(fn)
    return fn


@parametrized
def test_graphs_and_runs_carry_their_tenant_and_list_by_it(kind: str, backend: str,
                                                         tmp_path: Path) -> None:
    async def body(store: Any) -> None:
        await store.save_graph(GraphRecord(id="g1", name="one", definition={}, tenant="acme"))
        await store.save_graph(GraphRecord(id="g2", name="two", definition={}))
        await store.create_run(RunRecord(id="r1", graph_name="one", tenant="acme"))
        await store.create_run(RunRecord(id="r2", graph_name="two"))
        await store.flush()
        assert (await store.get_graph("g1")).tenant == "acme"
        assert (await store.get_run("r2")).tenant == "default"
        assert [g.id for g in await store.list_graphs(tenant="acme")] == ["g1"]
        assert [r.id for r in await store.list_runs(tenant="acme")] == ["r1"]
        assert {r.id for r in await store.list_runs()} == {"r1", "r2"}

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_keys_are_saved_found_by_prefix_updated_and_listed_by_tenant(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Any) -> None:
        assert isinstance(store, AccessStore)
        key = ApiKeyRecord(id="k1", prefix="abcdef012345", hash="h" * 64, name="ci",
                           tenant="acme", scopes=["runs:read", "runs:write"])
        await store.save_key(key)
        await store.save_key(key.model_copy(update={"id": "k2", "prefix": "0123456789ab",
                                                    "tenant": "other"}))
        found = await store.key_by_prefix("abcdef012345")
        assert found is not None and found.scopes == ["runs:read", "runs:write"]
        now = utcnow()
        await store.update_key("k1", last_used_at=now, revoked_at=now + timedelta(hours=1))
        again = await store.get_key("k1")
        assert again is not None and again.revoked_at is not None
        assert abs((again.last_used_at - now).total_seconds()) < 1
        assert [k.id for k in await store.list_keys("acme")] == ["k1"]
        assert {k.id for k in await store.list_keys()} == {"k1", "k2"}
        assert await store.key_by_prefix("nope") is None

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_audit_entries_are_filtered_newest_first_and_pruned(kind: str, backend: str,
                                                           tmp_path: Path) -> None:
    async def body(store: Any) -> None:
        old = utcnow() - timedelta(days=10)
        for i, (tenant, outcome) in enumerate([("acme", "ok"), ("acme", "denied"),
                                               ("other", "ok")]):
            store.append_audit(AuditRecord(ts=old if i == 0 else utcnow(), tenant=tenant,
                                           actor=f"k{i}", actor_kind="key", ip="127.0.0.1",
                                           action="POST /x", outcome=outcome, status=200))
        acme = await store.list_audit(AuditQuery(tenant="acme"))
        assert [a.actor for a in acme] == ["k1", "k0"]
        denied = await store.list_audit(AuditQuery(tenant="acme", outcome="denied"))
        assert [a.actor for a in denied] == ["k1"]
        recent = await store.list_audit(AuditQuery(since=utcnow() - timedelta(days=1)))
        assert {a.actor for a in recent} == {"k1", "k2"}
        assert await store.prune_audit(older_than_seconds=86400) == 1
        assert {a.actor for a in await store.list_audit(AuditQuery())} == {"k1", "k2"}

    run_with_store(kind, backend, tmp_path, body)
