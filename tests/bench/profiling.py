"""cProfile of W1 and W2 on one backend, top functions by own time (tottime).

    python -m tests.bench.profiling [--backend asyncio] [--top 15] [--only W1]

For finding where the runtime spends its time; the numbers are inflated by the
profiler itself (by roughly 2-3x for code this call-heavy), so read the shares.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys

import anyio

from . import workloads as wl


async def _w1(runs: int) -> None:
    from runtime import Runtime

    compiled = wl.build_w1(1000)
    async with Runtime() as rt:
        for _ in range(runs):
            await wl.w1_sample(rt, compiled, 1000)


async def _w2(runs: int) -> None:
    from runtime import Runtime

    compiled = wl.build_w2(100)
    async with Runtime() as rt:
        for _ in range(runs):
            await wl.w2_sample(rt, compiled)


def profile(name: str, backend: str, top: int) -> str:
    body = {"W1": lambda: _w1(3), "W2": lambda: _w2(20)}[name]
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
    ap.add_argument("--only", default="W1,W2")
    args = ap.parse_args(argv)
    for name in [w.strip().upper() for w in args.only.split(",") if w.strip()]:
        what = "3 runs x 2000 node executions" if name == "W1" else "20 runs x 102 nodes"
        print(f"==== {name} on {args.backend} ({what}), sorted by tottime ====")
        print(profile(name, args.backend, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
