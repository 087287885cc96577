"""A run whose ``actorflow run`` process is killed beside a running ``actorflow serve``
on the same database: the server takes it over and finishes it, while it leaves alone
the run of a CLI process that is still alive.

Real processes: a server, two ``actorflow run`` subprocesses (this checkout's code), and
``kill -9``. On SQLite, and on PostgreSQL when ACTORFLOW_TEST_POSTGRES_URL is set (in CI
it must be): a single-host server (``--cluster off``) beside CLI runs that lease their
runs (the CLI's default on PostgreSQL), and a cluster server beside them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from _server import ACTORFLOW, REPO, database, server

from runtime.events import Event, EventType
from runtime.store import RunRecord, open_store

pytestmark = pytest.mark.slow

#: How often the server looks for runs whose process is gone, in these tests.
CHECK_SECONDS = 0.5
#: What the takeover may take at most (checks, a loaded machine, the rest of the run).
TAKEOVER_TIMEOUT = 40.0

#: a -> b (waits 3 s: killed in it) -> c -> d -> e.
SLOW = {
    "name": "orphan_slow",
    "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {"a": 1}}},
        {"name": "b", "tool": "delay", "config": {"seconds": 3}},
        {"name": "c", "tool": "set", "config": {"values": {"c": 1}}},
        {"name": "d", "tool": "delay", "config": {"seconds": 0.2}},
        {"name": "e", "tool": "set", "config": {"values": {"done": True}}},
    ],
    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "d"},
              {"from": "d", "to": "e"}],
}
#: A run that outlives the takeover of the other one, in its own live CLI process.
LIVE = {
    "name": "orphan_live",
    "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {"a": 1}}},
        {"name": "b", "tool": "delay", "config": {"seconds": 20}},
        {"name": "c", "tool": "set", "config": {"values": {"done": True}}},
    ],
    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
}


def cli_run(tmp_path: Path, graph: dict[str, Any], url: str) -> subprocess.Popen[str]:
    """``actorflow run`` of ``graph`` on ``url``, this checkout's code, in the background."""
    path = tmp_path / f"{graph['name']}.json"
    path.write_text(json.dumps(graph))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    err = (tmp_path / f"{graph['name']}.stderr").open("w")
    return subprocess.Popen([ACTORFLOW, "run", str(path), "--database-url", url],
                            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                            cwd=tmp_path)


