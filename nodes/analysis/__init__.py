"""Pure analysis code behind the example workflows (code review, summarization).

Nothing here knows about graphs or the runtime: graph nodes call these
functions and put their (JSON-ready) results into workflow state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.analysis.complexity import cyclomatic_complexity
from nodes.analysis.errors import CodeSyntaxError
from nodes.analysis.functions import FunctionInfo, extract_functions
from nodes.analysis.prose import FORMATS, detect_format, prose_text
from nodes.analysis.rules import RULES, Issue, Thresholds, detect_issues
from nodes.analysis.scoring import quality_score, suggest_improvements
from nodes.analysis.summarize import (
    extractive_summary,
    hierarchical_summary,
    merge_summaries,
    split_into_chunks,
    split_sentences,
    summarize_document,
)

__all__ = [
    "FORMATS",
    "RULES",
    "CodeSyntaxError",
    "FunctionInfo",
    "Issue",
    "Thresholds",
    "cyclomatic_complexity",
    "detect_format",
    "detect_issues",
    "extract_functions",
    "extractive_summary",
    "hierarchical_summary",
    "merge_summaries",
    "prose_text",
    "quality_score",
    "review_code",
    "split_into_chunks",
    "split_sentences",
    "suggest_improvements",
    "summarize_document",
]


def review_code(
    code: str, thresholds: Thresholds | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run the whole rule-based review pipeline on ``code`` in one call.

    This is the code-review workflow without the graph (and without the LLM
    step): extract functions, compute complexity, detect issues, score and
    suggest. Useful for tests, benchmarks and the CLI.

    Args:
        code: Python source text.
        thresholds: rule limits (a :class:`Thresholds` or a dict of its fields).

    Returns:
        ``{"quality_score": int, "functions": [dict], "complexity": {qualname: int},
        "issues": [dict], "suggestions": [str]}``, all JSON-ready.

    Raises:
        CodeSyntaxError: if ``code`` does not parse.
    """
    functions = extract_functions(code)
    issues = detect_issues(code, functions, thresholds)
    return {
        "quality_score": quality_score(functions, issues),
        "functions": [f.to_dict() for f in functions],
        # Qualnames can repeat (e.g. a function redefined under `if`); the last one wins,
        # as it would at runtime.
        "complexity": {f.qualname: f.complexity for f in functions},
        "issues": [i.to_dict() for i in issues],
        "suggestions": suggest_improvements(issues),
    }
