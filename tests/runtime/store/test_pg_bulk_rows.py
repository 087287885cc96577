"""PostgreSQL's hot statements take a batch's rows as one JSON parameter
(``json_to_recordset``) and store exactly what the per-column arrays stored."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import runtime.store.sql  # noqa: F401  (registers every bulk statement)
from runtime.store.checkpoints import TRUNCATE, UPSERT
from runtime.store.rows import INSERT_EVENT, INSERT_LOG
from runtime.store.schema import BULK

from _store_support import store_spec


#: fixed instants: both forms write the same values
T0 = time.time()
NOW = datetime.now(UTC)


def _events(run_id: str, n: int = 50) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "seq": i, "type": "node_started", "node": "A" if i % 2 else None,
             "ts": T0 + i / 7, "data": '{"a":1,"t":"é \\"q\\"\\n","f":0.1}'}
            for i in range(n)]


def _logs(run_id: str) -> list[dict[str, Any]]:
    naive = datetime(2026, 1, 1, 12, 0, 0, 123456)   # asyncpg takes a naive one as UTC
    return [{"run_id": run_id, "seq": i, "node_name": "A", "status": "started",
             "timestamp": NOW if i % 3 else naive,
             "input_state": None if i % 2 else '{"x":[1,2]}', "input_step": i,
             "output_state": None, "error": "boom" if i == 4 else None} for i in range(12)]


def _checkpoints(run_id: str) -> list[dict[str, Any]]:
    row = {"run_id": run_id, "nodes": '["A"]', "kind": "delta", "state": None,
           "delta": '{"format":2,"keys":[]}', "pending": "[]", "frames": "[]",
           "position": None, "next_seq": 3, "created_at": NOW}
    # step 1 twice: one statement writes it once, the last row winning
    return [{**row, "step": 1}, {**row, "step": 2}, {**row, "step": 1, "next_seq": 9}]


def test_a_batch_of_rows_is_one_json_parameter() -> None:
    text, params = BULK[INSERT_EVENT].statement(_events("r"), 3)
    assert "json_to_recordset($3::json)" in text and len(params) == 1
    text, params = BULK[UPSERT].statement(_checkpoints("r"), 1)
    assert len(params) == 1 and params[0].count('"step":1') == 1   # deduplicated


@pytest.mark.parametrize("odd", [{"seq": 2**70}, {"data": '{"t":"nul \\u0000"}'}],
                         ids=["huge-int", "nul-escape"])
def test_rows_json_cannot_carry_as_they_are_take_the_arrays(odd: dict[str, Any]) -> None:
    rows = _events("r", 3)
    rows[1] = {**rows[1], **odd}
    if "data" in odd:
        rows[1]["data"] = rows[1]["data"].replace("\\u0000", "\x00")
    text, params = BULK[INSERT_EVENT].statement(rows, 1)
    assert "unnest(" in text and len(params) == len(BULK[INSERT_EVENT].columns)


def test_a_delete_template_keeps_the_arrays() -> None:
    text, params = BULK[TRUNCATE].statement([{"run_id": "r", "step": 2}], 1)
    assert "unnest(" in text and params == [["r"], [2]]


def test_postgres_stores_the_same_rows_either_way(tmp_path: Path) -> None:
    with store_spec("postgres", tmp_path) as (url, opts):
        asyncio.run(_same_rows(url, opts["options"]["server_settings"]))


async def _same_rows(url: str, settings: dict[str, str]) -> None:
    import asyncpg

    from runtime.store.sql import SQLStore

    async with SQLStore(url, options={"server_settings": settings}):
        pass   # the tables
    conn = await asyncpg.connect(url, server_settings={**settings, "TimeZone": "Europe/Paris"})
    try:
        got: dict[str, list[list[tuple[Any, ...]]]] = {}
        for table, sql, rows_of in (("events", INSERT_EVENT, _events),
                                    ("execution_logs", INSERT_LOG, _logs),
                                    ("checkpoints", UPSERT, _checkpoints)):
            bulk = BULK[sql]
            for run_id, (text, params) in (
                    ("arrays", (bulk.sql(1), bulk.arrays(rows_of("arrays")))),
                    ("json", bulk.statement(rows_of("json"), 1))):
                await conn.execute(text, *params)
                records = await conn.fetch(f"SELECT * FROM {table} WHERE run_id = $1 "
                                           "ORDER BY 2, 3", run_id)
                got.setdefault(table, []).append(
                    [tuple(v for k, v in r.items() if k not in ("id", "run_id"))
                     for r in records])
            arrays, json_rows = got[table]
            assert json_rows == arrays, table
            assert arrays, table
        ts = [r[3] for r in got["events"][1]]
        assert all(isinstance(t, float) and math.isfinite(t) for t in ts)
        last = await conn.fetch("SELECT step, next_seq FROM checkpoints WHERE run_id = 'json' "
                                "ORDER BY step")
        assert [tuple(r) for r in last] == [(1, 9), (2, 3)]   # step 1: the last row won
    finally:
        await conn.close()
