"""Graphs with subgraphs for the tests, at module level so that a new process (crash
recovery) rebuilds them from a run's record. ``python subgraphs.py URL`` starts one run
of :func:`outer_graph` and serves it until killed."""

from __future__ import annotations

import sys

import anyio

from runtime import END, Graph, Runtime, ask

LOOPS = 20
#: The child's node executions in this process (the crash test counts them).
CALLS: list[int] = []


async def tick(state):  # type: ignore[no-untyped-def]
    CALLS.append(state.data.get("counter", 0))
    await anyio.sleep(0.05)
    return {"counter": state.data.get("counter", 0) + 1,
            "visits": [state.data.get("counter", 0)]}


def inner_loop() -> Graph:
    g = Graph("inner_loop", reducers={"visits": "append"})
    g.add_node("tick", tick)
    g.add_conditional_edge("tick", "tick", f"counter < {LOOPS}")
    g.add_edge("tick", END)
    return g


def outer_graph() -> Graph:
    g = Graph("outer_loop", reducers={"log": "append"})
    g.add_node("prep", "set", config={"values": {"start": 0}})
    g.add_subgraph("sub", inner_loop(), inputs={"start": "counter"},
                   outputs={"counter": "total", "visits": "log"})
    g.add_edge("prep", "sub")
    g.add_edge("sub", END)
    return g


async def question(state, ctx):  # type: ignore[no-untyped-def]
    answer = await ask({"topic": state.data["topic"]})
    return {"answer": f"{state.data['topic']}={answer}"}


def asking() -> Graph:
    g = Graph("asking")
    g.add_node("q", question)
    g.add_edge("q", END)
    return g


def parallel_asking() -> Graph:
    """Two subgraphs in parallel, each asking inside; their answers append to one key."""
    g = Graph("parallel_asking", reducers={"answers": "append"})
    g.add_node("start", "set", config={"values": {"a": "x", "b": "y"}})
    g.add_subgraph("left", asking(), inputs={"a": "topic"}, outputs={"answer": "answers"})
    g.add_subgraph("right", asking(), inputs={"b": "topic"}, outputs={"answer": "answers"})
    g.add_edge("start", ["left", "right"])
    g.add_edge(["left", "right"], END)
    return g


async def main(url: str) -> None:
    async with Runtime(url) as rt:
        await rt.start(outer_graph().compile(), {}, run_id="outer")
        print("started", flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    import subgraphs  # functions serialize as "subgraphs:tick", importable after a crash

    anyio.run(subgraphs.main, sys.argv[1])
