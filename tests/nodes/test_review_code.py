"""review_code: the whole rule-based review pipeline in one call."""

from __future__ import annotations

import json
import sysconfig
import time
from pathlib import Path

import pytest

from nodes.analysis import CodeSyntaxError, review_code

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def test_seed_example_is_reviewed_end_to_end() -> None:
    result = review_code("def hello():\n    pass")
    assert result["quality_score"] < 100
    assert result["complexity"] == {"hello": 1}
    assert [f["name"] for f in result["functions"]] == ["hello"]
    assert [i["rule_id"] for i in result["issues"]] == ["AF103"]
    assert any("Add docstring" in s for s in result["suggestions"])
    json.dumps(result)  # graph state must be JSON-ready


def test_thresholds_can_be_passed_as_a_dict() -> None:
    code = "def f(a, b):\n    '''Doc.'''\n    return a, b\n"
    assert review_code(code)["issues"] == []
    issues = review_code(code, {"max_params": 1})["issues"]
    assert [i["rule_id"] for i in issues] == ["AF104"]


def test_syntax_errors_surface_as_code_syntax_error() -> None:
    with pytest.raises(CodeSyntaxError, match="line 1"):
        review_code("def (")


def test_a_2000_line_stdlib_module_reviews_well_under_a_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A sanity check, not a benchmark: the time is printed, never asserted, so
    # slow CI machines cannot make this flaky.
    code = (STDLIB / "difflib.py").read_text(encoding="utf-8")
    lines = len(code.splitlines())
    assert lines > 2000
    start = time.perf_counter()
    result = review_code(code)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nreview_code(difflib.py, {lines} lines): {elapsed * 1000:.0f} ms")
    assert len(result["functions"]) > 40
    assert 0 <= result["quality_score"] <= 100
    assert len(result["suggestions"]) <= len(result["issues"])
