"""The code-review workflow as a graph (the seed's "Current: Code Review Workflow").

::

    extract_functions ==map over functions (8 at a time)==> analyze_function
    analyze_function -> calculate_complexity -> detect_issues
        -> suggest_improvements -> check_quality
    check_quality -> approve_revision -> apply_revision -> extract_functions
        when quality_score < quality_threshold and iteration_count < max_iterations
        and revised; approve_revision asks a person first if require_approval
        (human in the loop) and goes to the report when the answer is no
    check_quality -> generate_report   (default) -> END
    extract_functions --on error--> generate_report   (code that does not parse)

In rules mode nothing revises the code, so the loop never runs: one pass.
With ``use_llm`` the model's revision (if it parses and differs) becomes
``data.code`` and is reviewed again, at most ``max_iterations`` passes in all;
``score_history`` holds every pass's score.
"""

from __future__ import annotations

from typing import Any

from runtime import END, Graph

__all__ = ["CODE_REVIEW", "LOOP_CONDITION", "SEED_GRAPH", "build_code_review_graph",
           "code_review_json"]

#: The seed's "Create Workflow Graph" request body, unchanged: it runs on the tools
#: registered under the seed's names (extract -> analyze -> report).
SEED_GRAPH: dict[str, Any] = {
    "name": "code_review_workflow",
    "description": "Analyzes Python code quality",
    "nodes": [
        {"name": "extract", "tool": "extract_functions"},
        {"name": "analyze", "tool": "calculate_complexity"},
        {"name": "report", "tool": "generate_report"},
    ],
    "edges": [
        {"from": "extract", "to": "analyze"},
        {"from": "analyze", "to": "report"},
    ],
    "entry_point": "extract",
}

CODE_REVIEW = "code_review"
LOOP_CONDITION = (
    "quality_score < quality_threshold and iteration_count < max_iterations and revised"
)
#: Functions analysed at once by the map step.
MAX_CONCURRENT_FUNCTIONS = 8


def build_code_review_graph(name: str = CODE_REVIEW) -> Graph:
    """The code-review graph (uses the tools registered by :mod:`nodes.tools`).

    Input: ``{"code": str, "use_llm": false, "quality_threshold": 70,
    "max_iterations": 3, "thresholds": {...}, "require_approval": false}`` (only
    ``code`` is required). With ``require_approval`` the run waits for
    ``{"approved": bool, "comment": str}`` before applying each LLM revision.
    Output: ``quality_score``, ``functions``, ``complexity``, ``issues``,
    ``suggestions``, ``iterations``, ``score_history`` and ``report``.
    """
    import nodes.tools  # noqa: F401  (registers the tools the graph names)

    g = Graph(
        name,
        description="Review Python code: functions, complexity, issues, suggestions, score",
        reducers={"function_reports": "append", "score_history": "append",
                  "llm_usage": "append"},
    )
    for tool in ("extract_functions", "analyze_function", "calculate_complexity",
                 "detect_issues", "suggest_improvements", "check_quality", "approve_revision",
                 "apply_revision", "generate_report"):
        g.add_node(tool, tool=tool)
    g.set_entry_point("extract_functions")
    g.add_map_edge("extract_functions", "analyze_function", over="functions",
                   item_key="function", max_concurrency=MAX_CONCURRENT_FUNCTIONS)
    g.add_edge("analyze_function", "calculate_complexity")
    g.add_edge("calculate_complexity", "detect_issues")
    g.add_edge("detect_issues", "suggest_improvements")
    g.add_edge("suggest_improvements", "check_quality")
    g.add_conditional_edge("check_quality", "approve_revision", LOOP_CONDITION)
    g.add_edge("check_quality", "generate_report")
    g.add_conditional_edge("approve_revision", "apply_revision", "revision_approved")
    g.add_edge("approve_revision", "generate_report")
    g.add_edge("apply_revision", "extract_functions")
    g.add_edge("generate_report", END)
    g.add_error_edge("extract_functions", "generate_report")
    return g


def code_review_json() -> dict[str, Any]:
    """The graph's JSON form, loadable with ``Graph.from_json`` or ``POST /api/v1/graph/create``."""
    return build_code_review_graph().to_json()
