"""A workload for the crash-recovery tests, run in a subprocess that gets SIGKILLed.

``python crashgraph.py URL N`` starts N runs of a looping graph and a fan-out graph
on the store at URL, then serves them until killed. Node functions live here at
module level so a new process can rebuild the graphs from the runs' records.
"""

from __future__ import annotations

import sys

import anyio

from runtime import END, Graph, Runtime

LOOPS = 30


async def tick(state):  # type: ignore[no-untyped-def]
    await anyio.sleep(0.05)
    return {"counter": state.data.get("counter", 0) + 1,
            "visits": [state.data.get("counter", 0)]}


async def branch(state, ctx):  # type: ignore[no-untyped-def]
    await anyio.sleep(0.3)
    return {"parts": [ctx.node]}


async def total(state):  # type: ignore[no-untyped-def]
    return {"total": len(state.data["parts"])}


def loop_graph() -> Graph:
    g = Graph("crash_loop", reducers={"visits": "append"})
    g.add_node("tick", tick)
    g.add_conditional_edge("tick", "tick", f"counter < {LOOPS}")
    g.add_edge("tick", END)
    return g


#: Steps of a ``steps`` mode run that goes on while the process is killed, and of the
#: short runs whose completion the process reports before it is killed.
LONG, SHORT = 1500, 5


async def count(state):  # type: ignore[no-untyped-def]
    return {"n": state.data["n"] + 1}


def counting_graph() -> Graph:
    """Steps as fast as a durable store takes them: no sleep, one node looping, a
    state that does not grow (what a step costs to store stays the same)."""
    g = Graph("crash_count", max_steps=LONG + 10)
    g.add_node("count", count)
    g.add_conditional_edge("count", "count", "n < limit")
    g.add_edge("count", END)
    return g


async def steps(url: str, n: int) -> None:
    """``n`` long runs stepping fast, and short runs one after another, each reported
    on stdout ("done RUN_ID") once ``result()`` returned: what the process told the
    world is finished."""
    compiled = counting_graph().compile()
    async with Runtime(url) as rt:
        for i in range(n):
            await rt.start(compiled, {"n": 0, "limit": LONG}, run_id=f"long-{i}")
        print("started", flush=True)
        k = 0
        while True:
            run = await rt.start(compiled, {"n": 0, "limit": SHORT}, run_id=f"short-{k}")
            await run.result()
            print(f"done short-{k}", flush=True)
            k += 1


def fanout_graph() -> Graph:
    g = Graph("crash_fanout", reducers={"parts": "append"})
    g.add_node("start", "set", config={"values": {"parts": []}})
    for i in range(4):
        g.add_node(f"b{i}", branch)
        g.add_node(f"c{i}", branch)
        g.add_edge("start", f"b{i}")
        g.add_edge(f"b{i}", f"c{i}")
        g.add_edge(f"c{i}", "sum")
    g.add_node("sum", total)
    g.add_edge("sum", END)
    return g


async def main(url: str, n: int, mode: str = "loops") -> None:
    if mode == "steps":
        await steps(url, n)
        return
    if mode == "ask":
        import hitlgraphs

        async with Runtime(url) as rt:
            for i in range(n):
                await rt.start(hitlgraphs.parallel_graph().compile(), {}, run_id=f"ask-{i}")
            print("started", flush=True)
            await anyio.sleep_forever()
    async with Runtime(url) as rt:
        for i in range(n):
            await rt.start(loop_graph().compile(), {"counter": 0}, run_id=f"loop-{i}")
            await rt.start(fanout_graph().compile(), {}, run_id=f"fan-{i}")
        print("started", flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    # Import ourselves under our module name, so the graphs' functions serialize as
    # "crashgraph:tick" (importable by the recovering process), not "__main__:tick".
    import crashgraph

    anyio.run(crashgraph.main, sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
