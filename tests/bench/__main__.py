"""actorflow benchmarks (DESIGN.md "Benchmark workloads"): ``make bench``.

    python -m tests.bench                 # everything on asyncio and trio, ~2-3 minutes
    python -m tests.bench --quick         # fewer repetitions
    python -m tests.bench --only W1,W2    # a subset (W1 W2 W3 W4 SUB HTTP REVIEW FINANCE STUDIO STREAM FANOUT SCALE STORE)
    python -m tests.bench --profile       # cProfile W1, W2 and W3 (with GC time) on asyncio instead

Workloads: W1..W4 are DESIGN.md's; HTTP is issue 4's (``http.py``: runs/s through a
real ``actorflow serve`` on SQLite with 50 concurrent clients, and WebSocket event
latency); REVIEW is issue 5's (``code_review.py``: the code-review workflow on a
2,000-line standard-library module); FINANCE is issue 15's (``financial.py``: the
financial-analysis workflow for one symbol offline, beside its four analysts run one
after another); SUB is issue 13's (``subgraph_overhead_us``: what a node that is a
one-node subgraph costs beyond a plain node, in W1 terms); STUDIO is issue 14's
(``studio.py``: the Studio's run view of a 1,000-execution run drawn in headless Chromium);
STREAM is issue 13's too (``tokens.py``: a fake provider's token to a
WebSocket client, p50/p99); FANOUT is issue 10's (``ws_fanout.py``: a run's time with 500
WebSocket readers over its time alone, and the server's RSS around them); STORE is issue
10's (``storage.py``: ``storage_bytes_per_step``, database growth per step of a
growing-list loop on SQLite and PostgreSQL, once: bytes do not depend on the event loop).

Each backend runs in its own subprocess (W1, W2, W4, HTTP, REVIEW), and W3 in a further fresh
subprocess per backend, so its peak RSS is that of a process that did only W3 (after
its raw-anyio baseline, which needs far less). Every figure is printed beside a
baseline measured in the same process (raw anyio; for HTTP, plain requests to the same
server; for REVIEW, the same review without the graph). Medians of several
repetitions. Prints a table and writes ``tests/bench/results.json``.

These are measurements: nothing here fails because a figure misses its target.
W4 on PostgreSQL uses ``ACTORFLOW_TEST_POSTGRES_URL`` or starts a throwaway cluster
with ``.ci/pg.sh`` (its own state file, stopped afterwards); it is skipped, with a
note, when neither works.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RESULTS = HERE / "results.json"
BACKENDS = ("asyncio", "trio")
ALL = ("W1", "W2", "W3", "W4", "SUB", "HTTP", "REVIEW", "FINANCE", "STUDIO", "STREAM", "FANOUT",
       "SCALE", "STORE")
CHILD_TIMEOUT_S = 400

FIGURES = ("w1_us_per_node", "w2_ms", "w3_ms", "w3_peak_rss_mib", "w4_sqlite_us_per_node",
           "w4_postgres_us_per_node", "w4_sqlite_power_us_per_node",
           "w4_postgres_power_us_per_node", "w4_concurrent_runs_per_s", "http_runs_per_s",
           "http_wait_runs_per_s",
           "code_review_ms", "financial_analysis_ms", "financial_analysis_latency_ms",
           "subgraph_overhead_us", "studio_render_ms", "ws_500_clients_slowdown",
           "compile_10k_ms", "w2_10k_ms")
EXTRA_FIGURES = ("w4_sequential_runs_per_s", "raw_roundtrip_nowait_us",
                 "http_wait_cost_vs_health", "http_wait_cpu_vs_health", "w3_gc_tuned_ms",
                 "w2_collector_ms", "w2_less_collector_ms", "w2_10k_collector_ms",
                 "w2_10k_less_collector_ms", "w2_10k_full_collections")
BASELINES = ("raw_roundtrip_us", "raw_spawn_join_100_ms", "raw_w3_ms",
             "http_plain_requests_per_s", "code_review_direct_ms",
             "financial_analysts_sequential_ms", "financial_analysts_latency_sequential_ms",
             "subgraph_plain_node_us", "langgraph_w3_ms", "w2_100_runs_ms")
#: Figures written as ``{backend: {part: value}}``: results key -> {part: median key}.
NESTED_FIGURES = {"ws_event_latency_ms": {"p50": "ws_event_latency_ms_p50",
                                          "p99": "ws_event_latency_ms_p99"},
                  "token_stream_latency_ms": {"p50": "token_stream_latency_ms_p50",
                                              "p99": "token_stream_latency_ms_p99"},
                  # Durable steps per second, 100 runs at once, per database and level.
                  "w4_concurrent_steps_per_s": {
                      f"{db}_{level}": f"w4_concurrent_steps_per_s_{db}_{level}"
                      for db in ("sqlite", "postgresql") for level in ("process", "power")}}

# (label, unit, figure key, baseline key or callable, target text, test of "meets")
ROWS: list[tuple[str, str, str, str | None, str, Any]] = [
    ("W1 loop", "µs/node", "w1_us_per_node", "raw_roundtrip_us",
     "<=1.5x raw round trip", lambda f, b, be: f <= 1.5 * b),
    ("SUB one-node subgraph", "µs extra", "subgraph_overhead_us", "subgraph_plain_node_us",
     "<=1x plain node (subgraph <=2x)", lambda f, b, be: f <= b),
    ("W2 fan-out 100", "ms/run", "w2_ms", "raw_spawn_join_100_ms",
     "<=2x raw spawn+join", lambda f, b, be: f <= 2 * b),
    ("W2 compile 10,000 branches", "ms", "compile_10k_ms", None,
     "-", lambda f, b, be: None),
    ("W2 fan-out 10,000", "ms/run", "w2_10k_ms", "w2_ms",
     "<=100x W2 (per-branch cost)", lambda f, b, be: f <= 100 * b),
    # The same 10,000 branches as 100 W2 runs back to back, collector passes and all.
    ("W2 fan-out 10,000 vs 100 W2 runs", "ms", "w2_10k_ms", "w2_100_runs_ms",
     "<=1x 100 W2 runs in a row", lambda f, b, be: f <= b),
    # Where the rest goes: the collector's time within those runs (mostly one full
    # collection of what the 10,000-branch run keeps), and both runs without it.
    ("W2 fan-out 10,000, collector", "ms/run", "w2_10k_collector_ms", "w2_collector_ms",
     "-", lambda f, b, be: None),
    ("W2 fan-out 10,000 less collector", "ms/run", "w2_10k_less_collector_ms",
     "w2_less_collector_ms", "- (x W2 less collector)", lambda f, b, be: None),
    ("W3 1000 runs", "ms", "w3_ms", "raw_w3_ms",
     "<=2x raw (asyncio)", lambda f, b, be: f <= 2 * b if be == "asyncio" else None),
    # Issue 10's W3 target: a tenth of LangGraph's W3 measured in this same run (peers.py).
    ("W3 against LangGraph", "ms", "w3_ms", "langgraph_w3_ms",
     "<=0.1x LangGraph, same run", lambda f, b, be: f <= 0.1 * b),
    ("W3 peak RSS", "MiB", "w3_peak_rss_mib", "rss_after_raw_w3_mib",
     "<60 MiB", lambda f, b, be: f < 60),
    ("W4 SQLite", "µs/node", "w4_sqlite_us_per_node", "raw_roundtrip_us",
     "<=150 µs", lambda f, b, be: f <= 150),
    ("W4 SQLite, durability power", "µs/node", "w4_sqlite_power_us_per_node", None,
     "-", lambda f, b, be: None),
    ("W4 PostgreSQL", "µs/node", "w4_postgres_us_per_node", "raw_roundtrip_us",
     "<=300 µs", lambda f, b, be: f <= 300),
    ("W4 PostgreSQL, durability power", "µs/node", "w4_postgres_power_us_per_node", None,
     "-", lambda f, b, be: None),
    ("W4 100 concurrent SQLite", "steps/s", "w4_concurrent_steps_per_s_sqlite_process", None,
     ">=10,000 steps/s", lambda f, b, be: f >= 10_000),
    ("W4 100 concurrent SQLite, power", "steps/s", "w4_concurrent_steps_per_s_sqlite_power",
     None, "-", lambda f, b, be: None),
    ("W4 100 concurrent PostgreSQL", "steps/s",
     "w4_concurrent_steps_per_s_postgresql_process", None, ">=5,000 steps/s",
     lambda f, b, be: f >= 5_000),
    ("W4 100 concurrent PostgreSQL, power", "steps/s",
     "w4_concurrent_steps_per_s_postgresql_power", None, "-", lambda f, b, be: None),
    ("W4 100 concurrent", "runs/s", "w4_concurrent_runs_per_s", "w4_sequential_runs_per_s",
     ">=5x sequential", lambda f, b, be: f >= 5 * b),
    ("HTTP 50 clients", "runs/s", "http_runs_per_s", "http_plain_requests_per_s",
     ">=500 runs/s", lambda f, b, be: f >= 500),
    # One request per run ("wait": true); "ratio" is runs/s over GET /health req/s, so a
    # run costing at most twice a health check is a ratio of at least 0.5.
    ("HTTP wait, 50 clients", "runs/s", "http_wait_runs_per_s", "http_plain_requests_per_s",
     ">=500 runs/s, <=2x /health", lambda f, b, be: f >= 500 and b <= 2 * f),
    ("WS event latency p50", "ms", "ws_event_latency_ms_p50", None,
     "-", lambda f, b, be: None),
    ("WS event latency p99", "ms", "ws_event_latency_ms_p99", None,
     "<10 ms", lambda f, b, be: f < 10),
    ("REVIEW 2,000 lines", "ms", "code_review_ms", "code_review_direct_ms",
     "<1000 ms (well under)", lambda f, b, be: f < 1000),
    ("FINANCE one symbol", "ms", "financial_analysis_ms", "financial_analysts_sequential_ms",
     "-", lambda f, b, be: None),
    ("FINANCE 50 ms provider", "ms", "financial_analysis_latency_ms",
     "financial_analysts_latency_sequential_ms", "< sequential", lambda f, b, be: f < b),
    ("Studio run view, 1,000 executions", "ms", "studio_render_ms", None,
     "<1000 ms", lambda f, b, be: f < 1000),
    ("WS 500 readers on one run", "x alone", "ws_500_clients_slowdown", None,
     "<=1.5x", lambda f, b, be: f <= 1.5),
    ("Token to WS p50", "ms", "token_stream_latency_ms_p50", None,
     "-", lambda f, b, be: None),
    ("Token to WS p99", "ms", "token_stream_latency_ms_p99", None,
     "<10 ms", lambda f, b, be: f < 10),
]


def row_workload(key: str) -> str:
    """The workload id (``--only``) that measures figure ``key``."""
    if key.startswith("ws_500"):
        return "FANOUT"
    if key.startswith(("http_", "ws_")):
        return "HTTP"
    if key.startswith("code_review"):
        return "REVIEW"
    if key.startswith("financial"):
        return "FINANCE"
    if key.startswith("subgraph"):
        return "SUB"
    if key.startswith("studio"):
        return "STUDIO"
    if key.startswith("token_"):
        return "STREAM"
    if key in ("compile_10k_ms", "w2_10k_ms", "w2_100_runs_ms") or key.startswith("w2_10k_"):
        return "W2"
    return key[:2].upper()


# -- PostgreSQL -----------------------------------------------------------------------------


class Postgres:
    """The W4 PostgreSQL server: from the environment, or a throwaway .ci/pg.sh cluster."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.note: str | None = None
        self._started = False
        self._env = dict(os.environ)
        # A state file of our own: never reuse (or stop) the test suite's cluster.
        self._env["ACTORFLOW_PG_STATE_FILE"] = str(REPO / ".venv" / "actorflow-bench-pg.state")

    def start(self) -> None:
        url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
        if url:
            self.url = url
            print("bench: PostgreSQL from ACTORFLOW_TEST_POSTGRES_URL", file=sys.stderr)
            return
        # A file check, not an import: this process stays light (children inherit
        # its ru_maxrss on Linux).
        if not (REPO / "runtime" / "store" / "sql.py").exists():
            self.note = "unavailable: runtime/store/sql.py (the SQL store) does not exist yet"
            print(f"bench: W4 PostgreSQL skipped: {self.note}", file=sys.stderr)
            return
        script = REPO / ".ci" / "pg.sh"
        print("bench: starting a throwaway PostgreSQL with .ci/pg.sh ...", file=sys.stderr)
        try:
            proc = subprocess.run([str(script), "start"], cwd=REPO, env=self._env,
                                  capture_output=True, text=True, timeout=180, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.note = f"skipped: .ci/pg.sh start failed: {exc}"
        else:
            self._started = True  # stop() even if it failed half-way (it cleans up)
            lines = proc.stdout.strip().splitlines()
            if proc.returncode == 0 and lines:
                self.url = lines[-1].strip()
            else:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                self.note = f"skipped: .ci/pg.sh start exited {proc.returncode}: {tail}"
        if self.note:
            print(f"bench: W4 PostgreSQL {self.note}", file=sys.stderr)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        subprocess.run([str(REPO / ".ci" / "pg.sh"), "stop"], cwd=REPO, env=self._env,
                       capture_output=True, text=True, timeout=120, check=False)


# -- children -------------------------------------------------------------------------------


def run_child(backend: str, workloads: list[str], quick: bool, pg: Postgres) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(prefix="actorflow-bench-", suffix=".json",
                                     delete=False) as f:
        out = f.name
    cmd = [sys.executable, "-m", "tests.bench._child", "--backend", backend,
           "--workloads", ",".join(workloads), "--out", out] + (["--quick"] if quick else [])
    env = dict(os.environ)
    env.pop("ACTORFLOW_BENCH_POSTGRES_URL", None)
    env.pop("ACTORFLOW_BENCH_POSTGRES_NOTE", None)
    if pg.url:
        env["ACTORFLOW_BENCH_POSTGRES_URL"] = pg.url
    if pg.note:
        env["ACTORFLOW_BENCH_POSTGRES_NOTE"] = pg.note
    started = time.perf_counter()
    print(f"bench: {backend}: {','.join(workloads)} ...", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, timeout=CHILD_TIMEOUT_S, check=False)
        with open(out) as fh:
            result: dict[str, Any] = json.load(fh)
        if proc.returncode:
            result.setdefault("errors", {})["process"] = f"exit status {proc.returncode}"
    except (subprocess.TimeoutExpired, OSError, ValueError) as exc:
        result = {"medians": {}, "errors": {"process": f"{type(exc).__name__}: {exc}"},
                  "extra": {}}
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass
    print(f"bench: {backend}: {','.join(workloads)} done in "
          f"{time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return result


def merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for section in ("medians", "samples", "errors", "extra"):
        into.setdefault(section, {}).update(part.get(section, {}))


# -- output ---------------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if round(x, 1) >= 100:  # not "100.0"
        return f"{x:.0f}"
    if round(x, 2) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _round(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.4g}")


def table(per_backend: dict[str, dict[str, Any]], workloads: list[str]) -> str:
    header = ("workload", "unit", "backend", "figure", "baseline", "ratio", "target", "meets")
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for label, unit, key, base_key, target, meets in ROWS:
        if row_workload(key) not in workloads:
            continue
        for backend, res in per_backend.items():
            med = res.get("medians", {})
            fig = med.get(key)
            base = med.get(base_key) if base_key else None
            if base is None and base_key:
                base = res.get("extra", {}).get(base_key)
            ratio = f"{fig / base:.2f}x" if fig is not None and base else "-"
            ok = (meets(fig, base, backend)
                  if fig is not None and (base is not None or base_key is None) else None)
            if base is None and base_key and res.get("errors", {}).get(base_key):
                notes.append(f"{label} ({backend}): {res['errors'][base_key]}")
            if fig is None:
                err = res.get("errors", {}).get(key) or res.get("errors", {}).get("process")
                if err:
                    notes.append(f"{label} ({backend}): {err}")
                fig_s = "n/a"
            else:
                fig_s = _fmt(fig)
            rows.append((label, unit, backend, fig_s, _fmt(base), ratio, target,
                         "-" if ok is None else ("yes" if ok else "NO")))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*r) for r in rows]
    if notes:
        out.append("")
        out += [f"note: {n}" for n in notes]
    for backend, res in per_backend.items():
        w1 = res.get("medians", {}).get("w1_us_per_node")
        nw = res.get("medians", {}).get("raw_roundtrip_nowait_us")
        if w1 is not None and nw:
            out.append(f"W1 {backend} against the unbounded send_nowait round trip "
                       f"({_fmt(nw)} µs): {w1 / nw:.2f}x")
    out.append("")
    out.append("baselines: W1/W4 raw = request/reply round trip between two tasks over "
               "anyio's default (unbuffered) memory object streams; W2 raw = spawn+join "
               "100 tasks; W2 10,000 baselines = W2 (a median run) and 100 W2 runs in a "
               "row (the same 10,000 branches); W3 raw = 1000 tasks x "
               "5 sequential sleep(0.001); W3 LangGraph = the same W3 on LangGraph in a "
               "process of its own in this run (tests/bench/peers.py); W3 RSS baseline = peak of the same process after "
               "the raw W3 only; W4 concurrent baseline = the same runs one at a time; "
               "HTTP baseline = plain GET /health requests/s from the same 50 clients to the "
               "same server (a run takes 2 requests: start, long-poll wait); WS latency = "
               "event timestamp to WebSocket receipt on loopback; REVIEW baseline = the same "
               "review without the graph (nodes.analysis.review_code); FINANCE baseline = the four "
               "analyses (data requests and computations) one after another without the graph "
               "(offline; and against a fake Finnhub on loopback answering after 50 ms).")
    return "\n".join(out)


