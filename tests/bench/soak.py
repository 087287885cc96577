"""Soak: a real server on PostgreSQL under steady load, with faults, for minutes.

``make soak`` (``SOAK_SECONDS=3600 make soak`` for an hour). What it does:

- starts a throwaway PostgreSQL cluster (``.ci/pg.sh`` with a state file of its own;
  or uses ``ACTORFLOW_TEST_POSTGRES_URL`` with ``ACTORFLOW_TEST_PG_CTL``) and one
  ``actorflow serve`` process (Hypercorn) on it;
- ``--clients`` HTTP clients each start a run (``POST /api/v1/graph/run``) and long-poll
  it to its end (``GET /api/v1/runs/{id}/wait``), over and over: a loop of five steps,
  5% of them told to fail at the end (injected node faults, "failed as intended");
- ``--ws`` WebSocket clients follow random recent runs and drop the connection at a
  random point;
- at 35% of the time PostgreSQL is stopped (``pg_ctl stop -m fast``) for
  ``--outage`` seconds and started again; at 65% the server is SIGKILLed and started
  again on the same port (its runs are taken over after their lease);
- after the load stops, waits for every started run to end, and reports: runs
  started, completed, failed as intended, failed otherwise, lost (never ended or ended
  wrong: must be 0), requests refused with 503, p50/p99 latency per minute, and the
  server's RSS per minute (must level off).

Writes the ``soak_*`` keys into ``tests/bench/results.json`` (merged: other keys kept).
Exit status 1 if any run was lost or failed unintended.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent.parent
RESULTS = REPO / "tests" / "bench" / "results.json"
ACTORFLOW = str(Path(sys.executable).with_name("actorflow"))
STEPS = 5
FAULT_RATE = 0.05
FAULT_MESSAGE = "injected soak fault"

GRAPH: dict[str, Any] = {
    "name": "soak_loop",
    "description": "five steps of set + delay; a run told to fail fails at the end",
    "nodes": [
        {"name": "step", "tool": "set", "config": {"values": {"count": 1}}},
        {"name": "wait", "tool": "delay", "config": {"seconds": 0.05}},
        {"name": "boom", "tool": "fail", "config": {"message": FAULT_MESSAGE}},
        {"name": "done", "tool": "set", "config": {"values": {"finished": True}}},
    ],
    "edges": [
        {"from": "step", "to": "wait"},
        {"from": "wait", "to": "step", "condition": f"count < {STEPS}"},
        {"from": "wait", "to": "boom", "condition": f"count >= {STEPS} and fault"},
        {"from": "wait", "to": "done"},
    ],
    "entry_point": "step",
    "reducers": {"count": "add"},
}


# -- PostgreSQL and the server ------------------------------------------------------------

class Postgres:
    """A cluster the soak may stop and start: from the environment, or its own."""

    def __init__(self) -> None:
        self.url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL", "")
        self.ctl = shlex.split(os.environ.get("ACTORFLOW_TEST_PG_CTL", ""))
        self._env = dict(os.environ)
        self._env["ACTORFLOW_PG_STATE_FILE"] = str(REPO / ".venv" / "actorflow-soak-pg.state")
        self._own = False

    def start(self) -> None:
        if self.url and self.ctl:
            return
        script = str(REPO / ".ci" / "pg.sh")
        self._own = True
        out = subprocess.run([script, "start"], env=self._env, capture_output=True,
                             text=True, check=True, timeout=180)
        self.url = out.stdout.strip().splitlines()[-1]
        env = subprocess.run([script, "env"], env=self._env, capture_output=True,
                             text=True, check=True).stdout
        for line in env.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name == "ACTORFLOW_TEST_PG_CTL":
                self.ctl = shlex.split(shlex.split(value)[0])

    def stop(self) -> None:
        if self._own:
            subprocess.run([str(REPO / ".ci" / "pg.sh"), "stop"], env=self._env,
                           capture_output=True, timeout=120, check=False)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.ctl, *args], check=True, capture_output=True, timeout=120)


def fresh_database(admin_url: str) -> str:
    import asyncpg  # type: ignore[import-untyped]

    name = f"actorflow_soak_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    main, _, query = admin_url.partition("?")
    return f"{main.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


class Server:
    """``actorflow serve`` on a fixed port; started again after a SIGKILL."""

    def __init__(self, url: str, port: int, backend: str, log_dir: Path,
                 gc_threshold: int | None = None) -> None:
        self.url, self.port, self.backend, self.log_dir = url, port, backend, log_dir
        self.gc_threshold = gc_threshold
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
        env["PYTHONPATH"] = str(REPO)
        if self.gc_threshold is not None:
            env["ACTORFLOW_GC_THRESHOLD"] = str(self.gc_threshold)
        self.starts += 1
        log = (self.log_dir / f"serve-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [ACTORFLOW, "serve", "--database-url", self.url, "--port", str(self.port),
             "--backend", self.backend], stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited; see {log.name}")
            time.sleep(0.2)
        raise RuntimeError("the server did not become healthy within 120 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_mib(self) -> float | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        with suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return None


# -- the load ------------------------------------------------------------------------------

@dataclass
class Tally:
    started: dict[str, bool] = field(default_factory=dict)   # run id -> told to fail
    outcome: dict[str, str] = field(default_factory=dict)    # run id -> how it ended
    latency: list[tuple[float, float]] = field(default_factory=list)  # (end, ms)
    refused: int = 0          # 503 answers (outage, restart)
    unreachable: int = 0      # connection errors (server killed)
    ws_connects: int = 0
    ws_messages: int = 0
    rss: list[tuple[float, float]] = field(default_factory=list)  # (t, MiB)
    marks: dict[str, float] = field(default_factory=dict)


def judge(view: dict[str, Any], fault: bool) -> str | None:
    """How a run ended, from its state view; None while it has not."""
    status = view.get("status")
    if status == "completed":
        data = view.get("current_state") or {}
        ok = not fault and data.get("count") == STEPS and data.get("finished") is True
        return "completed" if ok else "wrong"
    if status == "failed":
        return "failed_intended" if fault and FAULT_MESSAGE in str(view.get("error")) \
            else "failed_other"
    if status in ("cancelled", "waiting"):
        return "wrong"
    return None


async def follow(http: httpx.AsyncClient, run_id: str, fault: bool, began: float,
                 t: Tally, t0: float, give_up: float) -> None:
    while time.monotonic() < give_up:
        try:
            r = await http.get(f"/api/v1/runs/{run_id}/wait", params={"timeout": 20},
                               timeout=40)
        except httpx.HTTPError:
            t.unreachable += 1
            await asyncio.sleep(0.5)
            continue
        if r.status_code != 200:
            t.refused += r.status_code == 503
            await asyncio.sleep(0.5)
            continue
        ended = judge(r.json(), fault)
        if ended is not None:
            t.outcome[run_id] = ended
            now = time.monotonic()
            t.latency.append((now - t0, (now - began) * 1000))
            return


async def client(http: httpx.AsyncClient, graph_id: str, t: Tally, t0: float,
                 stop_at: float, give_up: float) -> None:
    while time.monotonic() < stop_at:
        fault = random.random() < FAULT_RATE
        began = time.monotonic()
        try:
            r = await http.post("/api/v1/graph/run", json={
                "graph_id": graph_id, "initial_state": {"count": 0, "fault": fault}},
                timeout=30)
        except httpx.HTTPError:
            t.unreachable += 1
            await asyncio.sleep(0.5)
            continue
        if r.status_code == 503:
            t.refused += 1
            await asyncio.sleep(min(1.0, float(r.headers.get("Retry-After", 1))))
            continue
        r.raise_for_status()
        run_id = r.json()["run_id"]
        t.started[run_id] = fault
        await follow(http, run_id, fault, began, t, t0, give_up)


async def ws_client(base: str, t: Tally, stop_at: float) -> None:
    from httpx_ws import aconnect_ws

    async with httpx.AsyncClient() as http:
        while time.monotonic() < stop_at:
            if not t.started:
                await asyncio.sleep(0.2)
                continue
            run_id = random.choice(list(t.started)[-50:])
            budget = random.randint(1, 30)
            try:
                async with aconnect_ws(f"{base.replace('http', 'ws', 1)}/api/v1/graph/ws/"
                                       f"{run_id}", http) as ws:
                    t.ws_connects += 1
                    for _ in range(budget):  # then drop it, mid-stream or not
                        message = json.loads(await asyncio.wait_for(ws.receive_text(), 5))
                        t.ws_messages += 1
                        if message.get("type") in ("complete", "error"):
                            break
            except Exception:  # noqa: BLE001 - outages and kills end connections too
                await asyncio.sleep(0.2)
            await asyncio.sleep(random.uniform(0, 0.5))


async def sample_rss(server: Server, t: Tally, t0: float, stop_at: float) -> None:
    while time.monotonic() < stop_at:
        rss = server.rss_mib()
        if rss is not None:
            t.rss.append((time.monotonic() - t0, rss))
        await asyncio.sleep(5)


async def chaos(pg: Postgres, server: Server, t: Tally, t0: float, seconds: float,
                outage: float) -> None:
    await asyncio.sleep(seconds * 0.35)
    t.marks["postgres_stopped_s"] = time.monotonic() - t0
    await asyncio.to_thread(pg.pg_ctl, "stop", "-m", "fast")
    await asyncio.sleep(outage)
    await asyncio.to_thread(pg.pg_ctl, "start", "-w")
    t.marks["postgres_started_s"] = time.monotonic() - t0
    await asyncio.sleep(max(0.0, seconds * 0.65 - (time.monotonic() - t0)))
    t.marks["server_killed_s"] = time.monotonic() - t0
    await asyncio.to_thread(server.kill)
    await asyncio.to_thread(server.start)
    t.marks["server_back_s"] = time.monotonic() - t0


async def load(pg: Postgres, server: Server, args: argparse.Namespace) -> Tally:
    base = f"http://127.0.0.1:{server.port}"
    t = Tally()
    limits = httpx.Limits(max_connections=args.clients * 2 + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits) as http:
        r = await http.post("/api/v1/graph/create", json=GRAPH)
        r.raise_for_status()
        graph_id = r.json()["graph_id"]
        t0 = time.monotonic()
        stop_at = t0 + args.seconds
        give_up = stop_at + args.drain
        async with asyncio.TaskGroup() as tg:
            tg.create_task(chaos(pg, server, t, t0, args.seconds, args.outage))
            tg.create_task(sample_rss(server, t, t0, give_up))
            for _ in range(args.ws):
                tg.create_task(ws_client(base, t, stop_at))
            for _ in range(args.clients):
                tg.create_task(client(http, graph_id, t, t0, stop_at, give_up))
        # Anything not seen to end by a client (none should be left): ask once more.
        for run_id, fault in t.started.items():
            if run_id not in t.outcome:
                await follow(http, run_id, fault, t0, t, t0, time.monotonic() + 5)
    return t


# -- report ---------------------------------------------------------------------------------

def per_minute(t: Tally) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    lat: dict[int, list[float]] = {}
    for end, ms in t.latency:
        lat.setdefault(int(end // 60), []).append(ms)
    latency = []
    for minute, values in sorted(lat.items()):
        values.sort()
        latency.append({"minute": minute, "runs": len(values),
                        "p50_ms": round(statistics.median(values), 1),
                        "p99_ms": round(values[min(len(values) - 1, int(len(values) * 0.99))], 1)})
    rss: dict[int, list[float]] = {}
    for at, mib in t.rss:
        rss.setdefault(int(at // 60), []).append(mib)
    return latency, [{"minute": m, "rss_mib": round(max(v), 1)} for m, v in sorted(rss.items())]


def summary(t: Tally, args: argparse.Namespace, server_starts: int) -> dict[str, Any]:
    counts = {k: sum(1 for v in t.outcome.values() if v == k)
              for k in ("completed", "failed_intended", "failed_other", "wrong")}
    lost = len(t.started) - len(t.outcome) + counts["wrong"]
    latency, rss = per_minute(t)
    # Levelling off: RSS at the end against the first full minute after the restart
    # (the process restarted mid-soak starts small again).
    after = [s for s in t.rss if s[0] > t.marks.get("server_back_s", 0) + 60]
    growth = round(after[-1][1] - after[0][1], 1) if len(after) > 1 else None
    return {
        "soak_seconds": args.seconds, "soak_clients": args.clients,
        "soak_runs_started": len(t.started),
        "soak_runs_completed": counts["completed"],
        "soak_runs_failed_intended": counts["failed_intended"],
        "soak_runs_failed_unintended": counts["failed_other"],
        "soak_runs_lost": lost,
        "soak_requests_refused_503": t.refused,
        "soak_requests_unreachable": t.unreachable,
        "soak_ws_connections": t.ws_connects, "soak_ws_messages": t.ws_messages,
        "soak_latency_ms_per_minute": latency,
        "soak_rss_mib_per_minute": rss,
        "soak_rss_growth_after_restart_mib": growth,
        "soak_events_s": {k: round(v, 1) for k, v in t.marks.items()},
        "soak_server_starts": server_starts,
    }


def write_results(result: dict[str, Any]) -> None:
    doc: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    doc.update(result)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", "300")))
    ap.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", "16")))
    ap.add_argument("--ws", type=int, default=4, help="WebSocket clients")
    ap.add_argument("--outage", type=float, default=10.0, help="PostgreSQL down, seconds")
    ap.add_argument("--drain", type=float, default=120.0,
                    help="after the load, how long runs get to end")
    ap.add_argument("--backend", default=os.environ.get("SOAK_BACKEND", "asyncio"))
    ap.add_argument("--no-results", action="store_true", help="don't write results.json")
    ap.add_argument("--gc-threshold", type=int, default=None,
                    help="the server's ACTORFLOW_GC_THRESHOLD (0: Python's own); default: serve's")
    args = ap.parse_args(argv)

    pg = Postgres()
    pg.start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_dir = Path(tempfile.mkdtemp(prefix="actorflow-soak-"))
    server = Server(fresh_database(pg.url), port, args.backend, log_dir, args.gc_threshold)
    try:
        server.start()
        print(f"soak: {args.seconds:.0f} s, {args.clients} clients, {args.ws} WebSocket "
              f"clients, server logs in {log_dir}", file=sys.stderr)
        tally = asyncio.run(load(pg, server, args))
    finally:
        server.stop()
        pg.stop()
    result = summary(tally, args, server.starts)
    print(json.dumps(result, indent=2))
    if not args.no_results:
        write_results(result)
    bad = result["soak_runs_lost"] or result["soak_runs_failed_unintended"]
    print(f"soak: {result['soak_runs_started']} runs started, "
          f"{result['soak_runs_completed']} completed, "
          f"{result['soak_runs_failed_intended']} failed as intended, "
          f"{result['soak_runs_failed_unintended']} failed otherwise, "
          f"{result['soak_runs_lost']} lost", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
