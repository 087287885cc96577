"""cProfile of a real ``actorflow serve`` under the HTTP benchmark's clients.

    python -m tests.bench.http_profile [--backend asyncio] [--form wait|poll|health]
                                       [--runs 1500] [--top 25]

The server runs in a subprocess under cProfile (SQLite in a temp dir); the clients of
:mod:`.http` drive it; on SIGTERM it drains, stops and writes the profile, whose top
functions (by cumulative and own time) are printed. Read the shares, not the absolute
times: the profiler inflates call-heavy code by 2-3x.
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

from . import http


def _start(backend: str, tmp: Path, out: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = http.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    env["ACTORFLOW_LOG_LEVEL"] = "warning"
    actorflow = str(Path(sys.executable).with_name("actorflow"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cProfile", "-o", str(out), actorflow, "serve", "--host",
         "127.0.0.1", "--port", str(port), "--backend", backend, "--database-url",
         f"sqlite:///{tmp / 'bench.db'}"], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


async def _drive(port: int, form: str, runs: int) -> None:
    graph_id = await http._create_graph(port)
    if form == "health":
        await http._plain_requests_per_s(port, http.CLIENTS, runs)
    else:
        await http._runs_per_s(port, graph_id, http.CLIENTS, runs, 120.0, wait=form == "wait")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="asyncio")
    parser.add_argument("--form", default="wait", choices=["wait", "poll", "health"])
    parser.add_argument("--runs", type=int, default=1500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="keep the profile here (pstats format)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="actorflow-prof-") as name:
        tmp = Path(name)
        out = Path(args.out) if args.out else tmp / "server.prof"
        proc, port = _start(args.backend, tmp, out)
        try:
            anyio.run(_drive, port, args.form, args.runs)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        stats = pstats.Stats(str(out))
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