def _git(*args: str) -> str | None:
    try:
        p = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                           timeout=10, check=False)
    except OSError:
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def results_json(per_backend: dict[str, dict[str, Any]], args: argparse.Namespace,
                 workloads: list[str], wall: float) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key in FIGURES + EXTRA_FIGURES + BASELINES:
        doc[key] = {b: _round(r.get("medians", {}).get(key)) for b, r in per_backend.items()}
    for key, parts in NESTED_FIGURES.items():
        doc[key] = {b: {part: _round(r.get("medians", {}).get(k)) for part, k in parts.items()}
                    for b, r in per_backend.items()}
    # The durability level of each W4 figure (the same for every backend).
    doc["w4_durability"] = next((r["extra"]["w4_durability"] for r in per_backend.values()
                                 if "w4_durability" in r.get("extra", {})), {})
    doc["notes"] = {b: r.get("errors", {}) for b, r in per_backend.items() if r.get("errors")}
    doc["details"] = {b: {"samples": r.get("samples", {}), "extra": r.get("extra", {})}
                      for b, r in per_backend.items()}
    status = _git("status", "--porcelain")
    doc["metadata"] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "workloads": workloads,
        "quick": bool(args.quick),
        "wall_s": round(wall, 1),
        "method": "medians; W1 5x(1000 iterations = 2000 node executions), W2 30 runs "
                  "(10,000 branches: 3 compiles, 3 runs, each in a fresh runtime, each beside 100 "
                  "W2 runs in a row in a fresh runtime), "
                  "W3 3 reps (own process per backend), W4 3x W1 + 2x100 concurrent runs "
                  "of 100 steps at each durability level (process, power) on SQLite and "
                  "PostgreSQL + 100 sequential runs, HTTP 3x1500 runs by 50 clients "
                  "(+3x2000 GET /health) and 300 WebSocket ticks, REVIEW 7 runs, "
                  "FINANCE 7 runs, STUDIO 5 page loads after a warm-up (--quick: fewer)",
    }
    return doc


