"""One benchmark process: one backend, some workloads; results as JSON to ``--out``.

Run by ``python -m tests.bench`` (one process per backend, plus a process per
backend that runs only W3, so that its peak RSS means something). HTTP starts its own
``actorflow serve`` process (this backend, SQLite) and drives it from here; REVIEW is
the code-review workflow (``code_review.py``). Usable alone::

    python -m tests.bench._child --backend trio --workloads W1,W2 --out /tmp/r.json
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


def _peak_kib() -> int:
    """Peak RSS of this process in KiB: VmHWM where /proc has it, else ru_maxrss.

    Linux carries ru_maxrss across execve (a child starts at its parent's peak),
    while VmHWM belongs to this process image alone, so it is preferred.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# Peak RSS of the bare interpreter, before anyio/pydantic/runtime are imported.
_RSS_START_KIB = _peak_kib()

import anyio
import anyio.lowlevel

from . import baselines as base
from .collector import CollectorClock
from . import workloads as wl

_RSS_IMPORTED_KIB = _peak_kib()

#: Wall-clock limit per workload; a hung workload is reported, not waited for.
WORKLOAD_LIMIT_S = 100.0


@dataclass(frozen=True)
class Params:
    w1_reps: int
    w1_iterations: int
    w2_runs: int
    w3_reps: int
    w4_reps: int
    w4_conc_runs: int
    w4_conc_iterations: int   # 2 steps per iteration: 50 -> 100 steps per run
    w4_conc_reps: int
    w4_seq_runs: int
    http_reps: int            # samples of runs/s (and of the plain-request baseline)
    http_runs: int            # runs per sample (at most HTTP_SAMPLE_BUDGET_S seconds)
    http_warmup_runs: int
    http_plain_requests: int  # GET /health requests per baseline sample
    ws_steps: int             # ticks of the WebSocket latency graph (~6 events each)
    review_reps: int
    finance_reps: int
    stream_reps: int = 3      # runs of the token-latency graph
    w2_wide_reps: int = 3     # compiles and runs of the 10,000-branch W2
    stream_tokens: int = 300  # tokens per run


FULL = Params(w1_reps=5, w1_iterations=1000, w2_runs=30, w3_reps=3, w4_reps=3,
              w4_conc_runs=100, w4_conc_iterations=50, w4_conc_reps=2, w4_seq_runs=100,
              http_reps=3, http_runs=1500, http_warmup_runs=100, http_plain_requests=2000,
              ws_steps=300, review_reps=7, finance_reps=7)
QUICK = Params(w1_reps=2, w1_iterations=1000, w2_runs=10, w3_reps=1, w4_reps=1,
               w4_conc_runs=100, w4_conc_iterations=50, w4_conc_reps=1, w4_seq_runs=20,
               http_reps=1, http_runs=500, http_warmup_runs=50, http_plain_requests=500,
               ws_steps=100, review_reps=3, finance_reps=3, stream_reps=1, stream_tokens=200,
               w2_wide_reps=1)

#: STUDIO: page loads measured (full, quick).
STUDIO_REPS = {False: 5, True: 2}

#: HTTP: concurrent clients (issue 4), and a cap on one runs/s sample.
HTTP_CLIENTS = 50
HTTP_SAMPLE_BUDGET_S = 15.0


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)