def run_of(http: httpx.Client, graph_name: str, timeout: float = 60) -> str:
    """The id of the run of ``graph_name``, once the server's API lists it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in http.get("/api/v1/runs").json()["items"]:
            if item["graph_name"] == graph_name:
                return str(item["run_id"])
        time.sleep(0.1)
    raise AssertionError(f"no run of {graph_name} within {timeout}s")


def checkpoints(http: httpx.Client, run_id: str) -> int:
    """The steps the run has stored (its history's step 0 is its input)."""
    listed = http.get(f"/api/v1/runs/{run_id}/history").json()["checkpoints"]
    return sum(1 for c in listed if c["step"] > 0)


def wait_for(what: str, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout}s")
        time.sleep(0.1)


def stored(url: str, run_id: str) -> tuple[RunRecord, list[Event]]:
    """The run's record and its stored events, read from the database directly."""
    async def read() -> tuple[RunRecord, list[Event]]:
        store = open_store(url)
        await store.open()
        try:
            record = await store.get_run(run_id)
            assert record is not None
            return record, await store.read_events(run_id, 0)
        finally:
            await store.close()

    return anyio.run(read)


def started(events: list[Event]) -> Counter[str]:
    return Counter(e.node for e in events if e.type is EventType.NODE_STARTED and e.node)


def completed(events: list[Event]) -> Counter[str]:
    return Counter(e.node for e in events if e.type is EventType.NODE_COMPLETED and e.node)


def stop(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_kept_by_its_process(url: str, run_id: str, proc: subprocess.Popen[str],
                               tmp_path: Path) -> None:
    """The live CLI run ``run_id`` still executes in ``proc``, and finishes there: every
    node once, no interruption, its owner never changed."""
    record, _ = stored(url, run_id)
    assert record.status.value == "running" and proc.poll() is None, (
        "the live run ended before the takeover was checked: lengthen its node b")
    assert record.owner is not None and f":{proc.pid}:" in record.owner
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, (tmp_path / "orphan_live.stderr").read_text()
    assert json.loads(out)["status"] == "completed"
    record, events = stored(url, run_id)
    assert f":{proc.pid}:" in (record.owner or "") and record.interruptions == 0
    assert started(events) == completed(events) == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_server_resumes_a_killed_cli_run_and_leaves_a_live_one(
        kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url, \
            server("asyncio", url, tmp_path, cluster="off",
                   orphan_check_seconds=CHECK_SECONDS) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        live = cli_run(tmp_path, LIVE, url)
        doomed = cli_run(tmp_path, SLOW, url)
        try:
            live_id, slow_id = run_of(http, "orphan_live"), run_of(http, "orphan_slow")
            # Killed once a (step 1) is committed: node b, 3 s long, is in flight.
            wait_for("a's checkpoint", lambda: checkpoints(http, slow_id) >= 1, 60)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(30)   # reaped: its pid names no process any more
            assert http.get(f"/api/v1/runs/{slow_id}").json()["status"] == "running"

            # The server notices the owner is gone and finishes the run.
            wait_for("completed by the server", lambda: http.get(
                f"/api/v1/runs/{slow_id}").json()["status"] == "completed", TAKEOVER_TIMEOUT)
            detail = http.get(f"/api/v1/runs/{slow_id}").json()
            assert detail["final_state"] == {"a": 1, "c": 1, "done": True}
            record, events = stored(url, slow_id)
            assert record.owner is not None and f":{srv.proc.pid}:" in record.owner
            assert record.interruptions == 1
            # Resumed from its checkpoint: only the node in flight (b) ran again.
            once = {"a": 1, "c": 1, "d": 1, "e": 1}
            assert {n: k for n, k in started(events).items() if n != "b"} == once
            assert started(events)["b"] in (1, 2)
            assert completed(events) == {**once, "b": 1}
            assert f"run {slow_id}: the process that executed it" in srv.log()

            # The live CLI run was never taken: it is still its own, and finishes there.
            assert_kept_by_its_process(url, live_id, live, tmp_path)
        finally:
            stop(live, doomed)


def test_in_a_cluster_a_live_cli_run_holds_its_lease_and_a_killed_one_is_taken_over(
        tmp_path: Path) -> None:
    # PostgreSQL's default is a cluster (ACTORFLOW_CLUSTER=auto): `actorflow run` executes
    # its run under a lease as a server does. Without one, a server's claimer took a live
    # CLI run at once and executed its node in flight a second time beside it.
    with database("postgres", tmp_path) as url, \
            server("asyncio", url, tmp_path, cluster="on") as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        live = cli_run(tmp_path, LIVE, url)
        doomed = cli_run(tmp_path, SLOW, url)
        try:
            live_id, slow_id = run_of(http, "orphan_live"), run_of(http, "orphan_slow")
            record, _ = stored(url, live_id)
            assert record.lease_epoch >= 1 and record.lease_until is not None
            wait_for("a's checkpoint", lambda: checkpoints(http, slow_id) >= 1, 60)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(30)
            # Its lease runs out (8 s) and the server claims it.
            wait_for("completed by the server", lambda: http.get(
                f"/api/v1/runs/{slow_id}").json()["status"] == "completed", TAKEOVER_TIMEOUT)
            record, events = stored(url, slow_id)
            assert record.owner is not None and f":{srv.proc.pid}:" in record.owner
            once = {"a": 1, "c": 1, "d": 1, "e": 1}
            assert {n: k for n, k in started(events).items() if n != "b"} == once
            assert completed(events) == {**once, "b": 1}

            assert_kept_by_its_process(url, live_id, live, tmp_path)
        finally:
            stop(live, doomed)
