"""SIGTERM to a clustered ``actorflow serve`` hands its runs back at once: a worker
whose own leases would last ten minutes finishes them, which it could not do by waiting
for the server's leases to expire (a real server, a real worker, real PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _server import ACTORFLOW, fresh_postgres, server
from test_cluster import RUNTIME_TESTS, create, owner_pid, query, run_row, start, until

sys.path.insert(0, str(RUNTIME_TESTS))
import clustergraphs  # noqa: E402

pytestmark = pytest.mark.timeout(240)

SLOW = {"allow_imports": "true", "lease_seconds": "600", "heartbeat_seconds": "1",
        "poll_seconds": "0.5", "log_level": "warning"}


@pytest.fixture
def database() -> Iterator[str]:
    url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL: run through `make test`")
    with fresh_postgres(url) as fresh:
        yield fresh


def test_a_terminated_server_hands_its_runs_back_to_a_worker_at_once(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(RUNTIME_TESTS), os.getcwd()]))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    environ.update({f"ACTORFLOW_{k.upper()}": v for k, v in SLOW.items()})
    with server("trio", database, tmp_path, **SLOW) as srv, httpx.Client(timeout=30) as http:
        chain = create(http, srv, clustergraphs.chain())
        ids = [start(http, srv, chain, {"pause": 0.4}) for _ in range(4)]
        for run_id in ids:  # the server (the only executor) holds every one
            until(lambda run_id=run_id: run_row(database, run_id)["status"] == "running",
                  what="the server executing the runs")
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen([ACTORFLOW, "worker", "--database-url", database],
                                      stdout=log, stderr=subprocess.STDOUT, env=environ)
        try:
            assert srv.terminate() == 0
            until(lambda: all(run_row(database, r)["status"] == "completed" for r in ids),
                  120, "the worker finishing the handed-back runs")
        finally:
            worker.terminate()
            worker.wait(30)
    for run_id in ids:
        row = run_row(database, run_id)
        trail = json.loads(row["final_state"])["data"]["trail"]
        assert [t["node"] for t in trail] == [f"s{i}" for i in range(1, 6)]
        assert trail[-1]["pid"] == worker.pid and owner_pid(row) == worker.pid
    assert query(database, "SELECT count(*) AS n FROM runs WHERE lease_until IS NOT NULL")[0][
        "n"] == 0
