"""The fan-out + join graph several runtime tests build: ``start`` fans out to
``width`` branches ``b0``..``b{width-1}`` (each given ``config={"i": i}``), whose
``vals`` updates append, joined by ``join``."""

from __future__ import annotations

from typing import Any

from runtime import END, Graph, WorkflowState


async def start(state: WorkflowState) -> None:
    return None


def fan_graph(width: int, branch: Any, join: Any, *, name: str = "fan") -> Graph:
    g = Graph(name, reducers={"vals": "append"}, max_steps=width + 10)
    g.add_node("start", start)
    names = [f"b{i}" for i in range(width)]
    for i, node in enumerate(names):
        g.add_node(node, branch, config={"i": i})
    g.add_node("join", join)
    g.add_edge("start", names)
    g.add_join(names, "join")
    g.add_edge("join", END)
    return g
