"""cProfile of W1, W2 and W3 on one backend, top functions by own time (tottime).

    python -m tests.bench.profiling [--backend asyncio] [--top 15] [--only W1,W2,W3,W2_10K]

W3 adds what cProfile cannot see: the time the garbage collector takes (timed with
``gc.callbacks``, in CPU time, over an unprofiled W3), collections per generation, and the objects
the collector tracks per run in flight and per finished run kept.

For finding where the runtime spends its time; the numbers are inflated by the
profiler itself (by roughly 2-3x for code this call-heavy), so read the shares.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import time
from typing import Any

import anyio

from . import workloads as wl
from .collector import CollectorClock


async def _w1(runs: int) -> None:
    from runtime import Runtime

    compiled = wl.build_w1(1000)
    async with Runtime() as rt:
        for _ in range(runs):
            await wl.w1_sample(rt, compiled, 1000)


async def _w2(runs: int, width: int = 100) -> None:
    from runtime import Runtime

    compiled = wl.build_w2(width)
    async with Runtime() as rt:
        for _ in range(runs):
            await wl.w2_sample(rt, compiled, width)


async def _w3(runs: int) -> None:
    await wl.w3_sample(wl.build_w3(5), runs)


async def _w3_census(runs: int, gc_threshold: int | None = None) -> dict[str, Any]:
    """GC time and tracked objects of one W3 (``runs`` concurrent 5-node runs), with
    the runtime's opt-in collector tuning if ``gc_threshold`` is given."""
    from runtime import Runtime

    compiled = wl.build_w3(5)
    handles: list[Any] = []
    #: How many runs had finished at each full collection: what a finished run keeps is
    #: only walked by the full collections that come after it finished.
    done_at_full: list[int] = []
    # CPU time: on a busy machine wall time would count other processes' turns.
    clock = CollectorClock(time.process_time,
                           lambda: done_at_full.append(sum(h.done for h in handles)))

    gc.collect()
    base = len(gc.get_objects())
    cpu, wall = time.process_time(), time.perf_counter()
    with clock:
        async with Runtime(gc_threshold=gc_threshold) as rt:
            for _ in range(runs):
                handles.append(await rt.start(compiled, {}))
            await anyio.sleep(0.0025)             # every run is in flight now
            in_flight = len(gc.get_objects())
            for h in handles:
                await h.result()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            # The census's own full collection is not W3's: it used to be counted (about
            # half the GC time reported), though its CPU time was not.
            clock.stop()
            gc.collect()
            kept = len(gc.get_objects())
    spent = {"gc_s": clock.ms / 1e3, "collections": clock.collections,
             "gc_s_by_generation": [ms / 1e3 for ms in clock.ms_by_generation]}
    return {**spent, "done_at_full": done_at_full, "cpu_s": cpu, "wall_s": wall,
            "base_objects": base,
            "objects_per_run_in_flight": (in_flight - base) / runs,
            "objects_per_finished_run": (kept - base) / runs}


def census(backend: str, runs: int = 1000, gc_threshold: int | None = None) -> str:
    anyio.run(_w3, 50, backend=backend)     # warm-up
    c = anyio.run(_w3_census, runs, gc_threshold, backend=backend)
    tuned = "" if gc_threshold is None else f" (Runtime(gc_threshold={gc_threshold}))"
    return (f"W3 {runs} runs{tuned}: {c['wall_s'] * 1e3:.0f} ms wall, {c['cpu_s'] * 1e3:.0f} ms CPU, "
            f"of which GC {c['gc_s'] * 1e3:.0f} ms ({c['gc_s'] / c['cpu_s']:.0%}); "
            f"collections per generation {c['collections']}, their ms "
            f"{[round(s * 1e3) for s in c['gc_s_by_generation']]}, runs finished at each full one "
            f"{c['done_at_full']}; tracked objects at start "
            f"{c['base_objects']}, per run in flight {c['objects_per_run_in_flight']:.0f}, "
            f"per finished run kept {c['objects_per_finished_run']:.0f}")


def profile(name: str, backend: str, top: int) -> str:
    body = {"W1": lambda: _w1(3), "W2": lambda: _w2(20), "W3": lambda: _w3(1000),
            "W2_10K": lambda: _w2(1, 10_000)}[name]
    anyio.run(body, backend=backend)   # warm-up outside the profile (imports, caches)
    prof = cProfile.Profile()
    prof.enable()
    anyio.run(body, backend=backend)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.profiling")
    ap.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--only", default="W1,W2,W3")
    ap.add_argument("--gc-threshold", type=int, default=None,
                    help="also census W3 with Runtime(gc_threshold=N), the opt-in tuning")
    args = ap.parse_args(argv)
    for name in [w.strip().upper() for w in args.only.split(",") if w.strip()]:
        what = {"W1": "3 runs x 2000 node executions", "W2": "20 runs x 102 nodes",
                "W3": "1000 concurrent runs x 5 nodes",
                "W2_10K": "1 run x 10,002 nodes (GC time shows as the functions it interrupts)"
                }[name]
        print(f"==== {name} on {args.backend} ({what}), sorted by tottime ====")
        if name == "W3":
            print(census(args.backend))
            if args.gc_threshold is not None:
                print(census(args.backend, gc_threshold=args.gc_threshold))
        print(profile(name, args.backend, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
