"""A real ``actorflow serve`` exports its traces over OTLP to a fake collector on loopback,
joins the trace of the request that started a run, and writes JSON logs when asked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _api_support import chain_graph
from _server import Server, server, sqlite_url
from otlp_collector import Collector, collecting

REMOTE_TRACE = "0af7651916cd43dd8448eb211c80319c"
REMOTE_PARENT = "b7ad6b7169203331"
TRACEPARENT = f"00-{REMOTE_TRACE}-{REMOTE_PARENT}-01"
STATUS_ERROR = 2   # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def traced_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[tuple[Server, Collector]]:
    tmp = tmp_path_factory.mktemp("telemetry")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")   # export within 50 ms, not 5 s
        with collecting() as (collector, url), \
                server(request.param, sqlite_url(tmp), tmp, otlp_endpoint=url,
                       log_format="json") as srv:
            yield srv, collector


def run_graph(srv: Server, graph: dict[str, Any], headers: dict[str, str]) -> str:
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        created = client.post("/api/v1/graph/create", json=graph)
        assert created.status_code == 201, created.text
        started = client.post("/api/v1/graph/run", headers=headers,
                              json={"graph_id": created.json()["graph_id"]})
        assert started.status_code == 202, started.text
        run_id: str = started.json()["run_id"]
        assert client.get(f"/api/v1/runs/{run_id}/wait?timeout=20").json()["status"] in (
            "completed", "failed")
    return run_id


def wait_for(found: Any, what: str, srv: Server) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} never arrived; server log:\n{srv.log()}")


def test_server_exports_run_and_node_spans_in_the_requests_trace_over_otlp(
        traced_server: tuple[Server, Collector]) -> None:
    srv, collector = traced_server
    run_id = run_graph(srv, chain_graph("otlp_ok"), {"traceparent": TRACEPARENT})
    spans = wait_for(lambda: [s for s in collector.of_trace(REMOTE_TRACE)
                              if s.attributes.get("actorflow.run_id") == run_id
                              and s.name == "actorflow.run"] and
                     [s for s in collector.of_trace(REMOTE_TRACE)
                      if s.attributes.get("actorflow.run_id") == run_id], "the spans", srv)
    [run] = [s for s in spans if s.name == "actorflow.run"]
    assert run.parent_id == REMOTE_PARENT
    assert run.attributes["actorflow.outcome"] == "completed"
    assert run.resource["service.name"] == "actorflow"
    nodes = sorted((s.attributes["actorflow.node"], s.attributes["actorflow.attempt"],
                    s.attributes["actorflow.outcome"], s.parent_id)
                   for s in spans if s.name == "actorflow.node")
    assert nodes == [("a", 1, "completed", run.span_id), ("b", 1, "completed", run.span_id),
                     ("c", 1, "completed", run.span_id)]
    assert collector.content_types == {"application/x-protobuf"}


def test_server_starts_a_new_trace_for_a_request_without_traceparent(
        traced_server: tuple[Server, Collector]) -> None:
    srv, collector = traced_server
    run_id = run_graph(srv, chain_graph("otlp_fresh"), {})

    def run_span() -> list[Any]:
        return [s for s in collector.spans if s.name == "actorflow.run"
                and s.attributes.get("actorflow.run_id") == run_id]

    [run] = wait_for(run_span, "the run span", srv)
    assert run.parent_id == "" and run.trace_id != REMOTE_TRACE


def test_json_logs_are_one_object_per_line_naming_run_and_trace(
        traced_server: tuple[Server, Collector]) -> None:
    srv, collector = traced_server
    run_id = run_graph(srv, chain_graph("otlp_fails", fail=True), {"traceparent": TRACEPARENT})
    failed = wait_for(lambda: [s for s in collector.of_trace(REMOTE_TRACE)
                               if s.attributes.get("actorflow.run_id") == run_id
                               and s.name == "actorflow.run"], "the failed run's span", srv)
    assert failed[0].status == STATUS_ERROR

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in srv.log().splitlines() if line.strip()]

    records = lines()   # every line is one JSON object (json.loads fails otherwise)
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    [failure] = wait_for(lambda: [r for r in lines() if r.get("run_id") == run_id
                                  and r["level"] == "error"], "the failure's log line", srv)
    assert failure["trace_id"] == REMOTE_TRACE
    assert "boom" in failure["message"] and "Traceback" in failure["exception"]
