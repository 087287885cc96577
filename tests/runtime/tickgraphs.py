"""A counting loop for the durability tests: node ``tick`` adds one to ``n`` until it
reaches ``loops``, awaiting ``gate(n)`` first at every step, so that a test holds the run
at the step it chooses (a database taken away, a write lock held)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from runtime import END, Graph, WorkflowState


def tick_loop(name: str, loops: int, gate: Callable[[int], Awaitable[object]],
              **graph_kw: Any) -> Graph:
    async def tick(state: WorkflowState) -> dict[str, int]:
        n = state.data.get("n", 0)
        await gate(n)
        return {"n": n + 1}

    g = Graph(name, **graph_kw)
    g.add_node("tick", tick)
    g.add_conditional_edge("tick", "tick", f"n < {loops}")
    g.add_edge("tick", END)
    return g
