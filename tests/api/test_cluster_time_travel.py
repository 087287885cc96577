"""State edits, forks and answers sent to one ``actorflow serve`` for a run that another
executes or last executed, on a real PostgreSQL database (two real servers, one on
trio): an edit never becomes a second writer of an executing run, concurrent edits
through both instances are each either applied or refused (never lost), a fork of a
run executing elsewhere goes on from its step with each step once, and of two answers
to one waiting run through two instances, one resumes it and the other is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from _server import Server, fresh_postgres, server
from test_cluster import (
    RUNTIME_TESTS,
    create,
    owner_pid,
    query,
    run_row,
    start,
    until,
)

sys.path.insert(0, str(RUNTIME_TESTS))
import clustergraphs  # noqa: E402

pytestmark = pytest.mark.timeout(240)

SETTINGS = {"allow_imports": "true", "lease_seconds": "3", "heartbeat_seconds": "0.5",
            "poll_seconds": "0.5", "log_level": "warning"}


@pytest.fixture
def database() -> Iterator[str]:
    url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL: run through `make test`")
    with fresh_postgres(url) as fresh:
        yield fresh


@contextmanager
def two_servers(database: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Server]]:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(RUNTIME_TESTS), os.getcwd()]))
    with ExitStack() as stack:
        yield [stack.enter_context(server(backend, database, tmp_path, **SETTINGS))
               for backend in ("asyncio", "trio")]


def owner_and_other(servers: list[Server], row: dict[str, Any]) -> tuple[Server, Server]:
    pid = owner_pid(row)
    owner = next(s for s in servers if s.proc.pid == pid)
    return owner, next(s for s in servers if s is not owner)


def checkpoints(database: str, run_id: str) -> list[dict[str, Any]]:
    return query(database, "SELECT step, nodes FROM checkpoints WHERE run_id = $1 "
                 "ORDER BY step", run_id)


def started_nodes(database: str, run_id: str) -> list[str]:
    rows = query(database, "SELECT node FROM events WHERE run_id = $1 AND type = "
                 "'node_started' ORDER BY seq", run_id)
    return [str(r["node"]) for r in rows]


async def _post_all(posts: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as http:
        return list(await asyncio.gather(*(http.post(url, json=body) for url, body in posts)))


def test_an_edit_through_another_instance_never_writes_into_an_executing_run(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with two_servers(database, tmp_path, monkeypatch) as servers, \
            httpx.Client(timeout=30) as http:
        chain = create(http, servers[0], clustergraphs.chain())
        run_id = start(http, servers[0], chain, {"pause": 0.5})
        row = until(lambda: (r := run_row(database, run_id))["status"] == "running" and r,
                    what="the run executing")
        until(lambda: checkpoints(database, run_id), what="its first step")
        owner, other = owner_and_other(servers, row)
        reply = http.post(f"{other.url}/api/v1/runs/{run_id}/state",
                          json={"values": {"trail": [{"node": "edit", "pid": 0}]}})
        assert reply.status_code == 409, reply.text
        assert "executes it" in reply.json()["error"]["message"]
        until(lambda: run_row(database, run_id)["status"] == "completed", what="completed")
    final = json.loads(run_row(database, run_id)["final_state"])["data"]
    assert [t["node"] for t in final["trail"]] == [f"s{i}" for i in range(1, 6)]
    assert {t["pid"] for t in final["trail"]} == {owner.proc.pid}
    assert [c["step"] for c in checkpoints(database, run_id)] == [1, 2, 3, 4, 5]
    assert run_row(database, run_id)["interruptions"] == 0


def test_concurrent_edits_through_two_instances_are_applied_or_refused_never_lost(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with two_servers(database, tmp_path, monkeypatch) as servers, \
            httpx.Client(timeout=30) as http:
        graph = create(http, servers[0], clustergraphs.edit_graph())
        run_id = start(http, servers[0], graph, {})
        until(lambda: run_row(database, run_id)["status"] == "waiting", what="waiting")
        before = checkpoints(database, run_id)[-1]["step"]
        posts = [(f"{servers[i % 2].url}/api/v1/runs/{run_id}/state",
                  {"values": {"notes": [f"e{i}"]}}) for i in range(10)]
        replies = asyncio.run(_post_all(posts))
        assert {r.status_code for r in replies} <= {200, 409}, [r.text for r in replies]
        applied = {f"e{i}": r.json()["step"] for i, r in enumerate(replies)
                   if r.status_code == 200}
        assert applied  # an edit with nobody else editing goes through
        # Each applied edit is a checkpoint of its own, on top of the one before.
        assert sorted(applied.values()) == list(range(before + 1, before + 1 + len(applied)))
        # The run answered goes on with every applied edit and no refused one.
        reply = http.post(f"{servers[1].url}/api/v1/runs/{run_id}/resume",
                          json={"answer": "go"})
        assert reply.status_code == 202, reply.text
        until(lambda: run_row(database, run_id)["status"] == "completed", what="completed")
    final = json.loads(run_row(database, run_id)["final_state"])["data"]
    assert final["notes"] == sorted(applied, key=applied.__getitem__)
    assert final["answer"] == "go"
    steps = [c["step"] for c in checkpoints(database, run_id)]
    assert steps == sorted(set(steps))


def test_a_fork_through_another_instance_of_an_executing_run_goes_on_from_its_step(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with two_servers(database, tmp_path, monkeypatch) as servers, \
            httpx.Client(timeout=30) as http:
        chain = create(http, servers[0], clustergraphs.chain())
        run_id = start(http, servers[0], chain, {"pause": 0.4})
        row = until(lambda: (r := run_row(database, run_id))["status"] == "running"
                    and len(checkpoints(database, run_id)) >= 2 and r,
                    what="the run two steps in")
        _, other = owner_and_other(servers, row)
        reply = http.post(f"{other.url}/api/v1/runs/{run_id}/fork",
                          json={"step": 2, "values": {"trail": [{"node": "forked", "pid": 0}]}})
        assert reply.status_code == 202, reply.text
        fork_id = reply.json()["run_id"]
        for rid in (run_id, fork_id):
            until(lambda rid=rid: run_row(database, rid)["status"] == "completed",
                  what=f"run {rid} completed")
    original = json.loads(run_row(database, run_id)["final_state"])["data"]
    forked = json.loads(run_row(database, fork_id)["final_state"])["data"]
    assert [t["node"] for t in original["trail"]] == [f"s{i}" for i in range(1, 6)]
    assert [t["node"] for t in forked["trail"]] == ["s1", "s2", "forked", "s3", "s4", "s5"]
    # Each executed once: the original's steps untouched, the fork's from its step on.
    assert started_nodes(database, run_id) == [f"s{i}" for i in range(1, 6)]
    assert started_nodes(database, fork_id) == ["s3", "s4", "s5"]
    assert [c["step"] for c in checkpoints(database, fork_id)] == [2, 3, 4, 5]
    assert run_row(database, fork_id)["parent_run_id"] == run_id


def test_two_answers_through_two_instances_resume_the_run_once(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with two_servers(database, tmp_path, monkeypatch) as servers, \
            httpx.Client(timeout=30) as http:
        graph = create(http, servers[0], clustergraphs.edit_graph())
        run_id = start(http, servers[0], graph, {})
        until(lambda: run_row(database, run_id)["status"] == "waiting", what="waiting")
        replies = asyncio.run(_post_all([
            (f"{srv.url}/api/v1/runs/{run_id}/resume", {"answer": f"from {n}"})
            for n, srv in enumerate(servers)]))
        codes = sorted(r.status_code for r in replies)
        assert codes == [202, 409], [r.text for r in replies]
        winner = next(n for n, r in enumerate(replies) if r.status_code == 202)
        until(lambda: run_row(database, run_id)["status"] == "completed", what="completed")
    final = json.loads(run_row(database, run_id)["final_state"])["data"]
    assert final["answer"] == f"from {winner}"  # the accepted answer is the one used
    assert started_nodes(database, run_id).count("after") == 1
    resumed = query(database, "SELECT count(*) AS n FROM events WHERE run_id = $1 AND "
                    "type = 'resumed'", run_id)[0]["n"]
    assert resumed == 1
