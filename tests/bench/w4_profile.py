"""Where a W4 durable step's time goes: cProfile of every thread, CPU and calls per step.

    python -m tests.bench.w4_profile [--backend asyncio] [--db sqlite] [--shape one]
                                     [--level process] [--top 25] [--no-profile]

``--shape one``: one W1 run of 2000 steps (W4 proper); ``--shape concurrent``: 100
W1-style runs of 100 steps each at once. ``--db postgres`` reads its URL from
``ACTORFLOW_TEST_POSTGRES_URL`` (``make test`` and ``.ci/pg.sh start`` print one).

Under trio the store runs on its own asyncio thread, which a plain cProfile (one
thread) would not see: a second profiler runs there. Without ``--no-profile`` the
figures are inflated by the profiler (read the shares and the per-step call counts);
with it they are wall and CPU time per step of an unprofiled run. CPU time is the
process's (every thread), so on a loaded machine it is the steadier figure.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import pstats
import resource
import sys
import tempfile
import time
from typing import Any

import anyio

from . import workloads as wl

#: Functions whose calls per step are worth watching (substrings of pstats keys).
WATCH = ("_abc_instancecheck", "_do_execute", "dumps", "encode", "make_delta", "checkpoint_stmts", "event_stmts", "put_nowait",
         "enqueue", "run_sync_soon", "call_soon_threadsafe", "_commit", "write",
         "executemany", "execute", "move_on_after", "threadsafe_setter", "plan",
         "_queue_checkpoint", "append_event", "BaseCache.put")


async def _body(url: str, level: str, shape: str, profs: list[cProfile.Profile] | None
                ) -> dict[str, Any]:
    from runtime import Runtime

    async with Runtime(store=url, durability=None if url == "memory://" else level) as rt:
        if shape == "one":
            compiled, warm = wl.build_w1(1000, name="prof_w4"), wl.build_w1(25, name="prof_w4w")
            await wl.w4_sample(rt, warm, 25)
        else:
            compiled = wl.build_w1(50, name="prof_w4c")
            await wl.w4_sequential_sample(rt, compiled, 2, 50)
        store: Any = rt.store
        thread_prof = None
        home = getattr(store, "_home", None)
        if profs is not None and home is not None and home._thread.running:
            # The store's own thread (trio): profile it there too.
            thread_prof = cProfile.Profile()
            await store._home.call(_enable(thread_prof))
        gc.collect()
        home_cpu = await _home_cpu(store)
        stats = getattr(store, "stats", None)
        before = (stats.commits, stats.ops) if stats is not None else (0, 0)
        _WRITE_CPU[0] = 0.0
        starts_span = 0.0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu, wall = time.process_time(), time.perf_counter()
        if profs is not None:
            profs[0].enable()
        if shape == "one":
            await wl.w4_sample(rt, compiled, 1000)
            steps = 2000
        else:
            starts = _time_starts(rt)
            await wl.w4_concurrent_sample(rt, compiled, 100, 50)
            steps = 100 * 100
            starts_span = starts[-1][1] - starts[0][0] if starts else 0.0
        if profs is not None:
            profs[0].disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        home_cpu = await _home_cpu(store) - home_cpu
        ru2 = resource.getrusage(resource.RUSAGE_SELF)
        switches = (ru2.ru_nvcsw - ru.ru_nvcsw) + (ru2.ru_nivcsw - ru.ru_nivcsw)
        if thread_prof is not None:
            await store._home.call(_disable(thread_prof))
            profs.append(thread_prof)   # type: ignore[union-attr]
        if stats is not None:
            commits, ops = store.stats.commits - before[0], store.stats.ops - before[1]
        else:
            commits = ops = 0
    return {"steps": steps, "cpu_s": cpu, "home_cpu_s": home_cpu, "write_cpu_s": _WRITE_CPU[0], "switches": switches, "wall_s": wall, "commits": commits, "ops": ops,
            "starts_span_s": starts_span}


def _time_starts(rt: Any) -> list[tuple[float, float]]:
    """(called, returned) of each ``rt.start`` from now on: the concurrent shape's
    100 starts are sequential, each waiting for its run's row to be committed."""
    spans: list[tuple[float, float]] = []
    start = rt.start

    async def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        run = await start(*args, **kwargs)
        spans.append((began, time.perf_counter()))
        return run

    rt.start = timed
    return spans


async def _home_cpu(store: Any) -> float:
    """CPU seconds so far of the store's own asyncio thread (trio), else 0."""
    home = getattr(store, "_home", None)
    if home is None or not home._thread.running:
        return 0.0

    async def get() -> float:
        return time.thread_time()

    return float(await home.call(lambda: get()))


#: CPU seconds spent in SQLite's connection thread writing batches (see ``_timed_writes``).
_WRITE_CPU = [0.0]


def _timed_writes() -> None:
    """Count the CPU time of every SQLite batch write (it runs in aiosqlite's thread,
    which no profiler here sees)."""
    from runtime.store import db

    inner = db._sqlite_write

    def timed(conn: Any, plan: Any, *rest: Any) -> None:
        began = time.thread_time()
        try:
            inner(conn, plan, *rest)
        finally:
            _WRITE_CPU[0] += time.thread_time() - began

    db._sqlite_write = timed


def _enable(prof: cProfile.Profile) -> Any:
    async def go() -> None:
        prof.enable()
    return lambda: go()


