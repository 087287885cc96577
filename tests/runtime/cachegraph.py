"""A graph with a cached node, importable by a child process (node cache tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime import END, CachePolicy, Graph, WorkflowState


def expensive(state: WorkflowState) -> dict[str, Any]:
    """Appends a line to data["log"] (a file) each time it really runs."""
    with Path(state["log"]).open("a") as f:
        f.write("ran\n")
    return {"answer": state["q"].upper()}


def expensive_v2(state: WorkflowState) -> dict[str, Any]:
    """The same node after a deploy that changed what it answers."""
    with Path(state["log"]).open("a") as f:
        f.write("ran\n")
    return {"answer": state["q"].lower() if state["q"] in {"HI", "LOUD", "SHOUT"} else "?"}


def by_question(state: WorkflowState) -> Any:
    return state["q"]


def graph(ttl: float | None = 60, *, key: Any = None, fn: Any = expensive) -> Graph:
    g = Graph("cached")
    g.add_node("expensive", fn, cache=CachePolicy(ttl=ttl, key=key))
    g.add_edge("expensive", END)
    return g


if __name__ == "__main__":
    import json
    import sys

    import anyio

    from runtime import Runtime

    async def main(url: str, log: str) -> None:
        async with Runtime(url) as rt:
            run = await rt.start(graph().compile(), {"q": "shared", "log": log})
            final = await run.result()
            print(json.dumps({"answer": final.data["answer"], "hits": rt.node_cache.hits,
                              "misses": rt.node_cache.misses}))

    anyio.run(main, sys.argv[1], sys.argv[2], backend=sys.argv[3])
