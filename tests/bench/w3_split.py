"""Where a W3 run's time goes: a run's fixed cost and its cost per node.

    python -m tests.bench.w3_split [--backend asyncio] [--reps 7]

Runs W3 (1000 concurrent runs) with chains of 1, 5 and 10 nodes, each beside the raw
W3 of as many sleeps, and prints the medians and what actorflow adds to the raw
figure: the slope between chain lengths is its cost per node execution, the rest its
cost per run (start, begin, end, records).
"""

from __future__ import annotations

import argparse
import gc
import statistics

import anyio

from . import baselines as base
from . import workloads as wl

CHAINS = (1, 5, 10)


async def _split(reps: int) -> None:
    added: dict[int, float] = {}
    for chain in CHAINS:
        compiled = wl.build_w3(chain)
        ours, raw = [], []
        for _ in range(reps):
            gc.collect()
            ours.append(await wl.w3_sample(compiled))
            gc.collect()
            raw.append(await base.raw_w3_ms(chain=chain))
        added[chain] = statistics.median(ours) - statistics.median(raw)
        print(f"{chain:2d} nodes: actorflow {statistics.median(ours):6.1f} ms, raw "
              f"{statistics.median(raw):6.1f} ms, added {added[chain]:6.1f} ms")
    per_node = (added[CHAINS[-1]] - added[CHAINS[0]]) / (CHAINS[-1] - CHAINS[0])
    per_run = added[CHAINS[0]] - per_node
    print(f"per node execution {per_node:.1f} µs, per run {per_run:.1f} µs "
          f"(1000 runs: ms of the whole are µs of one)")


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.w3_split")
    ap.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    anyio.run(_split, args.reps, backend=args.backend)


if __name__ == "__main__":
    main()
