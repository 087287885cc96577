"""The example workflows (code review, summarization), stored so they are listed."""

from __future__ import annotations

from runtime import Runtime
from runtime.store import GraphExistsError

__all__ = ["save_examples"]


async def save_examples(rt: Runtime) -> None:
    """Store each example workflow unless a graph of that name exists, so they are
    listed, and runnable by name, on a fresh database."""
    import nodes

    for graph in nodes.register_all():
        if await rt.store.get_graph(graph.name) is None:
            try:
                await rt.save_graph(graph)
            except GraphExistsError:
                pass  # another process stored it first