def run_backend(backend: str, workloads: list[str], quick: bool, pg: Postgres
                ) -> dict[str, Any]:
    """The per-backend workloads: most in one child, W3 and FANOUT each in a fresh one
    (W3's peak RSS is its own; FANOUT's long runs cannot eat the others' time)."""
    alone = ("W3", "FANOUT")
    main_part = [w for w in workloads if w not in (*alone, "SCALE", "STORE")]
    res: dict[str, Any] = {}
    if main_part:
        merge(res, run_child(backend, main_part, quick, pg))
    for w in alone:
        if w in workloads:
            merge(res, run_child(backend, [w], quick, pg))
    return res


def attach(doc: dict[str, Any], peers: dict[str, Any] | None, scale: dict[str, Any] | None,
           storage: dict[str, Any] | None) -> None:
    """The figures measured once, not per backend, into the results (and printed)."""
    if peers is not None:
        doc["langgraph"] = peers
        print("\nLangGraph W3, same run (issue 10):", json.dumps(peers, indent=2))
    if scale is not None:
        doc["scale"] = scale
        print("\nscale-out (issue 16):", json.dumps(scale, indent=2))
    if storage is not None:
        doc["storage_bytes_per_step"] = storage
        print("\nstorage per step (issue 10):", json.dumps(storage, indent=2))


