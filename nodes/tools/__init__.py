"""The built-in tools of the example workflows, registered in the runtime's registry.

Importing this package registers every tool in :data:`runtime.registry`
(idempotently: importing again or calling :func:`register_tools` replaces them
with themselves). :func:`register_tools` also fills any other registry.

Code review (:mod:`nodes.tools.code_review`): ``extract_functions``,
``analyze_function``, ``calculate_complexity``, ``detect_issues``,
``suggest_improvements``, ``check_quality``, ``approve_revision`` (human in the
loop, :mod:`nodes.tools.approval`), ``apply_revision``, ``generate_report``.

Summarization (:mod:`nodes.tools.summarize`): ``split_text``,
``summarize_chunk``, ``merge_summaries``, ``refine_summary``.

Financial analysis (:mod:`nodes.tools.finance`): ``fetch_market_data``,
``technical_analysis``, ``fundamental_analysis``, ``sentiment_analysis``,
``news_analysis``, ``generate_investment_report``, ``recommend``.
"""

from __future__ import annotations

from runtime import ToolRegistry, registry

from . import approval, code_review, finance, summarize

__all__ = ["CODE_REVIEW_TOOLS", "FINANCE_TOOLS", "SUMMARIZATION_TOOLS", "approval",
           "code_review", "finance", "register_tools", "summarize"]

CODE_REVIEW_TOOLS = (
    "extract_functions", "analyze_function", "calculate_complexity", "detect_issues",
    "suggest_improvements", "check_quality", "approve_revision", "apply_revision",
    "generate_report",
)
SUMMARIZATION_TOOLS = ("split_text", "summarize_chunk", "merge_summaries", "refine_summary")
FINANCE_TOOLS = (
    "fetch_market_data", "technical_analysis", "fundamental_analysis", "sentiment_analysis",
    "news_analysis", "generate_investment_report", "recommend",
)


def register_tools(target: ToolRegistry = registry) -> None:
    """Register every built-in tool in ``target`` (default: the process-wide registry)."""
    code_review.register(target)
    approval.register(target)
    summarize.register(target)
    finance.register(target)


register_tools()
