"""Audit entries are queued on the store's writer (no database round trip per request);
the guarantee kept: every answered request's entry is in the database once the server
stopped cleanly. A real server (asyncio and trio, SQLite), SIGTERM, then the file."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from _api_support import chain_graph
from _server import server, sqlite_url

from runtime.store import AuditQuery, open_store


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_every_answered_write_is_audited_after_a_clean_stop(backend: str,
                                                           tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    runs = []
    with server(backend, url, tmp_path) as srv, httpx.Client(base_url=srv.url) as http:
        created = http.post("/api/v1/graph/create", json=chain_graph("audited"))
        assert created.status_code == 201
        for _ in range(20):
            started = http.post("/api/v1/graph/run", json={
                "graph_id": created.json()["graph_id"], "wait": True})
            assert started.status_code == 200
            runs.append(started.json()["run_id"])
        assert srv.terminate() == 0  # SIGTERM: a clean stop

    async def entries() -> list[str | None]:
        store = open_store(url)
        await store.open()
        try:
            found = await store.list_audit(AuditQuery(action="POST /api/v1/graph/run"))
        finally:
            await store.close()
        return [e.resource for e in found]

    resources = anyio.run(entries)
    assert sorted(resources) == sorted(f"run:{r}" for r in runs)
