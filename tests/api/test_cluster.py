"""Three ``actorflow serve`` (one on trio) and one ``actorflow worker`` on one real
PostgreSQL database: 300 runs of a fan-out graph submitted round-robin, one server
SIGKILLed mid-flight, every run completes with the right state; a WebSocket client on
one instance sees every event of a run executed by another; a cancel sent to one
instance stops a run executing on another; a waiting run answered through any
instance goes on.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, connect_ws

from _server import ACTORFLOW, Server, fresh_postgres, server

RUNTIME_TESTS = Path(__file__).parent.parent / "runtime"
sys.path.insert(0, str(RUNTIME_TESTS))
import clustergraphs  # noqa: E402

pytestmark = pytest.mark.timeout(300)

RUNS = 300
# The per-tenant running bound (default 100) is lifted: this test is about sharing the
# runs; a faster store can have more than 100 of the 300 running when the last starts.
CLUSTER = {"allow_imports": "true", "lease_seconds": "2", "heartbeat_seconds": "0.4",
           "poll_seconds": "0.5", "concurrency": "60", "log_level": "warning",
           "max_running_runs_per_tenant": str(RUNS)}


@pytest.fixture
def database() -> Iterator[str]:
    url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL: run through `make test`")
    with fresh_postgres(url) as fresh:
        yield fresh


@contextmanager
def worker(url: str, log_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    environ.update({f"ACTORFLOW_{k.upper()}": v for k, v in CLUSTER.items()})
    with (log_dir / "worker.log").open("wb") as log:
        proc = subprocess.Popen([ACTORFLOW, "worker", "--database-url", url],
                                stdout=log, stderr=subprocess.STDOUT, env=environ)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def query(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def until(check: Callable[[], Any], seconds: float = 120, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}")


def run_row(url: str, run_id: str) -> dict[str, Any]:
    return query(url, "SELECT * FROM runs WHERE id = $1", run_id)[0]


def owner_pid(row: dict[str, Any]) -> int:
    return int(str(row["owner"]).split(":")[1])


def start(http: httpx.Client, srv: Server, graph_id: str, state: dict[str, Any]) -> str:
    reply = http.post(f"{srv.url}/api/v1/graph/run",
                      json={"graph_id": graph_id, "initial_state": state})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["run_id"])


def create(http: httpx.Client, srv: Server, graph: Any) -> str:
    reply = http.post(f"{srv.url}/api/v1/graph/create", json=graph.compile().to_json())
    assert reply.status_code in (200, 201), reply.text
    return str(reply.json()["graph_id"])


def test_three_servers_and_a_worker_share_the_runs(database: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(RUNTIME_TESTS), os.getcwd()]))
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        servers = [stack.enter_context(server(backend, database, tmp_path, **CLUSTER))
                   for backend in ("asyncio", "trio", "asyncio")]
        stack.enter_context(worker(database, tmp_path))
        fanout = create(http, servers[0], clustergraphs.fanout())
        chain = create(http, servers[0], clustergraphs.chain())
        asking = create(http, servers[0], clustergraphs.asking_graph())

        # Runs long enough (two 1 s steps) that some are in flight on every instance
        # when the last one is submitted, however fast the others are executed.
        ids = [start(http, servers[i % 3], fanout, {"pause": 1.0}) for i in range(RUNS)]
        killed = servers.pop(1)  # the trio one, mid-flight: while it executes runs
        until(lambda: query(database, "SELECT count(*) AS n FROM runs WHERE status = "
                            "'running' AND owner LIKE $1", f"%:{killed.proc.pid}:%")[0]["n"],
              what="the trio server executing runs")
        killed.proc.kill()
        killed.proc.wait()

        def all_finished() -> list[dict[str, Any]] | None:
            rows = query(database, "SELECT id, status, final_state FROM runs "
                         "WHERE id = ANY($1::text[])", ids)
            return rows if all(r["status"] in ("completed", "failed", "cancelled")
                               for r in rows) else None

        rows = until(all_finished, what="all runs finished")
        assert len(rows) == RUNS and {r["status"] for r in rows} == {"completed"}
        for r in rows:
            data = json.loads(r["final_state"])["data"]
            assert data["total"] == clustergraphs.WIDTH + 1
            assert sorted(t["node"] for t in data["trail"]) == [
                *(f"b{i}" for i in range(clustergraphs.WIDTH)), "start"]
        taken_over = query(database, "SELECT count(*) AS n FROM runs WHERE interruptions > 0 "
                           "AND id = ANY($1::text[])", ids)[0]["n"]
        assert taken_over > 0  # the kill hit runs mid-flight, and they went on elsewhere
        owners = {owner_pid(r) for r in query(
            database, "SELECT owner FROM runs WHERE id = ANY($1::text[])", ids)}
        assert len(owners) >= 2  # the runs really were shared

        # A WebSocket client on one instance follows a run executed by another.
        watched = start(http, servers[0], chain, {"pause": 0.3})
        row = until(lambda: (r := run_row(database, watched))["status"] == "running" and r,
                    what="the watched run executing")
        viewer = next(s for s in servers if s.proc.pid != owner_pid(row))
        messages: list[dict[str, Any]] = []
        with connect_ws(f"{viewer.ws_url}/api/v1/graph/ws/{watched}", http) as ws:
            while True:
                try:
                    message = json.loads(ws.receive_text(timeout=60))
                except WebSocketDisconnect:
                    break
                messages.append(message)
                if message["type"] == "complete":
                    break
        events = [m for m in messages if "seq" in m]
        stored = query(database, "SELECT seq, type FROM events WHERE run_id = $1 ORDER BY seq",
                       watched)
        assert [m["seq"] for m in events] == [r["seq"] for r in stored] == list(
            range(len(stored)))
        assert owner_pid(run_row(database, watched)) != viewer.proc.pid

        # A cancel sent to one instance stops the run where it executes.
        long = start(http, servers[0], chain, {"pause": 60})
        row = until(lambda: (r := run_row(database, long))["status"] == "running" and r,
                    what="the long run executing")
        other = next(s for s in servers if s.proc.pid != owner_pid(row))
        reply = http.post(f"{other.url}/api/v1/runs/{long}/cancel")
        assert reply.status_code in (200, 202), reply.text
        until(lambda: run_row(database, long)["status"] == "cancelled", 10, "cancelled")
        assert run_row(database, long)["final_state"] is None

        # A waiting run answered through any instance goes on.
        waiting = start(http, servers[0], asking, {})
        until(lambda: run_row(database, waiting)["status"] == "waiting", what="waiting")
        reply = http.post(f"{servers[1].url}/api/v1/runs/{waiting}/resume",
                          json={"answer": "yes"})
        assert reply.status_code == 202, reply.text
        until(lambda: run_row(database, waiting)["status"] == "completed", what="resumed")
        assert json.loads(run_row(database, waiting)["final_state"])["data"]["answer"] == "yes"
