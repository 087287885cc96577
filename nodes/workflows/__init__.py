"""The example workflows: code review, summarization and financial analysis, as graphs and JSON.

``EXAMPLE_GRAPHS`` maps each example's graph name to the function that builds
it; every call builds a fresh, unshared :class:`runtime.Graph`.
"""

from __future__ import annotations

from collections.abc import Callable

from runtime import Graph

from .code_review import CODE_REVIEW, SEED_GRAPH, build_code_review_graph, code_review_json
from .financial_analysis import (
    FINANCIAL_ANALYSIS,
    build_financial_analysis_graph,
    financial_analysis_json,
)
from .summarization import SUMMARIZATION, build_summarization_graph, summarization_json

__all__ = [
    "CODE_REVIEW",
    "EXAMPLE_GRAPHS",
    "FINANCIAL_ANALYSIS",
    "SEED_GRAPH",
    "SUMMARIZATION",
    "build_code_review_graph",
    "build_financial_analysis_graph",
    "build_summarization_graph",
    "code_review_json",
    "financial_analysis_json",
    "summarization_json",
]

EXAMPLE_GRAPHS: dict[str, Callable[[], Graph]] = {
    CODE_REVIEW: build_code_review_graph,
    SUMMARIZATION: build_summarization_graph,
    FINANCIAL_ANALYSIS: build_financial_analysis_graph,
}