class Recorder:
    """Collects samples per key and reports medians; errors are kept as notes."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, str] = {}
        self.extra: dict[str, Any] = {}

    def add(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(value)

    def summary(self) -> dict[str, Any]:
        medians = {k: statistics.median(v) for k, v in self.samples.items() if v}
        return {
            "medians": medians,
            "samples": {k: [round(x, 4) for x in v] for k, v in self.samples.items()},
            "errors": self.errors,
            "extra": self.extra,
        }


async def _guard(rec: Recorder, keys: list[str], what: str,
                 body: Callable[[], Awaitable[None]]) -> None:
    """Run one workload; a failure or hang becomes a note on ``keys``, never a crash."""
    try:
        with anyio.move_on_after(WORKLOAD_LIMIT_S) as scope:
            await body()
        if scope.cancelled_caught:
            for k in keys:
                rec.errors.setdefault(k, f"{what}: stopped after {WORKLOAD_LIMIT_S:.0f}s")
    except ImportError as exc:
        for k in keys:
            rec.errors[k] = f"unavailable: {type(exc).__name__}: {exc}"
        print(f"bench: {what} unavailable: {exc}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 -- report, keep measuring the others
        for k in keys:
            rec.errors[k] = f"{type(exc).__name__}: {exc}"
        print(f"bench: {what} failed:\n{traceback.format_exc()}", file=sys.stderr)


# -- workloads ----------------------------------------------------------------------------


async def do_w1(rec: Recorder, p: Params) -> None:
    from runtime import Runtime

    compiled = wl.build_w1(p.w1_iterations)
    async with Runtime() as rt:
        await wl.w1_sample(rt, compiled, p.w1_iterations)          # warm-up
        await base.raw_roundtrip_us()
        for _ in range(p.w1_reps):
            gc.collect()
            rec.add("raw_roundtrip_us", await base.raw_roundtrip_us(2 * p.w1_iterations))
            rec.add("raw_roundtrip_nowait_us",
                    await base.raw_roundtrip_nowait_us(2 * p.w1_iterations))
            gc.collect()
            rec.add("w1_us_per_node", await wl.w1_sample(rt, compiled, p.w1_iterations))


async def do_sub(rec: Recorder, p: Params) -> None:
    """``subgraph_overhead_us``: what a one-node subgraph adds to a plain node, per
    execution, in W1 terms (the same W1, node A once plain and once a subgraph, both in
    memory, alternating in one process)."""
    from runtime import Runtime

    plain, sub = wl.build_w1(p.w1_iterations), wl.build_sub_w1(p.w1_iterations)
    async with Runtime() as rt:
        await wl.w1_sample(rt, plain, p.w1_iterations)             # warm-up
        await wl.w1_sample(rt, sub, p.w1_iterations)
        for _ in range(p.w1_reps):
            gc.collect()
            per_node = await wl.w1_sample(rt, plain, p.w1_iterations)
            gc.collect()
            with_sub = await wl.w1_sample(rt, sub, p.w1_iterations)
            rec.add("subgraph_plain_node_us", per_node)
            # Both runs execute 2 nodes per iteration, one of them A: the difference
            # per iteration is what A being a subgraph costs.
            rec.add("subgraph_overhead_us", (with_sub - per_node) * 2)


async def do_w2(rec: Recorder, p: Params) -> None:
    from runtime import Runtime

    compiled = wl.build_w2(100)
    async with Runtime() as rt:
        await wl.w2_sample(rt, compiled)                           # warm-up
        await base.raw_spawn_join_100_ms()
        for i in range(p.w2_runs):
            if i % 10 == 0:
                gc.collect()
            rec.add("raw_spawn_join_100_ms", await base.raw_spawn_join_100_ms(100))
            with CollectorClock() as clock:
                ms = await wl.w2_sample(rt, compiled)
            rec.add("w2_ms", ms)
            rec.add("w2_collector_ms", clock.ms)
            rec.add("w2_less_collector_ms", ms - clock.ms)


#: W2's fan-out width for ``compile_10k_ms`` and ``w2_10k_ms`` (issue 10 item 5).
WIDE = 10_000


async def do_w2_wide(rec: Recorder, p: Params) -> None:
    """``compile_10k_ms``: build and compile a 10,000-branch W2; ``w2_10k_ms``: one run of
    it (W2's per-branch cost is ``w2_ms / 100``; this one's is ``w2_10k_ms / 10,000``),
    each in a fresh in-memory Runtime, as W3's samples: a run in the runtime of the one
    before would also pay the collector for walking the 10,000 steps, 30,000 events and
    10,000 activations the memory store keeps of each earlier one (each sample slower
    than the one before, by ~15-25 ms here). ``w2_10k_collector_ms``: the collector's
    time within each run (a full collection of what the run itself keeps, once its
    survivors outgrow a quarter of the process's long-lived objects, plus the young
    ones), and ``w2_10k_less_collector_ms`` the rest; ``w2_collector_ms`` and
    ``w2_less_collector_ms``: the same for W2's runs (do_w2). ``w2_100_runs_ms``: the
    same 10,000 branches as 100 W2 runs one after another (W2's samples are medians of
    runs that a full collection seldom falls in: one in the wide run always does)."""
    from runtime import Runtime

    for _ in range(p.w2_wide_reps):
        gc.collect()
        rec.add("compile_10k_ms", wl.compile_w2_sample(WIDE))
    compiled = wl.build_w2(WIDE)
    narrow = wl.build_w2()
    for _ in range(p.w2_wide_reps):
        async with Runtime() as rt:
            gc.collect()
            with CollectorClock() as clock:
                ms = await wl.w2_sample(rt, compiled, WIDE)
            rec.add("w2_10k_ms", ms)
            rec.add("w2_10k_collector_ms", clock.ms)
            rec.add("w2_10k_less_collector_ms", ms - clock.ms)
            rec.add("w2_10k_full_collections", clock.full)
        del rt
        # The same 10,000 branches as 100 W2 runs one after another, in a fresh
        # runtime too: what they cost with the collector's passes they bring on.
        async with Runtime() as rt:
            gc.collect()
            started = time.perf_counter()
            for _ in range(WIDE // 100):
                await wl.w2_sample(rt, narrow)
            rec.add("w2_100_runs_ms", (time.perf_counter() - started) * 1e3)
        del rt


#: The collector threshold of ``w3_gc_tuned_ms`` (CPython's default: 700).
W3_GC_THRESHOLD = 50_000


async def do_w3(rec: Recorder, p: Params) -> None:
    compiled = wl.build_w3(5)
    rec.extra["rss_interpreter_mib"] = _mib(_RSS_START_KIB)
    rec.extra["rss_after_import_mib"] = _mib(_RSS_IMPORTED_KIB)
    await anyio.lowlevel.checkpoint()
    # The backend's own modules load when the event loop starts: this is the real floor.
    rec.extra["rss_in_loop_mib"] = _mib(_peak_kib())
    # Raw first: the process peak after it is what bare anyio needs for W3 here.
    for _ in range(p.w3_reps):
        gc.collect()
        rec.add("raw_w3_ms", await base.raw_w3_ms())
    rec.extra["rss_after_raw_w3_mib"] = _mib(_peak_kib())
    for _ in range(p.w3_reps):
        gc.collect()
        rec.add("w3_ms", await wl.w3_sample(compiled, 1000))
    peak = _peak_kib()
    rec.add("w3_peak_rss_mib", _mib(peak))
    rec.extra["w3_ru_maxrss_mib"] = _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    rec.extra["w3_rss_over_loop_start_mib"] = _mib(peak - int(rec.extra["rss_in_loop_mib"] * 1024))
    # Beside the default, after its peak RSS was taken: the opt-in collector tuning
    # (Runtime(gc_threshold=...), runtime.gc_tuning) an application may choose.
    for _ in range(p.w3_reps):
        gc.collect()
        rec.add("w3_gc_tuned_ms", await wl.w3_sample(compiled, 1000, gc_threshold=W3_GC_THRESHOLD))


#: W4's durability levels: the default first (its figures keep their historical keys).
W4_LEVELS = ("process", "power")


def _w4_key(db: str, level: str) -> str:
    """``w4_sqlite_us_per_node`` (default level) or ``w4_sqlite_power_us_per_node``."""
    return f"w4_{db}_us_per_node" if level == "process" else f"w4_{db}_{level}_us_per_node"


async def _w4_one_run(rec: Recorder, p: Params, url: str, db: str, level: str) -> None:
    """W4 proper: one W1 run at a time on a durable store at ``level``."""
    from runtime import Runtime, open_store

    open_store(url)  # raises ImportError while runtime/store/sql.py is missing
    compiled = wl.build_w1(p.w1_iterations, name=f"bench_w4_{db}_{level}")
    async with Runtime(store=url, durability=level) as rt:
        # warm-up (schema, pool)
        await wl.w4_sample(rt, wl.build_w1(25, name=f"bench_w4_{db}_{level}_warm"), 25)
        for _ in range(p.w4_reps):
            gc.collect()
            if db == "sqlite" and level == "process":
                rec.add("raw_roundtrip_us", await base.raw_roundtrip_us(2 * p.w1_iterations))
            rec.add(_w4_key(db, level), await wl.w4_sample(rt, compiled, p.w1_iterations))


async def _w4_concurrent(rec: Recorder, p: Params, url: str, db: str, level: str) -> None:
    """100 W1-style runs at once: durable steps per second (and, for SQLite at the
    default level, the historical runs/s figures beside the same runs one at a time)."""
    from runtime import Runtime, open_store

    open_store(url)
    compiled = wl.build_w1(p.w4_conc_iterations, name=f"bench_w4_conc_{db}_{level}")
    steps = 2 * p.w4_conc_iterations   # per run
    historical = db == "sqlite" and level == "process"
    async with Runtime(store=url, durability=level) as rt:
        await wl.w4_sequential_sample(rt, compiled, 2, p.w4_conc_iterations)  # warm-up
        for _ in range(p.w4_conc_reps):
            gc.collect()
            runs_per_s = await wl.w4_concurrent_sample(
                rt, compiled, p.w4_conc_runs, p.w4_conc_iterations)
            rec.add(f"w4_concurrent_steps_per_s_{db}_{level}", runs_per_s * steps)
            if historical:
                rec.add("w4_concurrent_runs_per_s", runs_per_s)
        if historical:
            gc.collect()
            rec.add("w4_sequential_runs_per_s", await wl.w4_sequential_sample(
                rt, compiled, p.w4_seq_runs, p.w4_conc_iterations))
    rec.extra["w4_concurrent_shape"] = (
        f"{p.w4_conc_runs} runs x {steps} steps; sequential: {p.w4_seq_runs} runs")


def _w4_plan(tmp: str, pg_url: str | None) -> list[tuple[str, str, str, list[str]]]:
    """(url, database, level, keys) of every W4 part, default level first."""
    parts = []
    for level in W4_LEVELS:   # a SQLite file per level: its PRAGMAs are the level's
        url = f"sqlite:///{os.path.join(tmp, f'bench-{level}.db')}"
        parts.append((url, "sqlite", level, [_w4_key("sqlite", level)]))
        parts.append((url, "sqlite-concurrent", level,
                      [f"w4_concurrent_steps_per_s_sqlite_{level}"] + (
                          ["w4_concurrent_runs_per_s", "w4_sequential_runs_per_s"]
                          if level == "process" else [])))
    for level in W4_LEVELS:
        parts.append((pg_url or "", "postgres", level, [_w4_key("postgres", level)]))
        parts.append((pg_url or "", "postgresql-concurrent", level,
                      [f"w4_concurrent_steps_per_s_postgresql_{level}"]))
    return parts


async def do_w4(rec: Recorder, p: Params, pg_url: str | None, pg_note: str | None) -> None:
    tmp = tempfile.mkdtemp(prefix="actorflow-bench-")
    rec.extra["w4_sqlite_url"] = f"sqlite:///{os.path.join(tmp, 'bench-process.db')}"
    try:
        for url, what, level, keys in _w4_plan(tmp, pg_url):
            if not url:
                for key in keys:
                    rec.errors[key] = pg_note or "skipped: no PostgreSQL"
                continue
            rec.extra.setdefault("w4_durability", {}).update(dict.fromkeys(keys, level))
            db, concurrent = what.split("-")[0], what.endswith("-concurrent")
            body = functools.partial(_w4_concurrent if concurrent else _w4_one_run,
                                     rec, p, url, db, level)
            await _guard(rec, keys, f"W4 {what} {level}", body)
        if pg_url:
            rec.extra["w4_postgres_note"] = (
                "the bench's throwaway PostgreSQL runs with fsync=off (.ci/pg.sh): its "
                "'power' figures measure synchronous_commit=on without a disk flush")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def do_http(rec: Recorder, p: Params, backend: str) -> None:
    # Imported here: httpx, httpx_ws and the test server helper stay out of the other
    # workloads' processes.
    from .http import bench_http

    res = await bench_http(backend=backend, clients=HTTP_CLIENTS, runs=p.http_runs,
                           budget_s=HTTP_SAMPLE_BUDGET_S, ws_steps=p.ws_steps,
                           reps=p.http_reps, warmup_runs=p.http_warmup_runs,
                           plain_requests=p.http_plain_requests)
    for x in res["http_runs_per_s_samples"]:
        rec.add("http_runs_per_s", x)
    for x in res["http_plain_requests_per_s_samples"]:
        rec.add("http_plain_requests_per_s", x)
    for x in res["http_wait_runs_per_s_samples"]:
        rec.add("http_wait_runs_per_s", x)
    for x in res["http_wait_cost_vs_health_samples"]:
        rec.add("http_wait_cost_vs_health", x)
    # Server CPU per run in one request over CPU per GET /health (steadier than rates).
    rec.add("http_wait_cpu_vs_health", res["http_wait_cpu_vs_health"])
    rec.add("ws_event_latency_ms_p50", res["ws_event_latency_ms_p50"])
    rec.add("ws_event_latency_ms_p99", res["ws_event_latency_ms_p99"])
    rec.extra["http_runs_failed"] = res.get("http_runs_failed", 0)
    # CPU ms per unit, server and load generator: where the measurement's CPU goes.
    rec.extra["http_cpu_ms"] = {
        "server_health": res["http_health_cpu_ms"], "server_wait": res["http_wait_run_cpu_ms"],
        "client_health": res["http_client_health_cpu_ms"],
        "client_wait": res["http_client_wait_cpu_ms"]}
    rec.extra["ws_events"] = res["ws_events"]
    rec.extra["http_shape"] = (
        f"{HTTP_CLIENTS} clients, {p.http_reps} x {p.http_runs} runs of a 3-node graph "
        "(start + long-poll, and in one request with wait=true) "
        f"(after {p.http_warmup_runs} warm-up runs), SQLite; baseline {p.http_reps} x "
        f"{p.http_plain_requests} GET /health; WebSocket: {p.ws_steps} ticks, "
        f"{res['ws_events']} events")


async def do_review(rec: Recorder, p: Params) -> None:
    from .code_review import MODULE, code_review_samples

    res = await code_review_samples(p.review_reps)
    for x in res["code_review_ms"]:
        rec.add("code_review_ms", x)
    for x in res["code_review_direct_ms"]:
        rec.add("code_review_direct_ms", x)
    rec.extra["code_review_shape"] = (
        f"{MODULE}: {res['code_review_lines']} lines, {res['code_review_functions']} "
        f"functions; {p.review_reps} runs after a warm-up")


async def do_finance(rec: Recorder, p: Params) -> None:
    from .financial import INPUT, LATENCY_S, financial_latency_samples, financial_samples

    res = await financial_samples(p.finance_reps)
    res |= await financial_latency_samples(p.finance_reps)
    for key, samples in res.items():
        for x in samples:
            rec.add(key, x)
    rec.extra["financial_analysis_shape"] = (
        f"{INPUT['symbol']} as of {INPUT['as_of']}, offline and against a fake Finnhub "
        f"answering after {LATENCY_S * 1000:.0f} ms; {p.finance_reps} runs after a warm-up")


async def do_studio(rec: Recorder, p: Params, backend: str) -> None:
    # Playwright's sync API runs its own loop: in a worker thread, off this one.
    from .studio import bench_studio

    res = await anyio.to_thread.run_sync(
        functools.partial(bench_studio, backend=backend, reps=STUDIO_REPS[p is QUICK]))
    for x in res["studio_render_ms_samples"]:
        rec.add("studio_render_ms", x)
    rec.extra["studio_shape"] = (f"run view of a finished run of {res['studio_executions']} "
                                 "node executions, navigation to fully drawn, Chromium")

async def do_fanout(rec: Recorder, p: Params, backend: str) -> None:
    # Its own server and a readers' process; the driver is synchronous: off this loop.
    from .ws_fanout import CLIENTS, bench_ws_fanout

    res = await anyio.to_thread.run_sync(functools.partial(
        bench_ws_fanout, backend=backend, clients=CLIENTS, reps=1 if p is QUICK else 2))
    rec.add("ws_500_clients_slowdown", res["ws_500_clients_slowdown"])
    rec.extra["ws_500_clients_rss_mib"] = res["ws_500_clients_rss_mib"]
    rec.extra["ws_500_clients_s"] = {"alone": res["ws_500_clients_alone_s"],
                                     "crowded": res["ws_500_clients_crowded_s"]}
    rec.extra["ws_500_clients_shape"] = res["ws_500_clients_shape"]


async def do_stream(rec: Recorder, p: Params, backend: str) -> None:
    from .tokens import CHUNK_DELAY_S, token_latency_samples

    for _ in range(p.stream_reps):
        res = await token_latency_samples(backend, p.stream_tokens)
        rec.add("token_stream_latency_ms_p50", res["token_stream_latency_ms_p50"])
        rec.add("token_stream_latency_ms_p99", res["token_stream_latency_ms_p99"])
    rec.extra["token_stream_shape"] = (
        f"{p.stream_reps} x {p.stream_tokens} tokens from the fake OpenAI-compatible "
        f"server, {CHUNK_DELAY_S * 1000:.0f} ms apart, to a WebSocket client (?mode=tokens)")


#: Workloads through a real server, by id: the figures they write, and what runs them.
SERVED: dict[str, tuple[list[str], Any]] = {
    "STUDIO": (["studio_render_ms"], do_studio),
    "STREAM": (["token_stream_latency_ms_p50", "token_stream_latency_ms_p99"], do_stream),
    "FANOUT": (["ws_500_clients_slowdown"], do_fanout),
}


async def child_main(workloads: list[str], p: Params, pg_url: str | None,
                     pg_note: str | None, backend: str) -> dict[str, Any]:
    rec = Recorder()
    started = time.perf_counter()
    for w in workloads:
        t0 = time.perf_counter()
        if w == "W1":
            await _guard(rec, ["w1_us_per_node"], "W1", lambda: do_w1(rec, p))
        elif w == "W2":
            await _guard(rec, ["w2_ms"], "W2", lambda: do_w2(rec, p))
            await _guard(rec, ["compile_10k_ms", "w2_10k_ms"], "W2 10,000 branches",
                         lambda: do_w2_wide(rec, p))
        elif w == "SUB":
            await _guard(rec, ["subgraph_overhead_us"], "SUB", lambda: do_sub(rec, p))
        elif w == "W3":
            await _guard(rec, ["w3_ms", "w3_peak_rss_mib"], "W3", lambda: do_w3(rec, p))
        elif w == "W4":
            await do_w4(rec, p, pg_url, pg_note)
        elif w == "HTTP":
            await _guard(rec, ["http_runs_per_s", "ws_event_latency_ms_p50",
                               "ws_event_latency_ms_p99"], "HTTP",
                         lambda: do_http(rec, p, backend))
        elif w == "REVIEW":
            await _guard(rec, ["code_review_ms"], "REVIEW", lambda: do_review(rec, p))
        elif w == "FINANCE":
            await _guard(rec, ["financial_analysis_ms"], "FINANCE", lambda: do_finance(rec, p))
        elif w in SERVED:
            keys, run = SERVED[w]
            await _guard(rec, keys, w, functools.partial(run, rec, p, backend))
        rec.extra[f"{w}_wall_s"] = round(time.perf_counter() - t0, 2)
    rec.extra["wall_s"] = round(time.perf_counter() - started, 2)
    rec.extra["process_peak_rss_mib"] = _mib(_peak_kib())
    return rec.summary()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench._child")
    ap.add_argument("--backend", choices=["asyncio", "trio"], required=True)
    ap.add_argument("--workloads",
                    default="W1,W2,W3,W4,SUB,HTTP,REVIEW,FINANCE,STUDIO,STREAM,FANOUT")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    pg_url = os.environ.get("ACTORFLOW_BENCH_POSTGRES_URL") or None
    pg_note = os.environ.get("ACTORFLOW_BENCH_POSTGRES_NOTE") or None
    params = QUICK if args.quick else FULL
    result = anyio.run(child_main, workloads, params, pg_url, pg_note, args.backend,
                       backend=args.backend)
    result["backend"] = args.backend
    result["workloads"] = workloads
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
