"""Graph names are unique per tenant (migration 8), and runs are counted per tenant and
status in one query: on memory, SQLite and PostgreSQL, under asyncio and trio."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from _store_support import BACKENDS, KINDS, SQL_KINDS, make_store, run_with_store, store_spec

from runtime.status import RunStatus
from runtime.store import GraphExistsError, GraphRecord, RunRecord, Store
from runtime.store import migrations as migrations_module
from runtime.store.schema import MIGRATIONS

params = pytest.mark.parametrize


def graph(name: str, tenant: str, gid: str, value: int = 1) -> GraphRecord:
    return GraphRecord(id=gid, name=name, tenant=tenant,
                       definition={"nodes": [{"name": "a", "tool": "set",
                                              "config": {"values": {"v": value}}}],
                                   "edges": [], "entry_point": "a"})


@params("backend", BACKENDS)
@params("kind", KINDS)
def test_two_tenants_may_each_store_a_graph_of_one_name(kind: str, backend: str,
                                                        tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        await store.save_graph(graph("review", "acme", "g-acme", 1))
        await store.save_graph(graph("review", "globex", "g-globex", 2))
        acme = await store.get_graph("review", tenant="acme")
        globex = await store.get_graph("review", tenant="globex")
        assert acme is not None and acme.id == "g-acme"
        assert globex is not None and globex.id == "g-globex"
        assert await store.get_graph("review", tenant="initech") is None
        # within one tenant the name is still unique
        with pytest.raises(GraphExistsError, match="review"):
            await store.save_graph(graph("review", "acme", "g-acme-2"))
        assert [g.id for g in await store.list_graphs(tenant="acme")] == ["g-acme"]
        # an id names one graph, whoever asks (the API answers 404 for another tenant's)
        by_id = await store.get_graph("g-globex", tenant="acme")
        assert by_id is not None and by_id.tenant == "globex"

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", KINDS)
def test_runs_are_counted_per_tenant_and_status_in_one_call(kind: str, backend: str,
                                                            tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        for i, (tenant, status) in enumerate([
                ("acme", RunStatus.RUNNING), ("acme", RunStatus.RUNNING),
                ("acme", RunStatus.PENDING), ("acme", RunStatus.COMPLETED),
                ("globex", RunStatus.RUNNING)]):
            await store.create_run(RunRecord(id=f"r{i}", graph_name="g", status=status,
                                             tenant=tenant))
        await store.flush()
        assert await store.count_runs_by_status(["running", "pending"], tenant="acme") == {
            "running": 2, "pending": 1}
        assert await store.count_runs_by_status(["running", "waiting"]) == {
            "running": 3, "waiting": 0}

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_migration_8_keeps_stored_graphs_and_makes_names_per_tenant(
        kind: str, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with store_spec(kind, tmp_path) as (url, options):
        async def before_8() -> None:
            # A database as version 7 left it: names unique across tenants.
            monkeypatch.setattr(migrations_module, "MIGRATIONS",
                                [m for m in MIGRATIONS if m[0] < 8])
            store = make_store(url, options)
            await store.open()
            try:
                await store.save_graph(graph("review", "acme", "g-old"))
                with pytest.raises(GraphExistsError):
                    await store.save_graph(graph("review", "globex", "g-blocked"))
            finally:
                await store.close()
            monkeypatch.undo()

        async def after_8() -> None:
            store = make_store(url, options)
            await store.open()
            try:
                kept = await store.get_graph("review", tenant="acme")
                assert kept is not None and kept.id == "g-old"
                await store.save_graph(graph("review", "globex", "g-new"))
                with pytest.raises(GraphExistsError):
                    await store.save_graph(graph("review", "acme", "g-dup"))
            finally:
                await store.close()

        anyio.run(before_8, backend=backend)
        anyio.run(after_8, backend=backend)
