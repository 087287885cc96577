"""DESIGN.md's W3 on LangGraph: 1000 concurrent runs of a 5-node chain, each node
``await asyncio.sleep(0.001)``; makespan and the process's peak RSS.

    .venv/peers/bin/python tests/bench/peer_langgraph.py [--reps 3]

Runs in LangGraph's own virtualenv (tests/bench/peers.py starts it; it imports nothing of
actorflow) and prints one JSON object. LangGraph runs on asyncio only. Each rep starts
every run with ``ainvoke`` at once (``asyncio.gather``), as actorflow's W3 starts 1000 runs
in its runtime; one warm-up run first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import sys
import time
from importlib.metadata import version
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

RUNS, CHAIN = 1000, 5


class State(TypedDict, total=False):
    run: int


async def node(state: State) -> dict[str, Any]:
    await asyncio.sleep(0.001)
    return {}


def build() -> Any:
    g = StateGraph(State)
    names = [f"n{i}" for i in range(CHAIN)]
    for n in names:
        g.add_node(n, node)
    g.add_edge(START, names[0])
    for a, b in zip(names, names[1:], strict=False):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g.compile()


async def main(reps: int) -> dict[str, Any]:
    app = build()
    await app.ainvoke({"run": -1})
    samples = []
    for _ in range(reps):
        gc.collect()
        started = time.perf_counter()
        finals = await asyncio.gather(*(app.ainvoke({"run": i}) for i in range(RUNS)))
        samples.append((time.perf_counter() - started) * 1e3)
        if [f["run"] for f in finals] != list(range(RUNS)):
            raise RuntimeError("a LangGraph W3 run ended with the wrong state")
    return {"langgraph": version("langgraph"), "python": sys.version.split()[0],
            "w3_ms": statistics.median(samples), "w3_samples_ms": samples,
            "w3_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    print(json.dumps(asyncio.run(main(ap.parse_args().reps))))
