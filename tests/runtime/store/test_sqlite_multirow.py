"""SQLite writes a batch's rows as a few multi-row INSERTs (runtime.store.multirow),
not one statement per row, and stores exactly what one statement per row stored."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime.store import db as dbmod
from runtime.store.checkpoints import TRUNCATE, UPSERT
from runtime.store.multirow import MAX_PARAMS, chunks, multi_row
from runtime.store.queue import FENCE
from runtime.store.rows import INSERT_EVENT
from runtime.store.sql import SQLStore

T0 = time.time()
NOW = datetime.now(UTC).isoformat()


def _events(run_id: str, n: int) -> list[dict[str, Any]]:
    # ts: floats that must come back bit for bit; data: quotes, escapes, non-ASCII.
    return [{"run_id": run_id, "seq": i, "type": "node_started", "node": "A" if i % 2 else None,
             "ts": T0 + i / 7, "data": '{"a":1,"t":"é \\"q\\"\\n","f":0.1}'}
            for i in range(n)]


def _checkpoints(run_id: str, n: int) -> list[dict[str, Any]]:
    row = {"run_id": run_id, "nodes": '["A"]', "kind": "delta", "state": None,
           "delta": '{"format":2,"keys":[]}', "pending": "[]", "frames": "[]",
           "position": None, "created_at": NOW}
    return [{**row, "step": i, "next_seq": i} for i in range(n)]


def _plan() -> list[tuple[str, list[dict[str, Any]]]]:
    events = _events("r", 300)
    # A duplicate event (ON CONFLICT DO NOTHING: the first one stays) and a checkpoint
    # written twice in the batch (the upsert: the last one wins).
    events.append({**events[5], "data": '{"dup":true}'})
    cps = _checkpoints("r", 150)
    cps.append({**cps[3], "next_seq": 999})
    return [(TRUNCATE, [{"run_id": "r", "step": 0}, {"run_id": "q", "step": 0}]),
            (UPSERT, cps), (INSERT_EVENT, events)]


def _database(path: Path) -> sqlite3.Connection:
    async def migrate() -> None:
        async with SQLStore(f"sqlite:///{path}"):
            pass

    anyio.run(migrate)
    return sqlite3.connect(path, isolation_level=None)


def _contents(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {"events": conn.execute("SELECT run_id, seq, type, node, ts, data FROM events "
                                   "ORDER BY run_id, seq").fetchall(),
            "checkpoints": conn.execute(
                "SELECT run_id, step, next_seq, nodes, kind, state, delta, pending, frames, "
                "position, created_at FROM checkpoints ORDER BY run_id, step").fetchall()}


def test_a_batch_is_a_few_statements_not_one_per_row(tmp_path: Path) -> None:
    conn = _database(tmp_path / "a.db")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    dbmod._sqlite_write(conn, _plan())
    inserts = [s for s in statements if s.startswith("INSERT")]
    # 452 rows: 151 checkpoints in 64-row chunks and below, 301 events in 128-row ones.
    assert len(inserts) == len(chunks(151, 11)) + len(chunks(301, 6)) < 20
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 300
    assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 150


def test_it_stores_what_one_statement_per_row_stored(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    multi = _database(tmp_path / "multi.db")
    dbmod._sqlite_write(multi, _plan())
    single = _database(tmp_path / "single.db")
    monkeypatch.setattr(dbmod, "multi_row", lambda sql, rows: None)
    dbmod._sqlite_write(single, _plan())
    got = _contents(multi)
    assert got == _contents(single)
    assert got["events"][5][-1] == '{"a":1,"t":"é \\"q\\"\\n","f":0.1}'   # the first stays
    assert got["checkpoints"][3][2] == 999                                # the last wins
    assert [row[4] for row in got["events"]] == [T0 + i / 7 for i in range(300)]


def test_a_refused_row_fails_its_whole_statement_as_before(tmp_path: Path) -> None:
    conn = _database(tmp_path / "a.db")
    events = _events("r", 10)
    events[7] = {**events[7], "seq": None}   # NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        dbmod._sqlite_write(conn, [(INSERT_EVENT, events)])
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0   # rolled back
    assert not conn.in_transaction


def test_only_one_row_inserts_with_named_parameters_are_rewritten() -> None:
    rows = [{"run_id": "r", "epoch": i} for i in range(3)]
    assert multi_row(TRUNCATE, [{"run_id": "r", "step": 1}] * 2) is None
    assert multi_row("INSERT INTO t (a, b) VALUES (:a, 1)", rows) is None
    assert multi_row("INSERT INTO t (a) SELECT :a", rows) is None
    parts = multi_row(FENCE, rows)
    assert parts == [
        ("INSERT INTO lease_fence (run_id, epoch) VALUES (?, ?), (?, ?)", ["r", 0, "r", 1]),
        ("INSERT INTO lease_fence (run_id, epoch) VALUES (?, ?)", ["r", 2])]


def test_chunks_are_powers_of_two_within_sqlites_parameter_limit() -> None:
    for n in (1, 2, 3, 127, 128, 129, 1000):
        for width in (2, 6, 11):
            sizes = chunks(n, width)
            assert sum(sizes) == n and sizes == sorted(sizes, reverse=True)
            assert all(s & (s - 1) == 0 and s * width <= MAX_PARAMS for s in sizes)
