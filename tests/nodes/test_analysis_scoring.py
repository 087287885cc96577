"""quality_score and suggest_improvements."""

from __future__ import annotations

from nodes.analysis import Issue, extract_functions, quality_score, suggest_improvements
from nodes.analysis.functions import FunctionInfo


def _function(complexity: int, name: str = "f") -> FunctionInfo:
    return FunctionInfo(name, name, "function", 1, 2, 0, (), True, "", complexity=complexity)


def test_seed_example_scores_below_100_and_suggests_adding_a_docstring() -> None:
    code = "def hello():\n    pass"
    functions = extract_functions(code)
    issues = [Issue("AF103", "`hello` (line 1) has no docstring", 1, "info", "hello")]
    assert quality_score(functions, issues) == 98
    (suggestion,) = suggest_improvements(issues)
    assert "Add docstring" in suggestion and "`hello`" in suggestion and "line 1" in suggestion


def test_clean_simple_code_scores_100() -> None:
    assert quality_score([_function(1)], []) == 100
    assert quality_score([], []) == 100


def test_each_severity_costs_its_weight() -> None:
    functions = [_function(1)]
    assert quality_score(functions, [Issue("AF108", "m", 1, "error", "f")]) == 90
    assert quality_score(functions, [Issue("AF101", "m", 1, "warning", "f")]) == 95
    assert quality_score(functions, [Issue("AF103", "m", 1, "info", "f")]) == 98


def test_one_rule_cannot_cost_more_than_its_cap() -> None:
    issues = [Issue("AF108", "m", line, "error", "f") for line in range(1, 20)]
    assert quality_score([_function(1)], issues) == 75


def test_issues_are_weighed_per_ten_functions() -> None:
    issues = [Issue("AF108", "m", 1, "error", "f")]
    twenty = [_function(1, f"f{i}") for i in range(20)]
    assert quality_score(twenty, issues) == 95


def test_average_complexity_above_five_costs_three_points_per_unit_up_to_fifteen() -> None:
    assert quality_score([_function(5)], []) == 100
    assert quality_score([_function(7)], []) == 94
    assert quality_score([_function(40)], []) == 85


def test_score_never_leaves_the_0_to_100_range() -> None:
    rules = [f"AF1{n:02d}" for n in range(1, 11)]
    issues = [Issue(r, "m", 1, "error", "f") for r in rules for _ in range(5)]
    assert quality_score([_function(50)], issues) == 0


def test_suggestions_are_concrete_most_severe_first_and_deduplicated() -> None:
    issues = [
        Issue("AF103", "`a` (line 1) has no docstring", 1, "info", "a"),
        Issue("AF108", "`b` uses a mutable default argument `[]`", 5, "error", "b"),
        Issue("AF106", "bare `except:`", 9, "error", None),
        Issue("AF103", "`a` (line 1) has no docstring", 1, "info", "a"),
    ]
    suggestions = suggest_improvements(issues)
    assert len(suggestions) == 3
    assert suggestions[0].startswith("Use `None` as the default in `b` (line 5)")
    assert "bare `except:` in module-level code (line 9)" in suggestions[1]
    assert suggestions[2].startswith("Add docstring to `a` (line 1)")


def test_every_rule_has_its_own_suggestion_text() -> None:
    from nodes.analysis import RULES

    texts = {
        rule_id: suggest_improvements([Issue(rule_id, "`x` msg", 3, "warning", "x")])[0]
        for rule_id in RULES
    }
    assert not any(t.startswith("Fix ") for t in texts.values())
    assert len(set(texts.values())) == len(RULES)
    assert all("`x` (line 3)" in t for t in texts.values())
