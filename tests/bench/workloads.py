"""The DESIGN.md benchmark workloads W1..W4: graph builders and timed runners.

Every runner returns one sample (seconds, or a derived unit) and checks the run's
*result* (not its timing) so that a broken runtime cannot report a fast figure.
Nothing here asserts anything about time.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import anyio

from runtime import END, Graph, Runtime

__all__ = [
    "build_sub_w1",
    "build_w1",
    "build_w2",
    "build_w3",
    "compile_w2_sample",
    "w1_sample",
    "w2_sample",
    "w3_sample",
    "w4_concurrent_sample",
    "w4_sample",
    "w4_sequential_sample",
]

# -- node bodies (module level, so the graphs are serialisable) ---------------------------


async def w1_a(state: Any) -> dict[str, Any]:
    return {"counter": state.data.get("counter", 0) + 1}


async def w1_b(state: Any) -> None:
    return None


async def w2_start(state: Any) -> None:
    return None


async def w2_join(state: Any) -> dict[str, Any]:
    return {"total": sum(state.data.get("vals", []))}


def _w2_branch(i: int) -> Any:
    async def branch(state: Any) -> dict[str, Any]:
        return {"vals": [i]}

    branch.__name__ = branch.__qualname__ = f"w2_branch_{i}"
    return branch


async def w3_node(state: Any) -> None:
    await anyio.sleep(0.001)


# -- builders -----------------------------------------------------------------------------


def build_w1(iterations: int = 1000, name: str = "bench_w1") -> Any:
    """A -> B, B -> A while ``counter < iterations`` (else END). A increments counter.

    One run executes ``2 * iterations`` nodes.
    """
    g = Graph(name, max_steps=2 * iterations + 10)
    g.add_node("A", w1_a)
    g.add_node("B", w1_b)
    g.add_edge("A", "B")
    g.add_conditional_edge("B", "A", f"counter < {iterations}")
    g.add_edge("B", END)
    return g.compile()


def build_sub_w1(iterations: int = 1000) -> Any:
    """W1 whose node A is a one-node subgraph running W1's A (issue 13's
    ``subgraph_overhead_us``): the same work as W1, one subgraph per iteration."""
    inner = Graph("bench_sub_inner")
    inner.add_node("A", w1_a)
    inner.add_edge("A", END)
    g = Graph("bench_sub_w1", max_steps=2 * iterations + 10)
    g.add_subgraph("A", inner.compile(), inputs=["counter"], outputs=["counter"])
    g.add_node("B", w1_b)
    g.add_edge("A", "B")
    g.add_conditional_edge("B", "A", f"counter < {iterations}")
    g.add_edge("B", END)
    return g.compile()


def build_w2(width: int = 100) -> Any:
    """start -> ``width`` parallel branches -> join (sums ``vals``, an append reducer)."""
    g = Graph("bench_w2", reducers={"vals": "append"}, max_steps=width + 10)
    g.add_node("start", w2_start)
    names = [f"b{i}" for i in range(width)]
    for i, n in enumerate(names):
        g.add_node(n, _w2_branch(i))
    g.add_node("join", w2_join)
    g.add_edge("start", names)
    g.add_join(names, "join")
    g.add_edge("join", END)
    return g.compile()


def build_w3(chain: int = 5) -> Any:
    """A chain of ``chain`` nodes, each ``await anyio.sleep(0.001)``."""
    g = Graph("bench_w3")
    names = [f"n{i}" for i in range(chain)]
    for n in names:
        g.add_node(n, w3_node)
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g.compile()


# -- runners ------------------------------------------------------------------------------


async def _run_w1(rt: Runtime, compiled: Any, iterations: int) -> None:
    run = await rt.start(compiled, {"counter": 0})
    state = await run.result()
    if state.data.get("counter") != iterations:
        raise RuntimeError(f"W1 ended with counter={state.data.get('counter')!r}, "
                           f"expected {iterations}")


async def w1_sample(rt: Runtime, compiled: Any, iterations: int) -> float:
    """µs per node execution of one W1 run (start to result, ``2*iterations`` nodes)."""
    started = time.perf_counter()
    await _run_w1(rt, compiled, iterations)
    return (time.perf_counter() - started) / (2 * iterations) * 1e6


async def w2_sample(rt: Runtime, compiled: Any, width: int = 100) -> float:
    """ms for one W2 run, start to result."""
    started = time.perf_counter()
    run = await rt.start(compiled, {})
    state = await run.result()
    elapsed = time.perf_counter() - started
    if state.data.get("total") != width * (width - 1) // 2:
        raise RuntimeError(f"W2 join summed {state.data.get('total')!r}, "
                           f"expected {width * (width - 1) // 2}")
    return elapsed * 1e3


def compile_w2_sample(width: int) -> float:
    """ms to build and compile W2's graph with ``width`` branches (issue 10 item 5)."""
    started = time.perf_counter()
    compiled = build_w2(width)
    elapsed = time.perf_counter() - started
    if len(compiled.nodes) != width + 2 or compiled.joins.get("start") != "join":
        raise RuntimeError(f"the {width}-branch W2 graph compiled wrong")
    return elapsed * 1e3


async def w3_sample(compiled: Any, runs: int = 1000, *,
                    gc_threshold: int | None = None) -> float:
    """ms makespan of ``runs`` concurrent W3 runs in a fresh in-memory Runtime
    (``gc_threshold``: the runtime's opt-in collector tuning)."""
    async with Runtime(gc_threshold=gc_threshold) as rt:
        started = time.perf_counter()
        handles = [await rt.start(compiled, {}) for _ in range(runs)]
        for h in handles:
            await h.result()
        elapsed = time.perf_counter() - started
    return elapsed * 1e3


async def w4_sample(rt: Runtime, compiled: Any, iterations: int) -> float:
    """W1 on a durable store: µs per node execution (each step checkpointed)."""
    return await w1_sample(rt, compiled, iterations)


async def w4_concurrent_sample(rt: Runtime, compiled: Any, runs: int, iterations: int) -> float:
    """Runs completed per second with ``runs`` W1-style runs (``2*iterations`` steps
    each) all in flight at once."""
    started = time.perf_counter()
    handles = [await rt.start(compiled, {"counter": 0}) for _ in range(runs)]
    errors = 0
    for h in handles:
        state = await h.result()
        errors += state.data.get("counter") != iterations
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{errors} concurrent W4 runs ended with a wrong counter")
    return runs / elapsed


async def w4_sequential_sample(rt: Runtime, compiled: Any, runs: int, iterations: int) -> float:
    """Runs completed per second with the same runs one after another."""
    started = time.perf_counter()
    for _ in range(runs):
        await _run_w1(rt, compiled, iterations)
    return runs / (time.perf_counter() - started)
