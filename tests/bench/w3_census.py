"""What one W3 run costs the collector and the allocator: a census by type and by line.

    python -m tests.bench.w3_census [--backend asyncio] [--runs 1000] [--lines 25] [--pause-at 2]

Starts ``--runs`` W3 runs (5-node chains) whose third node (``--pause-at``: which one,
0-4; the last holds the most, as W3's peak RSS does) waits on an event, so that
every run is in flight at once, and counts per run: the objects the garbage collector
tracks, by type (``gc.get_objects()`` before and after), and the bytes allocated, by
the line that allocated them (``tracemalloc``, four frames of context). Then lets them
finish and counts again: what a finished run kept in memory (``keep_finished``) costs.
Deterministic counts, unlike timings on a loaded machine.
"""

from __future__ import annotations

import argparse
import collections
import gc
import itertools
import sys
import tracemalloc
from typing import Any

import anyio

from runtime import END, Graph, Runtime

from . import workloads as wl


def _graph(pause: anyio.Event, arrived: list[int], at: int = 2) -> Any:
    async def paused(state: Any) -> None:
        arrived[0] += 1
        await pause.wait()

    g = Graph("bench_w3")
    names = [f"n{i}" for i in range(5)]
    for n in names:
        g.add_node(n, paused if n == f"n{at}" else wl.w3_node)
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g.compile()


def _types() -> collections.Counter[str]:
    return collections.Counter(
        t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
        for t in map(type, gc.get_objects()))


def _report(label: str, runs: int, before: collections.Counter[str],
            after: collections.Counter[str], base: tracemalloc.Snapshot,
            snap: tracemalloc.Snapshot, lines: int) -> None:
    delta = after - before
    total = sum(after.values()) - sum(before.values())
    print(f"== {label}: {total / runs:.1f} tracked objects per run")
    for name, n in delta.most_common(lines):
        print(f"  {n / runs:6.2f}  {name}")
    stats = snap.compare_to(base, "traceback")
    print(f"== {label}: {sum(s.size_diff for s in stats) / runs:.0f} bytes per run (tracemalloc)")
    for s in stats[:lines]:
        where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in s.traceback)
        print(f"  {s.size_diff / runs:7.0f} B {s.count_diff / runs:5.2f} blocks  {where}")


async def census(runs: int, lines: int, at: int = 2) -> None:
    pause, arrived = anyio.Event(), [0]
    compiled = _graph(pause, arrived, at)
    await wl.w3_sample(wl.build_w3(5), 50)    # warm-up: imports, caches
    async with Runtime() as rt:
        gc.collect()
        before = _types()
        tracemalloc.start(4)
        base = tracemalloc.take_snapshot()
        handles = [await rt.start(compiled, {}) for _ in range(runs)]
        while arrived[0] < runs:
            await anyio.sleep(0.01)
        gc.collect()
        in_flight, snap = _types(), tracemalloc.take_snapshot()
        _report(f"in flight (paused in n{at})", runs, before, in_flight, base, snap, lines)
        del snap   # its traces are objects the collector tracks: not the runs'
        pause.set()
        for h in handles:
            await h.result()
        del h
        gc.collect()
        finished, snap = _types(), tracemalloc.take_snapshot()
        tracemalloc.stop()
        _report("finished and kept", runs, before, finished, base, snap, lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.w3_census")
    ap.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=25)
    ap.add_argument("--pause-at", type=int, default=2, choices=range(5),
                    help="the node (n0-n4) the runs wait in while counted")
    args = ap.parse_args(argv)
    anyio.run(census, args.runs, args.lines, args.pause_at, backend=args.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main())
