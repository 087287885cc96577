"""HTTP and WebSocket benchmarks through a real ``actorflow serve`` process.

- ``http_runs_per_s``: a trivial 3-node graph; ``clients`` concurrent clients each
  start a run (``POST /api/v1/graph/run``) and long-poll it to completion
  (``GET /api/v1/runs/{id}/wait``); completed runs per second, SQLite database.
- ``ws_event_latency_ms``: p50 and p99 from an event's publication (its timestamp,
  same machine clock) to its receipt by a WebSocket client, on a looping graph
  that emits events spaced out by a short delay (latency, not backlog).
- ``http_wait_runs_per_s``: the same, each run in one request (``"wait": true``).
- ``http_plain_requests_per_s`` (the baseline): the same clients and connections
  sending ``GET /health`` (one trivial database query) instead; a run costs two
  requests (start, wait), so half of this is the server's ceiling for runs.
- ``http_wait_cost_vs_health``: what one run in one request costs the server, in
  ``GET /health`` requests (baseline req/s over wait runs/s of the same sample round).
- ``http_client_*_cpu_ms``: the load generator's CPU time per health request and per
  run in one request; the clients run in this process, the server in its own, so on
  two cores the client's share is what the rates owe to it (a tenth or less of the
  server's with :class:`_Conn`; httpx's pool cost more than the server's health check).
- ``http_*_cpu_ms``: the server process's CPU time (user + system, from /proc) per
  health request, per run (two requests) and per run in one request: unlike the rates,
  CPU time per unit hardly moves when other processes load the machine, so before/after
  comparisons on a busy machine use these (``http_wait_cpu_vs_health`` is their ratio).

One server per call; ``reps`` samples of each, interleaved (plain, runs, plain, ...),
after a warm-up. Run alone: ``python -m tests.bench.http [asyncio|trio]``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx
from httpx_ws import aconnect_ws

__all__ = ["CLIENTS", "bench_http", "free_port"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from _server import free_port, server

#: Concurrent clients (issue 10's figure is for 50).
CLIENTS = 50

TRIVIAL = {
    "name": "bench_trivial",
    "nodes": [{"name": "a", "tool": "set", "config": {"values": {"a": 1}}},
              {"name": "b", "tool": "set", "config": {"values": {"b": 2}}},
              {"name": "c", "tool": "set", "config": {"values": {"c": 3}}}],
    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
}


def _ticker(steps: int, pause: float) -> dict[str, Any]:
    return {
        "name": "bench_ticker", "reducers": {"count": "add"},
        "nodes": [{"name": "tick", "tool": "set", "config": {"values": {"count": 1}}},
                  {"name": "pause", "tool": "delay", "config": {"seconds": pause}}],
        "edges": [{"from": "tick", "to": "pause"},
                  {"from": "pause", "to": "tick", "condition": f"count < {steps}"},
                  {"from": "pause", "to": "__end__"}],
    }


class _Conn:
    """A minimal keep-alive HTTP/1.1 client connection.

    httpx's connection pool costs about 3 ms of client CPU per request at 50
    concurrent clients, so with it the benchmark measured the client; this one
    costs a few tens of microseconds.
    """

    def __init__(self, stream: anyio.abc.ByteStream, host: str) -> None:
        self.stream = stream
        self.host = host
        self.buffer = b""

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Length: {len(payload)}\r\n")
        if body is not None:
            head += "Content-Type: application/json\r\n"
        await self.stream.send(head.encode() + b"\r\n" + payload)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += await self.stream.receive()
        header, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":", 1)[1]) for line in lines[1:]
                      if line.lower().startswith("content-length:"))
        while len(self.buffer) < length:
            self.buffer += await self.stream.receive()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, json.loads(data)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _create_graph(port: int) -> str:
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        status, graph = await _Conn(stream, f"127.0.0.1:{port}").request(
            "POST", "/api/v1/graph/create", TRIVIAL)
    assert status == 201, graph
    return str(graph["graph_id"])


async def _runs_per_s(port: int, graph_id: str, clients: int, runs: int,
                      budget: float, *, wait: bool = False) -> dict[str, Any]:
    """Completed runs/s: each run two requests (start, long-poll), or with ``wait``
    one (``POST /api/v1/graph/run`` with ``"wait": true``)."""
    done = 0
    failed = 0
    deadline = time.monotonic() + budget

    async def client() -> None:
        nonlocal done, failed
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            conn = _Conn(stream, f"127.0.0.1:{port}")
            while done + failed < runs and time.monotonic() < deadline:
                if wait:
                    _, result = await conn.request(
                        "POST", "/api/v1/graph/run",
                        {"graph_id": graph_id, "wait": True, "wait_timeout": 30})
                else:
                    _, started = await conn.request("POST", "/api/v1/graph/run",
                                                    {"graph_id": graph_id})
                    _, result = await conn.request(
                        "GET", f"/api/v1/runs/{started['run_id']}/wait?timeout=30")
                if result["status"] == "completed":
                    done += 1
                else:
                    failed += 1

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(client)
    elapsed = time.perf_counter() - t0
    return {"http_runs_per_s": done / elapsed, "http_runs": done,
            "http_runs_failed": failed, "http_clients": clients}


async def _plain_requests_per_s(port: int, clients: int, requests: int) -> float:
    """Requests/s of ``GET /health`` over ``clients`` keep-alive connections."""
    sent = 0

    async def client() -> None:
        nonlocal sent
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            conn = _Conn(stream, f"127.0.0.1:{port}")
            while sent < requests:
                sent += 1
                status, body = await conn.request("GET", "/health")
                if status != 200:
                    raise RuntimeError(f"GET /health answered {status}: {body}")

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(client)
    return sent / (time.perf_counter() - t0)


async def _ws_latency(base: str, ws_base: str, steps: int, pause: float) -> dict[str, Any]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        graph_id = (await http.post("/api/v1/graph/create",
                                    json=_ticker(steps, pause))).json()["graph_id"]
        run_id = (await http.post("/api/v1/graph/run",
                                  json={"graph_id": graph_id})).json()["run_id"]
        async with aconnect_ws(f"{ws_base}/api/v1/graph/ws/{run_id}", http) as ws:
            while True:
                message = json.loads(await ws.receive_text(timeout=60))
                received = time.time()
                if message["type"] == "complete":
                    break
                if message["type"] != "log" or message["event"] == "run_started":
                    continue
                sent = datetime.fromisoformat(message["timestamp"]).timestamp()
                latencies.append((received - sent) * 1000)
    # Events replayed before the socket was open are not latency: skip the first few.
    sample = sorted(latencies[10:]) or sorted(latencies)
    return {
        "ws_event_latency_ms_p50": round(statistics.median(sample), 3),
        "ws_event_latency_ms_p99": round(sample[min(len(sample) - 1, int(len(sample) * 0.99))], 3),
        "ws_events": len(sample),
    }


async def bench_http(*, backend: str = "asyncio", clients: int = 50, runs: int = 3000,
                     budget_s: float = 20.0, ws_steps: int = 300,
                     ws_pause_s: float = 0.002, reps: int = 1, warmup_runs: int = 100,
                     plain_requests: int = 2000, wait: bool = True) -> dict[str, Any]:
    """Start a server (``backend``, SQLite in a temp dir), measure, stop it; the figures.

    ``reps`` samples of runs/s (each at most ``runs`` runs or ``budget_s`` seconds) and
    of the plain-request baseline, interleaved, after ``warmup_runs`` runs; then one
    WebSocket latency sample of ``ws_steps`` ticks. The figures are medians; the
    samples are under ``*_samples``. ``wait=False`` leaves out the one-request form
    (for a server from before it, to compare).
    """
    with tempfile.TemporaryDirectory(prefix="actorflow-bench-") as tmp:
        path = Path(tmp)
        with server(backend, f"sqlite:///{path / 'bench.db'}", path,
                    log_level="warning") as srv:
            out: dict[str, Any] = {"backend": backend}
            graph_id = await _create_graph(srv.port)
            if warmup_runs:
                await _runs_per_s(srv.port, graph_id, clients, warmup_runs, budget_s)
                await _plain_requests_per_s(srv.port, clients, min(plain_requests, 500))
            plain: list[float] = []
            per_s: list[float] = []
            wait_per_s: list[float] = []
            cost: list[float] = []
            cpu: dict[str, list[float]] = {"health": [], "poll": [], "wait": []}
            last: dict[str, Any] = {}
            pid = srv.proc.pid
            client: dict[str, list[float]] = {"health": [], "wait": []}
            for _ in range(reps):
                t0, c0 = _cpu_seconds(pid), time.process_time()
                plain.append(await _plain_requests_per_s(srv.port, clients, plain_requests))
                t1 = _cpu_seconds(pid)
                cpu["health"].append((t1 - t0) * 1000 / plain_requests)
                client["health"].append((time.process_time() - c0) * 1000 / plain_requests)
                last = await _runs_per_s(srv.port, graph_id, clients, runs, budget_s)
                t2 = _cpu_seconds(pid)
                cpu["poll"].append((t2 - t1) * 1000 / max(last["http_runs"], 1))
                per_s.append(last["http_runs_per_s"])
                failed = int(out.get("http_runs_failed", 0)) + last["http_runs_failed"]
                if wait:
                    c2 = time.process_time()
                    waited = await _runs_per_s(srv.port, graph_id, clients, runs, budget_s,
                                               wait=True)
                    cpu["wait"].append((_cpu_seconds(pid) - t2) * 1000
                                       / max(waited["http_runs"], 1))
                    client["wait"].append((time.process_time() - c2) * 1000
                                          / max(waited["http_runs"], 1))
                    wait_per_s.append(waited["http_runs_per_s"])
                    cost.append(plain[-1] / max(waited["http_runs_per_s"], 1e-9))
                    failed += waited["http_runs_failed"]
                out["http_runs_failed"] = failed
            out.update({
                "http_runs_per_s": round(statistics.median(per_s), 1),
                "http_runs_per_s_samples": [round(x, 1) for x in per_s],
                "http_plain_requests_per_s": round(statistics.median(plain), 1),
                "http_plain_requests_per_s_samples": [round(x, 1) for x in plain],
                "http_health_cpu_ms": round(statistics.median(cpu["health"]), 3),
                "http_run_cpu_ms": round(statistics.median(cpu["poll"]), 3),
                "http_runs": last.get("http_runs", 0), "http_clients": clients,
            })
            if wait:
                out.update({
                    "http_wait_runs_per_s": round(statistics.median(wait_per_s), 1),
                    "http_wait_runs_per_s_samples": [round(x, 1) for x in wait_per_s],
                    "http_wait_cost_vs_health": round(statistics.median(cost), 2),
                    "http_wait_cost_vs_health_samples": [round(x, 2) for x in cost],
                    "http_wait_run_cpu_ms": round(statistics.median(cpu["wait"]), 3),
                    # The load generator's own CPU per unit (this process runs only the
                    # clients meanwhile): small beside the server's, or the rates
                    # measure the client.
                    "http_client_health_cpu_ms": round(statistics.median(client["health"]), 3),
                    "http_client_wait_cpu_ms": round(statistics.median(client["wait"]), 3),
                    "http_wait_cpu_vs_health": round(
                        statistics.median(cpu["wait"]) / max(statistics.median(
                            cpu["health"]), 1e-9), 2),
                })
            out.update(await _ws_latency(srv.url, srv.ws_url, ws_steps, ws_pause_s))
            return out


if __name__ == "__main__":
    for b in sys.argv[1:] or ["asyncio", "trio"]:
        print(json.dumps(anyio.run(partial(bench_http, backend=b))))
