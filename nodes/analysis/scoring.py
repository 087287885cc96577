"""Turn review findings into a 0-100 quality score and concrete suggestions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from nodes.analysis.functions import FunctionInfo
from nodes.analysis.models import Issue, Severity

__all__ = [
    "COMPLEXITY_BASELINE",
    "FUNCTIONS_PER_UNIT",
    "MAX_COMPLEXITY_PENALTY",
    "RULE_PENALTY_CAP",
    "SEVERITY_WEIGHTS",
    "quality_score",
    "suggest_improvements",
]

#: Points subtracted per issue.
SEVERITY_WEIGHTS: dict[Severity, int] = {"error": 10, "warning": 5, "info": 2}
#: Most points a single rule can cost, so one repetitive finding (say, forty
#: missing docstrings) cannot by itself drive the score to zero.
RULE_PENALTY_CAP = 25
#: Issues are counted per this many functions, so big modules are not
#: penalised merely for being big.
FUNCTIONS_PER_UNIT = 10
#: Average complexity up to which there is no complexity penalty.
COMPLEXITY_BASELINE = 5.0
#: Most points the average-complexity penalty can cost.
MAX_COMPLEXITY_PENALTY = 15

_SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


def quality_score(functions: Sequence[FunctionInfo], issues: Sequence[Issue]) -> int:
    """Score code quality from 0 (worst) to 100 (no findings).

    Formula::

        size = max(1, len(functions) / FUNCTIONS_PER_UNIT)
        issue_penalty = sum over rule ids r of
            min(RULE_PENALTY_CAP, (sum of SEVERITY_WEIGHTS[i.severity] for issues i of r) / size)
        complexity_penalty = min(MAX_COMPLEXITY_PENALTY,
                                 3 * max(0, mean_complexity - COMPLEXITY_BASELINE))
        score = clamp(round(100 - issue_penalty - complexity_penalty), 0, 100)

    with weights error=10, warning=5, info=2, a per-rule cap of 25 points, and
    ``mean_complexity`` the average cyclomatic complexity of ``functions`` (0
    when there are none). ``size`` makes the issue penalty a density: up to 10
    functions every issue costs its full weight, a module with 100 functions
    needs ten times as many issues to lose as many points. Example: ``def hello(): pass`` has one info issue
    (missing docstring) and complexity 1, so it scores 98.

    Args:
        functions: the functions that were reviewed (for their complexity).
        issues: the findings from :func:`detect_issues`.

    Returns:
        An integer in ``[0, 100]``.
    """
    per_rule: dict[str, int] = defaultdict(int)
    for issue in issues:
        per_rule[issue.rule_id] += SEVERITY_WEIGHTS[issue.severity]
    size = max(1.0, len(functions) / FUNCTIONS_PER_UNIT)
    issue_penalty = sum(min(RULE_PENALTY_CAP, points / size) for points in per_rule.values())

    mean = sum(f.complexity for f in functions) / len(functions) if functions else 0.0
    complexity_penalty = min(MAX_COMPLEXITY_PENALTY, 3 * max(0.0, mean - COMPLEXITY_BASELINE))
    return max(0, min(100, round(100 - issue_penalty - complexity_penalty)))


def _suggestion(issue: Issue) -> str:
    """The concrete fix for one issue; the wording names the function and line."""
    target = f"`{issue.function}`" if issue.function else "module-level code"
    at = f"(line {issue.line})"
    templates: dict[str, str] = {
        "AF101": f"Split {target} {at} into smaller helper functions: {issue.message}.",
        "AF102": (
            f"Reduce the branching in {target} {at}: extract conditions into helpers, "
            f"use early returns or lookup tables ({issue.message})."
        ),
        "AF103": f"Add docstring to {target} {at} describing what it does, its arguments and its result.",
        "AF104": (
            f"Reduce the parameters of {target} {at}: group related ones into a dataclass "
            f"or make rarely-used ones keyword-only with defaults ({issue.message})."
        ),
        "AF105": (
            f"Flatten the nesting in {target} {at}: use guard clauses (`continue`/`return` early) "
            "or move the inner blocks into a helper."
        ),
        "AF106": (
            f"Replace the bare `except:` in {target} {at} with the specific exceptions you expect, "
            "or re-raise after cleaning up."
        ),
        "AF107": (
            f"Catch the specific exceptions you expect in {target} {at} instead of "
            "`Exception`/`BaseException`, or log and re-raise."
        ),
        "AF108": (
            f"Use `None` as the default in {target} {at} and create the list/dict/set inside "
            "the function body."
        ),
        "AF109": f"Remove the unused argument in {target} {at}, or prefix it with `_` if the signature is required: {issue.message}.",
        "AF110": f"Remove the unused variable in {target} {at}, or use it: {issue.message}.",
    }
    return templates.get(issue.rule_id, f"Fix {target} {at}: {issue.message}.")


def suggest_improvements(issues: Sequence[Issue]) -> list[str]:
    """Return one concrete, actionable suggestion per issue, most severe first.

    Suggestions name the function and line (e.g. "Add docstring to `hello`
    (line 1) ..."); duplicates are dropped and ties keep source order.

    Args:
        issues: the findings from :func:`detect_issues`.
    """
    ordered = sorted(issues, key=lambda i: (_SEVERITY_ORDER.get(i.severity, 3), i.line, i.rule_id))
    suggestions: list[str] = []
    seen: set[str] = set()
    for issue in ordered:
        text = _suggestion(issue)
        if text not in seen:
            seen.add(text)
            suggestions.append(text)
    return suggestions