def _disable(prof: cProfile.Profile) -> Any:
    async def go() -> None:
        prof.disable()
    return lambda: go()


def encode_cost(url: str, backend: str, repeat: int = 7) -> dict[str, float]:
    """µs per step of the store's work on the caller's side (the event loop's), for the
    checkpoints and events of a real W4 run replayed: the rows a step makes
    (``checkpoint_stmts`` with the delta base cache, ``event_stmts``), best of
    ``repeat`` (CPU-bound, so the minimum filters out a loaded machine's noise)."""
    from runtime.store import sql as sqlmod
    from runtime.store.checkpoints import checkpoint_stmts
    from runtime.store.delta import BaseCache
    from runtime.store.rows import event_stmts
    from runtime.store.schema import SQLITE
    from runtime.store.spacing import Spacing

    cps: list[Any] = []
    events: list[Any] = []
    queue, append = sqlmod.SQLStore._queue_checkpoint, sqlmod.SQLStore.append_event

    async def record_cp(self: Any, c: Any) -> Any:
        cps.append(c.model_copy(deep=True))
        return await queue(self, c)

    def record_ev(self: Any, e: Any) -> None:
        events.append(e)
        append(self, e)

    sqlmod.SQLStore._queue_checkpoint = record_cp   # type: ignore[method-assign]
    sqlmod.SQLStore.append_event = record_ev        # type: ignore[method-assign]
    try:
        anyio.run(_body, url, "process", "one", None, backend=backend)
    finally:
        sqlmod.SQLStore._queue_checkpoint = queue   # type: ignore[method-assign]
        sqlmod.SQLStore.append_event = append       # type: ignore[method-assign]
    steps = len(cps)

    def checkpoints() -> None:
        bases, spacing = BaseCache(), Spacing(20, 1000)
        for c in cps:
            _, chain = checkpoint_stmts(SQLITE, c, bases.get(c.run_id, c.step), spacing)
            bases.put(c.run_id, c.step, c.state, chain)

    def evs() -> None:
        for e in events:
            event_stmts(SQLITE, e)

    out = {}
    for name, fn in (("checkpoint", checkpoints), ("events", evs)):
        best = math.inf
        for _ in range(repeat):
            began = time.process_time()
            fn()
            best = min(best, time.process_time() - began)
        out[name] = best / steps * 1e6
    out["events_per_step"] = len(events) / steps
    return out


def _url(db: str, tmp: str) -> str:
    if db == "memory":   # the engine alone: what the store adds is the difference
        return "memory://"
    if db == "sqlite":
        return f"sqlite:///{os.path.join(tmp, 'w4prof.db')}"
    url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit("--db postgres needs ACTORFLOW_TEST_POSTGRES_URL")
    return url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.w4_profile")
    ap.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgres", "memory"])
    ap.add_argument("--shape", default="one", choices=["one", "concurrent"])
    ap.add_argument("--level", default="process", choices=["process", "power"])
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--encode", action="store_true",
                    help="only the caller-side cost of a step's rows (see encode_cost)")
    args = ap.parse_args(argv)
    _timed_writes()
    if args.encode:
        with tempfile.TemporaryDirectory(prefix="actorflow-w4prof-") as tmp:
            for _ in range(args.reps):
                r = encode_cost(_url("sqlite", tmp), args.backend)
                print(f"W4 rows of a step, caller side: checkpoint {r['checkpoint']:.1f} µs, "
                      f"events {r['events']:.1f} µs ({r['events_per_step']:.2f} per step)")
        return 0
    with tempfile.TemporaryDirectory(prefix="actorflow-w4prof-") as tmp:
        url = _url(args.db, tmp)
        for _ in range(args.reps):
            profs: list[cProfile.Profile] | None = (
                None if args.no_profile else [cProfile.Profile()])
            r = anyio.run(_body, url, args.level, args.shape, profs, backend=args.backend)
            n = r["steps"]
            print(f"W4 {args.shape} {args.db} {args.level} on {args.backend}: "
                  f"{r['wall_s'] / n * 1e6:.1f} µs wall/step, {r['cpu_s'] / n * 1e6:.1f} µs "
                  f"CPU/step (SQLite writes {r['write_cpu_s'] / n * 1e6:.1f}, store thread "
                  f"{r['home_cpu_s'] / n * 1e6:.1f}), {r['switches'] / n:.2f} context switches/step, {r['commits']} commits, {r['ops'] / n:.2f} ops/step"
                  + (f", the 100 starts took {r['starts_span_s'] * 1e3:.0f} ms"
                     if args.shape == "concurrent" else ""))
            if profs is None:
                continue
            stats = pstats.Stats(profs[0])
            for extra in profs[1:]:
                stats.add(extra)
            out = io.StringIO()
            stats.stream = out   # type: ignore[attr-defined]
            stats.sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
            print("calls per step:")
            raw: dict[Any, Any] = stats.stats   # type: ignore[attr-defined]
            for (file, line, fn), (_cc, nc, _tt, ct, _callers) in sorted(
                    raw.items(), key=lambda kv: -kv[1][1]):
                name = f"{os.path.basename(file)}:{line}({fn})"
                if any(w in name for w in WATCH) and nc / n >= 0.005:
                    print(f"  {nc / n:7.2f}  {ct / n * 1e6:8.1f} µs cum  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
