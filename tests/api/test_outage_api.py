"""While the database is unreachable the API refuses new work at once with 503 and
Retry-After, and /health says why. The outage here is SQLite's: another process keeps
the file locked (PostgreSQL outages are in tests/runtime/test_outage.py)."""

from __future__ import annotations

from pathlib import Path

import anyio
from _api_support import SEED_CREATE, serving

from runtime.store.sql import SQLStore
from tests.sqlite_lock import sqlite_locked


async def test_new_runs_get_503_with_retry_after_and_health_says_why_during_an_outage(
        anyio_backend: str, tmp_path: Path) -> None:
    path = tmp_path / "api.db"
    # A timeout of ten minutes: a request that waited for it would hang the test.
    store = SQLStore(f"sqlite:///{path}", unavailable_timeout=600, busy_timeout=0.1)
    async with serving(anyio_backend, store=store) as client:
        created = await client.post("/api/v1/graph/create", json=SEED_CREATE)
        graph_id = (await created.get_json())["graph_id"]
        assert (await client.get("/health")).status_code == 200
        async with sqlite_locked(path):
            with anyio.fail_after(120):
                while True:  # the first refusals confirm the outage
                    response = await client.post("/api/v1/graph/run",
                                                 json={"graph_id": graph_id})
                    if store.availability.confirmed:
                        break
            with anyio.fail_after(120):
                response = await client.post("/api/v1/graph/run", json={"graph_id": graph_id})
            assert response.status_code == 503, await response.get_data()
            assert response.headers["Retry-After"]
            assert (await response.get_json())["error"]["code"] == "store_unavailable"
            health = await client.get("/health")
            body = await health.get_json()
            assert health.status_code == 503
            assert body["database"] is False
            assert body["outage"]["store"] == f"sqlite:///{path}"
            assert "locked" in body["outage"]["last_error"]
            assert body["outage"]["since"] and body["outage"]["failures"] >= 1
        health = await client.get("/health")
        assert health.status_code == 200 and (await health.get_json())["outage"] is None
        # Nothing of the refused requests was written.
        listed = await (await client.get("/api/v1/runs")).get_json()
        assert listed["items"] == []
