"""A SQL store's execution_logs come from its event rows: a node event that names its
input by step writes no second row, and rows written by an older runtime still read."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from _store_support import BACKENDS, SQL_KINDS, run_with_store

from runtime.events import Event, EventType
from runtime.store import Store
from runtime.store.rows import INSERT_LOG

both = [pytest.mark.parametrize("backend", BACKENDS), pytest.mark.parametrize("kind", SQL_KINDS)]


def parametrized(fn: Any) -> Any:
    for mark in reversed(both):
        fn = mark(fn)
    return fn


async def _count(store: Any, run_id: str) -> int:
    async def get(s: Any) -> list[dict[str, Any]]:
        return await s.fetch("SELECT count(*) AS n FROM execution_logs WHERE run_id = :r",
                             {"r": run_id})
    return int((await store._run(get))[0]["n"])


@parametrized
def test_node_events_naming_their_input_step_write_no_execution_logs_row(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        t = time.time()
        for e in (Event(1, "r", EventType.RUN_STARTED, t, None, {}),
                  Event(2, "r", EventType.NODE_STARTED, t + 1, "a",
                        {"attempt": 1, "input": {"x": 1}, "input_step": 0}),
                  Event(3, "r", EventType.NODE_COMPLETED, t + 2, "a", {"update": {"y": 2}}),
                  Event(4, "r", EventType.NODE_STARTED, t + 3, "b",
                        {"attempt": 1, "input": {"y": 2}, "input_step": 1}),
                  Event(5, "r", EventType.NODE_FAILED, t + 4, "b", {"error": "boom"})):
            store.append_event(e)
        await store.flush()
        assert await _count(store, "r") == 0
        logs = await store.list_logs("r")
        assert [(x["id"], x["seq"], x["node_name"], x["status"], x["input_step"],
                 x["input_state"], x["output_state"], x["error"]) for x in logs] == [
            (1, 2, "a", "started", 0, None, None, None),
            (2, 3, "a", "completed", None, None, {"y": 2}, None),
            (3, 4, "b", "started", 1, None, None, None),
            (4, 5, "b", "failed", None, None, None, "boom")]
        assert logs[0]["timestamp"].timestamp() == pytest.approx(t + 1)
        page = await store.list_logs("r", limit=2, offset=2)
        assert [(x["id"], x["node_name"], x["status"]) for x in page] == [
            (3, "b", "started"), (4, "b", "failed")]

    run_with_store(kind, backend, tmp_path, body)


@parametrized
def test_execution_logs_rows_of_an_older_runtime_read_as_written(
        kind: str, backend: str, tmp_path: Path) -> None:
    """An older runtime wrote both rows per node event, the input and output states in
    the log row; they still read so, between rows of this runtime."""
    async def body(store: Any) -> None:
        t = time.time()
        d = store.dialect
        from datetime import UTC, datetime

        from runtime.store.rows import INSERT_EVENT
        from runtime.store.schema import dumps
        from runtime.store.writer import Op

        def old(seq: int, typ: EventType, status: str, inp: Any, out: Any) -> Op:
            return Op([(INSERT_EVENT, {"run_id": "r", "seq": seq, "type": typ.value,
                                       "node": "a", "ts": t + seq, "data": "{}"}),
                       (INSERT_LOG, {"run_id": "r", "seq": seq, "node_name": "a",
                                     "status": status,
                                     "timestamp": d.ts(datetime.fromtimestamp(t + seq, UTC)),
                                     "input_state": None if inp is None else dumps(inp),
                                     "input_step": None,
                                     "output_state": None if out is None else dumps(out),
                                     "error": None})])

        await store._w().put(old(1, EventType.NODE_STARTED, "started", {"x": 1}, None))
        await store._w().put(old(2, EventType.NODE_COMPLETED, "completed", None, {"x": 2}))
        store.append_event(Event(3, "r", EventType.NODE_STARTED, t + 3, "a",
                                 {"attempt": 1, "input_step": 1}))
        await store.flush()
        logs = await store.list_logs("r")
        assert [(x["id"], x["status"], x["input_state"], x["input_step"], x["output_state"])
                for x in logs] == [(1, "started", {"x": 1}, None, None),
                                   (2, "completed", None, None, {"x": 2}),
                                   (3, "started", None, 1, None)]

    run_with_store(kind, backend, tmp_path, body)
