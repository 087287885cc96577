"""Scale-out figures (issue 16), with real ``actorflow`` processes on PostgreSQL.

- ``scale_runs_per_s``: W3-like runs (a 5-node chain, each node ``sleep(0.001)``)
  queued at once, executed by 1, 2 and 4 ``actorflow worker`` processes; runs/s from
  the first enqueue to the last completion.
- ``scale_cpu``: for each worker count, where those runs' CPU went (ms per run: the
  workers, the database's backends, the submitting process), how many cores were busy
  on average, and the ceiling that CPU cost puts on runs/s on this machine
  (``cores / total ms per run``): no number of workers can beat it. With 1 worker
  using well under one core (latency-bound) and 4 competing with the database for 2
  cores, it tells whether a figure is the code's limit or the machine's.
  ``load_before`` is the machine's 1-minute load average when the measure began.
- ``takeover_s``: kill -9 of the worker executing a run, to the first node started
  elsewhere (default lease settings); p50 and max.
- ``cross_instance_ws_latency_ms``: a WebSocket client on a ``serve --no-execute``
  instance, following a run executed by a worker; publish-to-receive per event.

    python -m tests.bench.scale [--quick]      # needs ACTORFLOW_TEST_POSTGRES_URL

``make bench`` runs it as the SCALE workload.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio

from runtime import END, Graph, Runtime
from runtime.lease import ClusterSettings

REPO = Path(__file__).resolve().parent.parent.parent
ACTORFLOW = str(Path(sys.executable).with_name("actorflow"))


async def tick(state):  # type: ignore[no-untyped-def]
    await anyio.sleep(float(state.data.get("pause", 0.001)))
    return {"n": state.data.get("n", 0) + 1}


def chain(steps: int = 5) -> Graph:
    g = Graph(f"bench_scale_chain_{steps}")
    names = [f"n{i}" for i in range(steps)]
    for name in names:
        g.add_node(name, tick)
    for a, b in zip(names, names[1:], strict=False):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


# -- processes and databases ---------------------------------------------------------------

async def _admin(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    name = f"actorflow_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    main, _, query = url.partition("?")
    try:
        yield f"{main.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")
    finally:
        asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Proc:
    """An actorflow subprocess; ``ready`` once its log says it is serving or working."""

    def __init__(self, *args: str, log_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
        env["PYTHONPATH"] = str(REPO)
        env["ACTORFLOW_LOG_LEVEL"] = "info"
        self.log_path = log_dir / f"{args[0]}-{uuid.uuid4().hex[:6]}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([ACTORFLOW, *args], stdout=log,
                                         stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if "executing runs" in text or "serving on" in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args} exited:\n{text}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.proc.args} not ready in {timeout}s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def processes(log_dir: Path) -> Iterator[list[Proc]]:
    started: list[Proc] = []
    try:
        yield started
    finally:
        for p in started:
            p.stop()


def worker(url: str, log_dir: Path, *args: str) -> Proc:
    return Proc("worker", "--database-url", url, "--concurrency", "200", *args, log_dir=log_dir)


# -- figures ----------------------------------------------------------------------------

async def _count_finished(rt: Runtime) -> int:
    return await rt.store.count_runs("completed")


async def _throughput(url: str, runs: int) -> float:
    async with Runtime(url, cluster=ClusterSettings(execute=False)) as rt:
        graph = chain().compile()
        started = time.perf_counter()

        async def submit(n: int) -> None:
            for _ in range(n):
                await rt.submit(graph, {"pause": 0.001})

        async with anyio.create_task_group() as tg:  # 20 clients at once
            for i in range(20):
                tg.start_soon(submit, runs // 20 + (1 if i < runs % 20 else 0))
        while await _count_finished(rt) < runs:
            await anyio.sleep(0.02)
        return runs / (time.perf_counter() - started)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _backend_pids(url: str) -> set[int]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = "
                                "current_database() AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return {int(r["pid"]) for r in rows}


class CpuMeter:
    """CPU spent by the workers, the database backends serving this database (same
    machine only: read from /proc) and this process, between start() and stop()."""

    def __init__(self, url: str, workers: list[Proc]) -> None:
        self.url, self.workers = url, workers

    def start(self) -> None:
        self._load = os.getloadavg()[0]
        self._backends = {p: _cpu_seconds(p) for p in asyncio.run(_backend_pids(self.url))}
        self._workers = [_cpu_seconds(w.proc.pid) for w in self.workers]
        self._self = time.process_time()
        self._wall = time.perf_counter()

    def stop(self, runs: int) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        me = time.process_time() - self._self
        workers = sum(_cpu_seconds(w.proc.pid) - before
                      for w, before in zip(self.workers, self._workers, strict=True))
        # Backends opened meanwhile count from zero; those closed meanwhile are missed.
        backends = sum(_cpu_seconds(p) - self._backends.get(p, 0.0)
                       for p in asyncio.run(_backend_pids(self.url)))
        total = workers + backends + me
        ms = 1000 / runs
        return {"workers_ms_per_run": workers * ms, "database_ms_per_run": backends * ms,
                "submitter_ms_per_run": me * ms, "cores_busy": total / wall,
                "ceiling_runs_per_s": (os.cpu_count() or 1) / (total / runs),
                "load_before": self._load}


def scale_runs_per_s(pg: str, workers: int, runs: int, log_dir: Path,
                     cpu: dict[str, Any] | None = None) -> float:
    """Runs/s with ``workers`` worker processes; ``cpu`` gets where the CPU went."""
    with fresh_database(pg) as url, processes(log_dir) as procs:
        asyncio.run(_prepare(url))
        for _ in range(workers):
            procs.append(worker(url, log_dir))
        for p in procs:
            p.wait_ready()
        meter = CpuMeter(url, list(procs))
        meter.start()
        rate = anyio.run(_throughput, url, runs)
        if cpu is not None:
            cpu.update(meter.stop(runs))
        return rate


def scale_figures(pg: str, runs: int, log_dir: Path) -> dict[str, Any]:
    """``scale_runs_per_s`` and ``scale_cpu`` for 1, 2 and 4 workers."""
    rates: dict[str, float] = {}
    cpus: dict[str, Any] = {}
    for n in (1, 2, 4):
        cpus[str(n)] = {}
        rates[str(n)] = scale_runs_per_s(pg, n, runs, log_dir, cpus[str(n)])
    return {"scale_runs_per_s": rates, "scale_cpu": cpus}


async def _prepare(url: str) -> None:
    async with Runtime(url):
        pass  # migrations applied once, before the workers race for them


async def _takeover_once(url: str, log_dir: Path) -> float:
    with processes(log_dir) as procs:
        a = worker(url, log_dir)
        procs.append(a)
        a.wait_ready()
        async with Runtime(url, cluster=ClusterSettings(execute=False)) as rt:
            view = await rt.submit(chain(20).compile(), {"pause": 0.2})
            while (r := await rt.store.get_run(view.id)) is None or r.status.value != "running":
                await anyio.sleep(0.02)
            b = worker(url, log_dir)
            procs.append(b)
            b.wait_ready()
            a.proc.kill()
            killed = time.time()
            a.proc.wait()
            while True:
                later = [e for e in await rt.store.read_events(view.id)
                         if e.type.value == "node_started" and e.ts > killed]
                if later:
                    return later[0].ts - killed
                await anyio.sleep(0.02)


def takeover_s(pg: str, tries: int, log_dir: Path) -> dict[str, float]:
    times = []
    for _ in range(tries):
        with fresh_database(pg) as url:
            asyncio.run(_prepare(url))
            times.append(anyio.run(_takeover_once, url, log_dir))
    return {"p50": statistics.median(times), "max": max(times), "tries": len(times)}


async def _ws_latency(url: str, port: int, steps: int) -> list[float]:
    import httpx
    from httpx_ws import aconnect_ws

    async with Runtime(url, cluster=ClusterSettings(execute=False)) as rt:
        view = await rt.submit(chain(steps).compile(), {"pause": 0.01})
        latencies: list[float] = []
        async with httpx.AsyncClient() as http, aconnect_ws(
                f"ws://127.0.0.1:{port}/api/v1/graph/ws/{view.id}", http) as ws:
            connected = time.time()
            while True:
                message = json.loads(await ws.receive_text())
                if message.get("type") == "log" and message.get("timestamp"):
                    sent = datetime.fromisoformat(
                        message["timestamp"].replace("Z", "+00:00")).timestamp()
                    if sent >= connected:  # live, not replayed from before we connected
                        latencies.append((time.time() - sent) * 1000)
                if message.get("type") == "complete":
                    return latencies


def cross_instance_ws_latency_ms(pg: str, steps: int, log_dir: Path) -> dict[str, float]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with fresh_database(pg) as url, processes(log_dir) as procs:
        asyncio.run(_prepare(url))
        procs.append(Proc("serve", "--database-url", url, "--port", str(port), "--no-execute",
                          log_dir=log_dir))
        procs.append(worker(url, log_dir))
        for p in procs:
            p.wait_ready()
        lat = sorted(anyio.run(_ws_latency, url, port, steps))
    return {"p50": statistics.median(lat), "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "events": len(lat)}


def bench(pg: str, quick: bool = False) -> dict[str, Any]:
    """Every scale-out figure (a few minutes; ``quick``: under one)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="actorflow-bench-scale-") as tmp:
        log_dir = Path(tmp)
        runs = 200 if quick else 1000
        out: dict[str, Any] = {
            **scale_figures(pg, runs, log_dir),
            "takeover_s": takeover_s(pg, 1 if quick else 5, log_dir),
            "cross_instance_ws_latency_ms": cross_instance_ws_latency_ms(
                pg, 20 if quick else 100, log_dir),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.scale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="runs,takeover,ws")
    args = ap.parse_args(argv)
    pg = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not pg:
        print("set ACTORFLOW_TEST_POSTGRES_URL (eval \"$(.ci/pg.sh env)\")", file=sys.stderr)
        return 2
    only = set(args.only.split(","))
    with ExitStack():
        import tempfile

        log_dir = Path(tempfile.mkdtemp(prefix="actorflow-bench-scale-"))
        out: dict[str, Any] = {}
        if "runs" in only:
            out.update(scale_figures(pg, 200 if args.quick else 1000, log_dir))
        if "takeover" in only:
            out["takeover_s"] = takeover_s(pg, 1 if args.quick else 5, log_dir)
        if "ws" in only:
            out["cross_instance_ws_latency_ms"] = cross_instance_ws_latency_ms(
                pg, 20 if args.quick else 100, log_dir)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    # Through the package, so that node functions are named tests.bench.scale:tick for
    # the worker processes (not __main__:tick).
    from tests.bench.scale import main as _main

    sys.exit(_main())
