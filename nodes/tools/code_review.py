"""The code-review workflow's tools (the seed's "Code Review Workflow").

State (``data``) they read and write, in graph order:

==========================  ====================================================
tool                        writes
==========================  ====================================================
``extract_functions``       ``functions`` (one dict per function), and the run's
                            settings normalised: ``thresholds``,
                            ``quality_threshold`` (70), ``max_iterations`` (3),
                            ``iteration_count`` (0)
``analyze_function``        map target, one run per function (``data.function``):
                            ``function_reports`` += [{pass, qualname, lineno,
                            complexity, issues}]
``calculate_complexity``    ``complexity`` {qualname: int}, ``average_complexity``
``detect_issues``           ``issues`` (sorted dicts), ``issue_counts``
``suggest_improvements``    ``suggestions``; ``revised`` (bool); with ``use_llm``,
                            ``revised_code`` and ``llm_usage`` += [record]
``check_quality``           ``quality_score``, ``score_history`` += [score],
                            ``iteration_count`` += 1, ``iterations``
``apply_revision``          ``code`` = ``revised_code`` (``original_code`` kept)
``generate_report``         ``report`` (and any of the above still missing)
==========================  ====================================================

``function_reports`` is append-reduced and grows by one entry per function per
pass; every entry carries its ``pass`` (the ``iteration_count`` it was made
in), and the joins read only the current pass's entries.

The nodes also work without the map step (the seed's three-node JSON example
``extract_functions -> calculate_complexity -> generate_report``): a join that
finds no reports for the current pass analyses ``data.code`` itself.

Code that does not parse makes ``extract_functions`` fail with the parser's
line, column and reason (``CodeSyntaxError: cannot parse code at line 1,
column 10: expected ':'``). The example graph routes that failure to
``generate_report`` (an error edge), so the run completes with the error in
``state.errors`` and ``report.syntax_error``; a graph without the error edge
fails the run with the same message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nodes.analysis import (
    CodeSyntaxError,
    FunctionInfo,
    Issue,
    Thresholds,
    quality_score,
)
from nodes.analysis import detect_issues as detect_all_issues
from nodes.analysis import extract_functions as extract_all_functions
from nodes.analysis import suggest_improvements as rule_suggestions
from nodes.analysis.errors import parse_code
from nodes.llm_node import ask_llm, usage_totals
from runtime import NodeContext, ToolRegistry, WorkflowState, registry

from ._function_review import function_issues, module_issues
from ._revision import accept_revision, revision_request
from ._settings import bool_setting, int_setting, raw_setting, text_input

__all__ = [
    "DEFAULT_MAX_ITERATIONS",
    "DEFAULT_QUALITY_THRESHOLD",
    "analyze_function",
    "apply_revision",
    "calculate_complexity",
    "check_quality",
    "detect_issues",
    "extract_functions",
    "generate_report",
    "register",
    "suggest_improvements",
]

DEFAULT_QUALITY_THRESHOLD = 70
DEFAULT_MAX_ITERATIONS = 3

# -- reading state ---------------------------------------------------------------------------


def _thresholds(state: WorkflowState, config: Mapping[str, Any]) -> Thresholds:
    value = raw_setting(state, config, "thresholds")
    if value is None:
        return Thresholds()
    if not isinstance(value, Mapping):
        raise TypeError(f"thresholds must be an object, got {type(value).__name__}")
    try:
        return Thresholds.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"invalid thresholds: {problems}") from None


def _functions(state: WorkflowState) -> list[FunctionInfo]:
    return [FunctionInfo.from_dict(f) for f in state.data.get("functions") or []]


def _current_reports(state: WorkflowState) -> list[dict[str, Any]] | None:
    """This pass's per-function reports, or None when the map step did not run."""
    current = state.data.get("iteration_count", 0)
    reports = [r for r in state.data.get("function_reports") or [] if r.get("pass") == current]
    if len(reports) != len(state.data.get("functions") or []):
        return None
    return reports


def _issues(state: WorkflowState) -> list[Issue]:
    return [Issue(**i) for i in state.data.get("issues") or []]


# -- the tools ---------------------------------------------------------------------------------


