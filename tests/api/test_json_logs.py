"""The JSON log format: a record emitted inside a node names its run and node."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from api.json_logs import JsonFormatter
from runtime import END, Graph, Runtime, WorkflowState

log = logging.getLogger("tests.json_logs")


async def chatty(state: WorkflowState) -> dict[str, Any]:
    log.warning("working on %s", "it", extra={"items": 3})
    return {}


async def test_a_record_from_a_node_carries_run_id_node_and_extra_fields(
        anyio_backend: str) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    try:
        graph = Graph("chatty")
        graph.add_node("talker", chatty)
        graph.set_entry_point("talker")
        graph.add_edge("talker", END)
        async with Runtime() as rt:
            run = await rt.start(graph, {})
            await run.result()
        log.warning("outside any run")
    finally:
        log.removeHandler(handler)
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["message"] == "working on it" and inside["level"] == "warning"
    assert (inside["run_id"], inside["node"], inside["items"]) == (run.id, "talker", 3)
    assert inside["logger"] == "tests.json_logs" and inside["ts"].endswith("+00:00")
    assert "run_id" not in outside and "node" not in outside
