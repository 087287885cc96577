"""Many WebSocket readers on one run (issue 10, item 5): ``ws_500_clients_slowdown``.

A run waits at an ``ask`` node while ``clients`` WebSocket clients (in a process of their
own, as clients on other machines would be) connect to its live log and replay what it
did so far; then it is answered and goes on through ``steps`` node executions (a
``set`` and a short ``delay`` each, I/O-shaped work). The figure is the time from the
answer to the run's end with the readers, over the same with none (one server, the two
measured back to back, ``reps`` times each, medians). Beside it: the server's RSS
before the readers connect, while they read, and after they are gone
(``ws_500_clients_rss_mib``), which says whether their memory is given back.

Run alone: ``python -m tests.bench.ws_fanout [asyncio|trio] [--clients N] [--reps N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

__all__ = ["bench_ws_fanout"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from _server import server

CLIENTS = 500
STEPS = 150
PAUSE_S = 0.005


def graph(steps: int, pause: float) -> dict[str, Any]:
    return {
        "name": f"bench_fanout_{steps}", "reducers": {"count": "add"},
        "nodes": [{"name": "gate", "tool": "ask", "config": {"question": "go?", "key": "go"}},
                  {"name": "tick", "tool": "set", "config": {"values": {"count": 1}}},
                  {"name": "pause", "tool": "delay", "config": {"seconds": pause}}],
        "edges": [{"from": "gate", "to": "tick"}, {"from": "tick", "to": "pause"},
                  {"from": "pause", "to": "tick", "condition": f"count < {steps}"},
                  {"from": "pause", "to": "__end__"}],
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _waiting_run(http: httpx.Client, graph_id: str) -> str:
    run_id = str(http.post("/api/v1/graph/run", json={"graph_id": graph_id}).json()["run_id"])
    state = http.get(f"/api/v1/runs/{run_id}/wait?timeout=30").json()
    assert state["status"] == "waiting", state
    return run_id


def _answered_s(http: httpx.Client, run_id: str) -> float:
    """Answer the run; seconds until it completed."""
    started = time.perf_counter()
    assert http.post(f"/api/v1/runs/{run_id}/resume", json={"answer": True}).status_code < 300
    state = http.get(f"/api/v1/runs/{run_id}/wait?timeout=600", timeout=620).json()
    took = time.perf_counter() - started
    assert state["status"] == "completed", state
    return took


def _with_readers(http: httpx.Client, srv: Any, run_id: str, clients: int, batch: bool
                  ) -> tuple[float, float, dict[str, Any]]:
    query = "?batch=true" if batch else ""
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.ws_fanout", "--readers",
                             f"{srv.ws_url}/api/v1/graph/ws/{run_id}{query}", "--clients",
                             str(clients)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    rss = _rss_mib(srv.proc.pid)
    took = _answered_s(http, run_id)
    report = json.loads(proc.stdout.readline())
    proc.wait(60)
    return took, rss, report


def bench_ws_fanout(*, backend: str = "asyncio", clients: int = CLIENTS, reps: int = 3,
                    steps: int = STEPS, batch: bool = False) -> dict[str, Any]:
    """The run's time with ``clients`` readers over its time alone, and the server's RSS.
    ``batch``: the readers ask for batch frames (``?batch=true``), as the Studio does."""
    with tempfile.TemporaryDirectory(prefix="actorflow-bench-") as tmp, \
            server(backend, f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp),
                   log_level="warning", max_ws_per_key=clients + 10) as srv, \
            httpx.Client(base_url=srv.url, timeout=60) as http:
        gid = http.post("/api/v1/graph/create", json=graph(steps, PAUSE_S)).json()["graph_id"]
        _answered_s(http, _waiting_run(http, gid))   # warm-up
        rss_before = _rss_mib(srv.proc.pid)
        alone: list[float] = []
        crowded: list[float] = []
        rss_during: list[float] = []
        reports = []
        for _ in range(reps):
            alone.append(_answered_s(http, _waiting_run(http, gid)))
            took, rss, report = _with_readers(http, srv, _waiting_run(http, gid), clients,
                                              batch)
            crowded.append(took)
            rss_during.append(rss)
            reports.append(report)
        time.sleep(1.0)   # the readers' connections are closed and collected
        rss_after = _rss_mib(srv.proc.pid)
    ratio = statistics.median(crowded) / statistics.median(alone)
    return {"ws_500_clients_slowdown": ratio,
            "ws_500_clients_alone_s": [round(x, 3) for x in alone],
            "ws_500_clients_crowded_s": [round(x, 3) for x in crowded],
            "ws_500_clients_rss_mib": {"before": round(rss_before, 1),
                                       "during": round(max(rss_during), 1),
                                       "after": round(rss_after, 1)},
            "ws_500_clients_readers": reports,
            "ws_500_clients_shape": f"{clients} readers, {steps} x (set, delay "
                                    f"{PAUSE_S * 1000:g} ms) after an answer, {backend}"
                                    f"{', batch frames' if batch else ''}"}


# -- the readers' process ----------------------------------------------------------------

async def _readers(url: str, clients: int) -> dict[str, Any]:
    from httpx_ws import aconnect_ws

    counts: list[int] = []
    endings: dict[str, int] = {}
    connected = anyio.Event()
    joined = [0]

    async def reader(http: httpx.AsyncClient) -> None:
        async with aconnect_ws(url, http, keepalive_ping_interval_seconds=None) as ws:
            joined[0] += 1
            if joined[0] == clients:
                connected.set()
            n = 0
            while True:
                try:
                    frame = json.loads(await ws.receive_text(timeout=300))
                except Exception as exc:  # noqa: BLE001 - a closed feed ends the count
                    endings[type(exc).__name__] = endings.get(type(exc).__name__, 0) + 1
                    break
                batch = frame["messages"] if frame["type"] == "batch" else [frame]
                n += len(batch)
                message = batch[-1]
                if message["type"] in ("complete", "error"):
                    endings[message.get("code") or message["type"]] = (
                        endings.get(message.get("code") or message["type"], 0) + 1)
                    break
            counts.append(n)

    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http, \
            anyio.create_task_group() as tg:
        for _ in range(clients):
            tg.start_soon(reader, http)
        await connected.wait()
        print("ready", flush=True)
    return {"messages_median": statistics.median(counts) if counts else 0,
            "endings": endings}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("backend", nargs="*", default=["asyncio"])
    ap.add_argument("--clients", type=int, default=CLIENTS)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--readers", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.readers:
        print(json.dumps(anyio.run(_readers, args.readers, args.clients)), flush=True)
    else:
        for b in args.backend:
            print(json.dumps(bench_ws_fanout(backend=b, clients=args.clients, reps=args.reps,
                                             steps=args.steps, batch=args.batch)))
