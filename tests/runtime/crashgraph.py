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
