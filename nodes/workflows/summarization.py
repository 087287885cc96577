"""The summarization workflow as a graph (the seed's "Future: Summarization Workflow").

::

    split_text ==map over chunks (4 at a time)==> summarize_chunk
    summarize_chunk -> merge_summaries -> refine_summary
    refine_summary -> refine_summary
        when len(summary) > max_length and refine_iterations < max_refine_iterations
    refine_summary -> END   (default)
"""

from __future__ import annotations

from typing import Any

from runtime import END, Graph

__all__ = ["REFINE_CONDITION", "SUMMARIZATION", "build_summarization_graph",
           "summarization_json"]

SUMMARIZATION = "summarization"
REFINE_CONDITION = "len(summary) > max_length and refine_iterations < max_refine_iterations"
#: Chunks summarized at once (bounds concurrent LLM calls when one is used).
MAX_CONCURRENT_CHUNKS = 4


def build_summarization_graph(name: str = SUMMARIZATION) -> Graph:
    """The summarization graph (uses the tools registered by :mod:`nodes.tools`).

    Input: ``{"text": str, "max_length": 1000, "chunk_chars": 2000, "use_llm": false,
    "max_refine_iterations": 3, "format": "auto"}`` (only ``text`` is required;
    ``format`` is ``auto``, ``markdown``, ``rst`` or ``text``). Output: ``summary``
    (at most ``max_length`` characters, whole prose sentences of the text when
    offline), ``chunks``, ``chunk_summaries``, ``source_format``.
    """
    import nodes.tools  # noqa: F401  (registers the tools the graph names)

    g = Graph(
        name,
        description="Summarize a long text: chunk, summarize in parallel, merge, refine",
        reducers={"chunk_summaries": "append", "llm_usage": "append"},
    )
    for tool in ("split_text", "summarize_chunk", "merge_summaries", "refine_summary"):
        g.add_node(tool, tool=tool)
    g.set_entry_point("split_text")
    g.add_map_edge("split_text", "summarize_chunk", over="chunks", item_key="chunk",
                   max_concurrency=MAX_CONCURRENT_CHUNKS)
    g.add_edge("summarize_chunk", "merge_summaries")
    g.add_edge("merge_summaries", "refine_summary")
    g.add_conditional_edge("refine_summary", "refine_summary", REFINE_CONDITION)
    g.add_edge("refine_summary", END)
    return g


def summarization_json() -> dict[str, Any]:
    """The graph's JSON form, loadable with ``Graph.from_json`` or ``POST /api/v1/graph/create``."""
    return build_summarization_graph().to_json()