def extract_functions(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Parse ``data.code`` and list its functions, methods, nested functions and named lambdas.

    Raises CodeSyntaxError (naming line and column) when the code does not parse,
    and ValueError/TypeError for a missing ``code`` or invalid settings.
    """
    code = text_input(state, "code")
    thresholds = _thresholds(state, config)
    functions = extract_all_functions(code)
    return {
        "functions": [f.to_dict() for f in functions],
        "thresholds": thresholds.model_dump(),
        "quality_threshold": int_setting(
            state, config, "quality_threshold", DEFAULT_QUALITY_THRESHOLD
        ),
        "max_iterations": int_setting(
            state, config, "max_iterations", DEFAULT_MAX_ITERATIONS, minimum=1
        ),
        "iteration_count": int_setting(state, config, "iteration_count", 0),
    }


def analyze_function(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Complexity and issues of one function (``data.function``; a map target)."""
    item = state.data.get("function")
    if not isinstance(item, Mapping):
        raise TypeError("analyze_function runs once per function: map it over data.functions "
                         "with item_key='function'")
    info = FunctionInfo.from_dict(dict(item))
    issues = function_issues(text_input(state, "code"), info, _thresholds(state, config))
    return {
        "function_reports": [{
            "pass": state.data.get("iteration_count", 0),
            "qualname": info.qualname,
            "lineno": info.lineno,
            "complexity": info.complexity,
            "issues": [i.to_dict() for i in issues],
        }]
    }


def calculate_complexity(state: WorkflowState) -> dict[str, Any]:
    """Join the per-function complexities into ``complexity`` {qualname: int}."""
    reports = _current_reports(state)
    pairs = (
        [(r["qualname"], int(r["complexity"])) for r in reports]
        if reports is not None
        else [(f.qualname, f.complexity) for f in _functions(state)]
    )
    values = [c for _, c in pairs]
    return {
        # A qualname defined twice (e.g. under `if`): the last one wins, as at runtime.
        "complexity": dict(pairs),
        "average_complexity": round(sum(values) / len(values), 2) if values else 0.0,
    }


def detect_issues(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Join the per-function issues with the module-wide rules into sorted ``issues``."""
    code = text_input(state, "code")
    thresholds = _thresholds(state, config)
    reports = _current_reports(state)
    if reports is None:
        issues = detect_all_issues(code, _functions(state), thresholds)
    else:
        issues = module_issues(code, thresholds)
        issues += [Issue(**i) for r in reports for i in r["issues"]]
        issues.sort(key=lambda i: (i.line, i.rule_id, i.function or ""))
    return {
        "issues": [i.to_dict() for i in issues],
        "issue_counts": dict(sorted(Counter(i.rule_id for i in issues).items())),
    }


async def suggest_improvements(state: WorkflowState, ctx: NodeContext) -> WorkflowState:
    """One concrete suggestion per issue; with ``use_llm``, also a revised version of the code.

    The revision is accepted (``revised`` true) only if it parses and differs
    from the code; otherwise the reason is added to ``state.warnings``.
    """
    issues = _issues(state)
    suggestions = rule_suggestions(issues)
    update: dict[str, Any] = {"suggestions": suggestions, "revised": False, "revised_code": None}
    warnings: list[str] = []
    if bool_setting(state, ctx.config, "use_llm", False) and issues:
        code = text_input(state, "code")
        response, record = await ask_llm(ctx, revision_request(code, suggestions), purpose="revise")
        update["llm_usage"] = [record]
        revision, problem = accept_revision(code, response.text)
        if revision is None:
            warnings.append(f"suggest_improvements: LLM revision not used: {problem}")
            ctx.log(f"LLM revision not used: {problem}")
        else:
            update["revised_code"] = revision
            update["revised"] = True
    return state.model_copy(update={
        "data": {**state.data, **update},
        "warnings": [*state.warnings, *warnings],
    })


def check_quality(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Score this pass (0-100, see :func:`nodes.analysis.quality_score`) and count it."""
    score = quality_score(_functions(state), _issues(state))
    count = int_setting(state, config, "iteration_count", 0) + 1
    threshold = int_setting(state, config, "quality_threshold", DEFAULT_QUALITY_THRESHOLD)
    return {
        "quality_score": score,
        "score_history": [score],
        "iteration_count": count,
        "iterations": count,
        "passed": score >= threshold,
    }


def apply_revision(state: WorkflowState) -> dict[str, Any]:
    """Make the accepted revision the code of the next pass (the original is kept)."""
    revised = state.data.get("revised_code")
    if not isinstance(revised, str):
        raise TypeError("apply_revision needs data.revised_code (from suggest_improvements)")
    return {
        "code": revised,
        "original_code": state.data.get("original_code", state.data.get("code")),
        "revised_code": None,
        "revised": False,
    }


def generate_report(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Assemble ``report``; computes whatever earlier steps did not (score, issues, ...)."""
    if "functions" not in state.data:
        return {"report": _failure_report(state)}
    update: dict[str, Any] = {}
    view = state
    # Fill in what a shorter graph (the seed's extract -> analyze -> report) skipped.
    for key, step in (("complexity", _complexity_step), ("issues", detect_issues),
                      ("suggestions", _rules_only_suggestions), ("quality_score", check_quality)):
        if key not in view.data:
            computed = step(view, config)
            update.update(computed)
            view = view.model_copy(update={"data": {**view.data, **computed}})
    data = view.data
    threshold = int_setting(view, config, "quality_threshold", DEFAULT_QUALITY_THRESHOLD)
    per_function = Counter(i.get("function") for i in data["issues"])
    update["report"] = {
        "status": "ok",
        "quality_score": data["quality_score"],
        "quality_threshold": threshold,
        "passed": data["quality_score"] >= threshold,
        "iterations": data.get("iterations", 1),
        "score_history": list(data.get("score_history") or [data["quality_score"]]),
        "functions": [
            {k: f[k] for k in ("qualname", "kind", "lineno", "end_lineno", "complexity")}
            | {"issues": per_function.get(f["qualname"], 0)}
            for f in data["functions"]
        ],
        "complexity": data["complexity"],
        "issues": data["issues"],
        "issue_counts": dict(sorted(Counter(i["rule_id"] for i in data["issues"]).items())),
        "suggestions": data["suggestions"],
        "revised": "original_code" in data and data["original_code"] != data.get("code"),
        "llm": usage_totals(list(data.get("llm_usage") or [])),
    }
    return update


# -- helpers -----------------------------------------------------------------------------------


def _complexity_step(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    return calculate_complexity(state)


def _rules_only_suggestions(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    return {"suggestions": rule_suggestions(_issues(state))}


def _failure_report(state: WorkflowState) -> dict[str, Any]:
    """The report of a run whose code could not be analysed (reached by the error edge)."""
    syntax: dict[str, Any] | None = None
    code = state.data.get("code")
    if isinstance(code, str):
        try:
            parse_code(code)
        except CodeSyntaxError as exc:
            syntax = {"line": exc.lineno, "column": exc.offset, "reason": exc.reason,
                      "message": str(exc)}
    return {"status": "error", "errors": list(state.errors), "syntax_error": syntax}



def register(target: ToolRegistry = registry) -> None:
    """Register this module's tools in ``target`` (idempotent: replaces earlier ones)."""
    tools: list[tuple[Any, str, tuple[str, ...]]] = [
        (extract_functions, "Extract Python functions with ast (map source)",
         ("functions", "thresholds", "quality_threshold", "max_iterations", "iteration_count")),
        (analyze_function, "Complexity and issues of one function (map target)",
         ("function_reports",)),
        (calculate_complexity, "Cyclomatic complexity per function (McCabe, as radon cc)",
         ("complexity", "average_complexity")),
        (detect_issues, "Rule-based issues with rule ids, lines and severity",
         ("issues", "issue_counts")),
        (suggest_improvements, "Suggestions per issue; an LLM revision when use_llm",
         ("suggestions", "revised", "revised_code", "llm_usage")),
        (check_quality, "0-100 quality score; counts review iterations",
         ("quality_score", "score_history", "iteration_count", "iterations", "passed")),
        (apply_revision, "Make the LLM's revised code the code of the next pass",
         ("code", "original_code", "revised_code", "revised")),
        (generate_report, "Assemble the code-review report", ("report",)),
    ]
    for fn, description, writes in tools:
        target.add_tool(fn, name=fn.__name__, description=description, writes=writes,
                        replace=True)
