"""The financial-analysis workflow as a graph (the seed's "Phase 2: Financial Analysis Workflow").

::

    fetch_market_data
        -> technical_analysis, fundamental_analysis, sentiment_analysis, news_analysis
           (in parallel)
        -> generate_report   (joins the four; tool generate_investment_report)
        -> recommend -> END
    each analyst --on error--> generate_report   (the report says what is missing)
    fetch_market_data --on error--> generate_report

The report node is named ``generate_report`` as in the seed; its tool is
``generate_investment_report`` because ``generate_report`` is the code-review
workflow's tool.
"""

from __future__ import annotations

from typing import Any

from runtime import END, Graph

__all__ = ["ANALYSTS", "FINANCIAL_ANALYSIS", "build_financial_analysis_graph",
           "financial_analysis_json"]

FINANCIAL_ANALYSIS = "financial_analysis"
ANALYSTS = ("technical_analysis", "fundamental_analysis", "sentiment_analysis", "news_analysis")


def build_financial_analysis_graph(name: str = FINANCIAL_ANALYSIS) -> Graph:
    """The financial-analysis graph (uses the tools registered by :mod:`nodes.tools`).

    Input: ``{"symbol": "AAPL", "as_of": "2016-06-30", "lookback_days": 400,
    "news_days": 90, "use_llm": null}`` (only ``symbol`` is required; offline,
    ``as_of`` defaults to the end of the shipped data). Output: ``market``,
    ``technical``, ``fundamental``, ``sentiment``, ``news``, ``report`` (with
    ``text``) and ``recommendation``.
    """
    import nodes.tools  # noqa: F401  (registers the tools the graph names)

    g = Graph(name, description="Four analysts in parallel (technical, fundamental, sentiment, "
                                "news), a report, and a scored recommendation",
              reducers={"llm_usage": "append"})
    g.add_node("fetch_market_data", tool="fetch_market_data")
    for analyst in ANALYSTS:
        g.add_node(analyst, tool=analyst)
    g.add_node("generate_report", tool="generate_investment_report")
    g.add_node("recommend", tool="recommend")
    g.set_entry_point("fetch_market_data")
    for analyst in ANALYSTS:
        g.add_edge("fetch_market_data", analyst)
        g.add_edge(analyst, "generate_report")
        g.add_error_edge(analyst, "generate_report")
    g.add_error_edge("fetch_market_data", "generate_report")
    g.add_edge("generate_report", "recommend")
    g.add_edge("recommend", END)
    return g


def financial_analysis_json() -> dict[str, Any]:
    """The graph's JSON form, loadable with ``Graph.from_json`` or ``POST /api/v1/graph/create``."""
    return build_financial_analysis_graph().to_json()
