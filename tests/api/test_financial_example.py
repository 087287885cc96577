"""The financial-analysis example over HTTP, in the WebSocket feed, and from the CLI (offline)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _api_support import serving
from quart.testing.connections import WebsocketDisconnectError

from api.cli import main

ANALYSTS = {"technical_analysis", "fundamental_analysis", "sentiment_analysis", "news_analysis"}
INPUT = {"symbol": "AAPL", "as_of": "2016-06-30"}


async def test_the_example_runs_by_name_and_its_feed_shows_each_analysis(
        anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graphs = await (await client.get("/api/v1/graphs")).get_json()
        assert "financial_analysis" in {g["name"] for g in graphs["items"]}
        started = await client.post("/api/v1/graph/run", json={
            "graph_id": "financial_analysis", "initial_state": INPUT})
        assert started.status_code == 202
        run_id = (await started.get_json())["run_id"]
        state = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=30")).get_json()
        messages: list[dict[str, Any]] = []
        async with client.websocket(f"/api/v1/graph/ws/{run_id}") as ws:
            while not messages or messages[-1]["type"] != "complete":
                try:
                    messages.append(json.loads(await ws.receive()))
                except WebsocketDisconnectError:
                    break
    assert state["status"] == "completed"
    rec = state["current_state"]["recommendation"]
    assert rec["action"] == "hold" and 0 < rec["confidence"] < 1
    said = {m["node"]: m["data"]["message"] for m in messages
            if m["type"] == "log" and m.get("event") == "log"}
    assert ANALYSTS <= set(said)
    assert "RSI 47.6" in said["technical_analysis"] and "P/E 10.4" in said["fundamental_analysis"]
    final = messages[-1]
    assert final["type"] == "complete"
    assert "Recommendation: HOLD" in final["final_state"]["report"]["text"]


def test_the_cli_prints_the_analyses_as_they_finish_and_the_report(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "financial_analysis", "--input", json.dumps(INPUT)]) == 0
    out, err = capsys.readouterr()
    for node in ANALYSTS:
        assert f"log {node}: " in err
    state = json.loads(out)["state"]
    assert state["recommendation"]["action"] == "hold"
    assert state["report"]["text"].startswith("Investment report: AAPL as of 2016-06-30")
