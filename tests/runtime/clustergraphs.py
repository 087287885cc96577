"""Graphs for the cluster tests, executed by real ``actorflow worker`` processes.

Node functions live here at module level, so a worker (with this folder on its
PYTHONPATH) rebuilds each graph from the definition its runs carry.
"""

from __future__ import annotations

import os

import anyio

from runtime import END, Graph

STEPS = 5


async def step(state, ctx):  # type: ignore[no-untyped-def]
    """Slow enough for a test to stop or kill the worker in the middle of a run."""
    await anyio.sleep(float(state.data.get("pause", 0.4)))
    return {"trail": [{"node": ctx.node, "pid": os.getpid()}]}


def chain() -> Graph:
    g = Graph("cluster_chain", reducers={"trail": "append"})
    names = [f"s{i}" for i in range(1, STEPS + 1)]
    for name in names:
        g.add_node(name, step)
    for a, b in zip(names, names[1:], strict=False):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


WIDTH = 4


async def total(state):  # type: ignore[no-untyped-def]
    return {"total": len(state.data["trail"])}


def fanout() -> Graph:
    """start -> WIDTH parallel steps -> a join that counts them."""
    g = Graph("cluster_fanout", reducers={"trail": "append"})
    g.add_node("start", step)
    g.add_node("join", total)
    for i in range(WIDTH):
        g.add_node(f"b{i}", step)
        g.add_edge("start", f"b{i}")
        g.add_edge(f"b{i}", "join")
    g.add_edge("join", END)
    return g


async def asking(state):  # type: ignore[no-untyped-def]
    from runtime import ask

    answer = await ask({"question": "go on?"})
    return {"answer": answer}


def asking_graph() -> Graph:
    g = Graph("cluster_ask")
    g.add_node("ask", asking)
    g.add_edge("ask", END)
    return g


def edit_graph() -> Graph:
    """ask -> after: a run that waits, with an append key that state edits write."""
    g = Graph("cluster_edit", reducers={"notes": "append", "trail": "append"})
    g.add_node("ask", asking)
    g.add_node("after", step)
    g.add_edge("ask", "after")
    g.add_edge("after", END)
    return g
