"""OpenTelemetry spans of runs and node attempts, seen by an application that owns its
tracer provider (tests/runtime/tracing_app.py, a process per scenario: a tracer provider
is process-wide state that can be set once)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).with_name("tracing_app.py")
ROOT = APP.parents[2]
BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])
REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_PARENT = "00f067aa0ba902b7"


def scenario(backend: str, name: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(APP), backend, name, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def named(spans: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["name"] == name]


@BACKENDS
def test_embedded_run_spans_go_to_the_apps_provider_which_stays_global(backend: str) -> None:
    seen = scenario(backend, "embedded")
    [run] = named(seen["spans"], "actorflow.run")
    nodes = named(seen["spans"], "actorflow.node")
    # The run is a child of the app's span that was current where it was started.
    assert run["parent_id"] == seen["app_span_id"]
    assert run["attributes"] == {"actorflow.run_id": seen["run_id"], "actorflow.graph": "traced",
                                 "actorflow.resumed": False, "actorflow.outcome": "completed"}
    attempts = sorted((n["attributes"]["actorflow.node"], n["attributes"]["actorflow.attempt"],
                       n["attributes"]["actorflow.outcome"], n["status"]) for n in nodes)
    assert attempts == [("A", 1, "completed", "UNSET"), ("B", 1, "retrying", "ERROR"),
                        ("B", 2, "completed", "UNSET")]
    assert all(n["parent_id"] == run["span_id"] for n in nodes)
    assert all(n["attributes"]["actorflow.run_id"] == seen["run_id"] for n in nodes)
    assert {s["trace_id"] for s in seen["spans"]} == {run["trace_id"]}
    # The server's set-up, called in this process, leaves the app's provider alone.
    assert seen["server_setup_configured"] is False
    assert seen["provider_is_global"] is True


@BACKENDS
def test_a_resumed_run_continues_the_trace_stored_with_it(backend: str, tmp_path: Path) -> None:
    seen = scenario(backend, "resume", str(tmp_path / "runs.db"))
    assert (seen["first_status"], seen["final"]) == ("waiting", "completed")
    runs = named(seen["spans"], "actorflow.run")
    assert [(r["attributes"]["actorflow.resumed"], r["attributes"]["actorflow.outcome"])
            for r in runs] == [(False, "waiting"), (True, "completed")]
    assert {r["trace_id"] for r in runs} == {REMOTE_TRACE}
    assert {r["parent_id"] for r in runs} == {REMOTE_PARENT}
    outcomes = [n["attributes"]["actorflow.outcome"] for n in named(seen["spans"], "actorflow.node")]
    assert outcomes == ["interrupted", "completed"]


@BACKENDS
def test_llm_calls_carry_the_node_attempts_traceparent(backend: str) -> None:
    seen = scenario(backend, "llm")
    [node] = named(seen["spans"], "actorflow.node")
    assert seen["sent"] == [f"00-{REMOTE_TRACE}-{node['span_id']}-01"]
