"""History over HTTP comes a page at a time, bounded in count and in bytes (issue 10):
the probe's ``GET /history`` of a growing list answered 4 GB at once. A client follows
``next_after`` (``next_cursor`` for a thread) and gets every step once; a real server
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from _server import server
from test_e2e import BACKENDS, database

from api.history_pages import MAX_LIMIT, MAX_PAGE_BYTES

ITEM = "y" * 50_000
STEPS = 30
GROW = {"name": "grow_pages", "entry_point": "grow", "reducers": {"items": "append", "n": "add"},
        "nodes": [{"name": "grow", "tool": "set", "config": {"values": {"items": ITEM, "n": 1}}}],
        "edges": [{"from": "grow", "to": "grow", "condition": f"n < {STEPS}"},
                  {"from": "grow", "to": "END"}]}
TURN = {"name": "turn_pages", "reducers": {"messages": "append"},
        "nodes": [{"name": "reply", "tool": "set", "config": {"values": {"messages": ["bot"]}}}],
        "edges": [{"from": "reply", "to": "END"}]}


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def _done(http: httpx.Client, run_id: str) -> None:
    for _ in range(30):
        if http.get(f"/api/v1/runs/{run_id}/wait?timeout=5").json()["status"] == "completed":
            return
    raise AssertionError(f"run {run_id} did not complete")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_history_pages_are_bounded_and_followed_to_the_end(backend: str, kind: str,
                                                           tmp_path: Path) -> None:
    with database(kind, tmp_path) as url, server(backend, url, tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=60) as http:
        assert http.post("/api/v1/graph/create", json=GROW).status_code == 201
        run = http.post("/api/v1/graph/run", json={"graph_id": "grow_pages",
                                                   "initial_state": {"n": 0}}).json()["run_id"]
        _done(http, run)
        base = f"/api/v1/runs/{run}/history"

        first = http.get(base, params={"limit": 5}).json()
        # Step 0, the input, leads the first page (and counts in its limit).
        assert [c["step"] for c in first["checkpoints"]] == [0, 1, 2, 3, 4]
        assert first["checkpoints"][0]["state"] == {"n": 0}
        assert first["checkpoints"][0]["nodes"] == []
        assert first["limit"] == 5 and first["next_after"] == 4
        assert http.get(base).json()["limit"] == 20                       # the default
        too_many = http.get(base, params={"limit": MAX_LIMIT + 1})
        assert too_many.status_code == 400, too_many.text

        # The states add up to ~47 MB: the pages stop at the byte bound.
        steps: list[int] = []
        pages = 0
        after = -1
        while after is not None:
            page = http.get(base, params={"limit": MAX_LIMIT, "after": after}).json()
            cps = page["checkpoints"]
            size = sum(_size(c["state"]) + _size(c["changed"]) for c in cps)
            assert len(cps) == 1 or size <= MAX_PAGE_BYTES, size
            for c in cps:
                assert c["state"].get("items", []) == [ITEM] * c["step"]
                assert c["state"]["n"] == c["step"]
            steps += [c["step"] for c in cps]
            pages += 1
            after = page["next_after"]
            assert after is None or after == steps[-1]
        assert steps == list(range(STEPS + 1))
        assert pages > 2


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_thread_history_pages_run_by_run(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url, server("asyncio", url, tmp_path) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        assert http.post("/api/v1/graph/create", json=TURN).status_code == 201
        assert http.post("/api/v1/threads", json={"thread_id": "t"}).status_code == 201
        runs = []
        for text in ("a", "b", "c"):
            started = http.post("/api/v1/threads/t/runs",
                                json={"graph_id": "turn_pages", "input": {"messages": [text]}})
            runs.append(started.json()["run_id"])
            _done(http, runs[-1])
        whole = http.get("/api/v1/threads/t/history", params={"limit": MAX_LIMIT}).json()
        # Each run's input (step 0), then its one step.
        assert whole["next_cursor"] is None
        assert whole["run_ids"] == [run for run in runs for _ in (0, 1)]
        got: list[tuple[str, int]] = []
        params: dict[str, Any] = {"limit": 2}
        while True:
            page = http.get("/api/v1/threads/t/history", params=params).json()
            assert len(page["checkpoints"]) <= 2
            got += list(zip(page["run_ids"], [c["step"] for c in page["checkpoints"]],
                            strict=True))
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert got == list(zip(whole["run_ids"], [c["step"] for c in whole["checkpoints"]],
                               strict=True))
        unknown = http.get("/api/v1/threads/t/history", params={"cursor": "nope:1"})
        assert unknown.status_code == 400, unknown.text
