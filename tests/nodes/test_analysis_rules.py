"""detect_issues: one test per rule, plus the cases each rule must leave alone."""

from __future__ import annotations

import textwrap

import pytest
from pydantic import ValidationError

from nodes.analysis import Issue, Thresholds, detect_issues, extract_functions


def issues_for(code: str, **limits: object) -> list[Issue]:
    code = textwrap.dedent(code)
    return detect_issues(code, extract_functions(code), limits or None)


def rule(code: str, rule_id: str, **limits: object) -> list[Issue]:
    return [i for i in issues_for(code, **limits) if i.rule_id == rule_id]


def test_thresholds_are_built_from_a_dict_and_reject_unknown_keys() -> None:
    assert Thresholds.model_validate({"max_params": 2}).max_params == 2
    assert Thresholds().max_function_lines == 50
    with pytest.raises(ValidationError):
        Thresholds.model_validate({"max_parms": 2})


def test_long_function_is_reported_over_the_line_limit() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(6))
    code = f'def long():\n    """Doc."""\n{body}\n    return x0, x1, x2, x3, x4, x5\n'
    (issue,) = rule(code, "AF101", max_function_lines=5)
    assert issue.line == 1 and issue.function == "long" and "9 lines" in issue.message
    assert rule(code, "AF101", max_function_lines=9) == []


def test_high_complexity_is_a_warning_and_twice_the_limit_an_error() -> None:
    code = "def f(a, b, c):\n    '''Doc.'''\n    return (a and b) or (b and c) or (a and c)\n"
    (issue,) = rule(code, "AF102", max_complexity=2)
    assert issue.severity == "error" and "complexity 6" in issue.message
    assert rule(code, "AF102", max_complexity=4)[0].severity == "warning"
    assert rule(code, "AF102", max_complexity=6) == []


def test_missing_docstring_is_reported_for_functions_and_methods_only() -> None:
    code = """
    def hello():
        pass

    class C:
        def m(self):
            def inner():
                pass
            return inner
        key = lambda self: 0
    """
    assert [(i.function, i.line) for i in rule(code, "AF103")] == [("hello", 2), ("C.m", 6)]
    assert rule(code, "AF103", require_docstrings=False) == []


def test_too_many_parameters_excludes_self_and_star_args() -> None:
    code = """
    class C:
        def m(self, a, b, c, d, e, *args, **kwargs):
            '''Doc.'''
            return a, b, c, d, e, args, kwargs

        def n(self, a, b, c, d, e, f):
            '''Doc.'''
            return a, b, c, d, e, f
    """
    (issue,) = rule(code, "AF104")
    assert issue.function == "C.n" and "6 parameters" in issue.message


def test_deep_nesting_is_reported_at_the_deepest_block_and_elif_is_not_deeper() -> None:
    code = """
    def f(xs):
        '''Doc.'''
        for x in xs:
            if x:
                while x:
                    with open(x) as fh:
                        try:
                            fh.read()
                        finally:
                            x = None
    """
    (issue,) = rule(code, "AF105")
    assert issue.line == 8 and "5 levels" in issue.message
    elifs = "def g(x):\n    '''Doc.'''\n" + "".join(
        f"    {'if' if i == 0 else 'elif'} x == {i}:\n        return {i}\n" for i in range(10)
    )
    assert rule(elifs, "AF105", max_nesting=1) == []


def test_bare_except_is_an_error_unless_it_re_raises() -> None:
    code = """
    def f():
        '''Doc.'''
        try:
            work()
        except:
            pass
        try:
            work()
        except:
            cleanup()
            raise
    """
    (issue,) = rule(code, "AF106")
    assert (issue.line, issue.severity, issue.function) == (6, "error", "f")


def test_broad_except_exception_without_re_raise_is_reported_at_module_level_too() -> None:
    code = """
    try:
        import fast
    except Exception:
        fast = None

    def f():
        '''Doc.'''
        try:
            work()
        except (ValueError, BaseException) as exc:
            log(exc)
        except Exception as exc:
            raise RuntimeError("wrapped") from exc
    """
    issues = rule(code, "AF107")
    assert [(i.line, i.function) for i in issues] == [(4, None), (11, "f")]
    assert "BaseException" in issues[1].message


def test_mutable_default_argument_is_reported_with_line() -> None:
    code = """
    def f(a, b=[],
          *, c={}, d=set(), e=None, g=(), h=list()):
        '''Doc.'''
        return a, b, c, d, e, g, h
    """
    issues = rule(code, "AF108")
    assert [(i.line, i.severity) for i in issues] == [
        (2, "error"),
        (3, "error"),
        (3, "error"),
        (3, "error"),
    ]
    assert all(i.function == "f" for i in issues)
    assert "`[]`" in issues[0].message


def test_unused_argument_is_reported_but_not_self_underscore_or_stubs() -> None:
    code = """
    import abc

    class C:
        def used(self, a, _b):
            '''Doc.'''
            return a

        def unused(self, a, b):
            '''Doc.'''
            return a

        def stub(self, a):
            '''Doc.'''
            raise NotImplementedError("later")

        def ellipsis(self, a): ...

        def passing(self, a):
            pass

        @abc.abstractmethod
        def abstract(self, a):
            '''Doc.'''
            return None

        def __exit__(self, exc_type, exc, tb):
            '''Protocol method: the signature is fixed by Python.'''
            return False

    def closure_reads_it(a):
        '''Doc.'''
        return lambda: a
    """
    issues = rule(code, "AF109")
    assert [(i.function, i.message) for i in issues] == [
        ("C.unused", "argument `b` of `C.unused` is never used")
    ]


def test_unused_local_variable_is_reported_at_its_assignment() -> None:
    code = """
    def f(items):
        '''Doc.'''
        total = 0
        count: int = 0
        _ignored = 1
        first, *rest = items
        for item in items:
            total += item
        seen = set()
        def inner():
            return seen
        return inner
    """
    issues = rule(code, "AF110")
    assert [(i.line, i.function) for i in issues] == [(5, "f")]
    assert "`count`" in issues[0].message


def test_unused_local_rule_skips_globals_nonlocals_and_locals_calls() -> None:
    code = """
    def f():
        '''Doc.'''
        global state
        state = 1

    def g():
        '''Doc.'''
        name = "x"
        return "{name}".format(**locals())
    """
    assert rule(code, "AF110") == []


def test_clean_code_has_no_issues() -> None:
    code = '''
    def add(a: int, b: int) -> int:
        """Return the sum of a and b."""
        return a + b
    '''
    assert issues_for(code) == []


def test_issues_are_sorted_by_line_and_serialisable() -> None:
    code = "def b(x=[]):\n    pass\n\ndef a():\n    try:\n        pass\n    except:\n        pass\n"
    issues = issues_for(code)
    assert [i.line for i in issues] == sorted(i.line for i in issues)
    assert issues[0].to_dict() == {
        "rule_id": issues[0].rule_id,
        "message": issues[0].message,
        "line": issues[0].line,
        "severity": issues[0].severity,
        "function": issues[0].function,
    }


def test_function_records_that_no_longer_match_the_code_are_skipped() -> None:
    old = extract_functions("def f(a, b, c, d, e, g, h):\n    pass\n")
    assert detect_issues("x = 1\n", old) == []