def run_peers(per_backend: dict[str, dict[str, Any]], quick: bool) -> dict[str, Any]:
    """LangGraph's W3 in this run (once: it runs on asyncio only), set beside each
    backend's W3 as its ``langgraph_w3_ms`` baseline."""
    from . import peers as peers_bench

    started = time.perf_counter()
    print("bench: LangGraph W3 ...", file=sys.stderr, flush=True)
    peers = peers_bench.bench(quick)
    if "w3_ms" in peers:
        print(f"bench: LangGraph {peers.get('langgraph')} W3 done in "
              f"{time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
        for res in per_backend.values():
            res.setdefault("medians", {})["langgraph_w3_ms"] = peers["w3_ms"]
    else:
        print(f"bench: LangGraph W3 left out: {peers['skipped']}", file=sys.stderr, flush=True)
        for res in per_backend.values():
            res.setdefault("errors", {})["langgraph_w3_ms"] = f"LangGraph: {peers['skipped']}"
    return peers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(ALL),
                    help="workloads, e.g. W1,W2 (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--out", default=str(RESULTS), help="results file (default: %(default)s)")
    ap.add_argument("--no-peers", action="store_true",
                    help="leave out LangGraph's W3, measured with W3 otherwise (tests/bench/peers.py)")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile W1, W2 and W3 on asyncio (top 15 by tottime; W3 with GC time) and exit")
    args = ap.parse_args(argv)

    if args.profile:
        from . import profiling
        return profiling.main([])

    workloads = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(ALL))
    if unknown:
        ap.error(f"unknown workloads {unknown}; choose from {', '.join(ALL)}")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - set(BACKENDS):
        ap.error(f"backends are {', '.join(BACKENDS)}")

    started = time.perf_counter()
    pg = Postgres()
    per_backend: dict[str, dict[str, Any]] = {}
    try:
        if "W4" in workloads or "SCALE" in workloads or "STORE" in workloads:
            pg.start()
        for backend in backends:
            per_backend[backend] = run_backend(backend, workloads, args.quick, pg)
        peers = None
        if "W3" in workloads and not args.no_peers:
            peers = run_peers(per_backend, args.quick)
        scale = None
        if "SCALE" in workloads and pg.url:
            from . import scale as scale_bench  # real processes: run once, not per backend

            scale = scale_bench.bench(pg.url, args.quick)
        storage = None
        if "STORE" in workloads:
            from . import storage as storage_bench  # bytes, not time: once, not per backend

            storage = storage_bench.bench(pg.url, args.quick)
    finally:
        pg.stop()
    wall = time.perf_counter() - started

    print()
    print(table(per_backend, workloads))
    doc = results_json(per_backend, args, workloads, wall)
    attach(doc, peers, scale, storage)
    out = Path(args.out)
    # `make soak` writes its soak_* figures into the same file; a bench run keeps them.
    if out.exists():
        previous = json.loads(out.read_text())
        doc.update({k: v for k, v in previous.items() if k.startswith("soak_")})
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {args.out} ({wall:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
