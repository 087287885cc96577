"""extract_functions: what it finds, how it names things, and how it fails."""

from __future__ import annotations

import json
import textwrap

import pytest

from nodes.analysis import CodeSyntaxError, FunctionInfo, extract_functions

SAMPLE = textwrap.dedent(
    '''
    import functools

    @functools.cache
    def top(a, b=1, *rest, key=None, **options):
        """Top-level function."""
        def helper(x):
            return x
        square = lambda n: n * n
        return helper(a) + square(b)

    class Shape:
        area: object = lambda self: 0

        def __init__(self, size):
            self.size = size

        async def grow(self, by):
            self.size += by

        class Inner:
            def deep(self):
                pass

    async def fetch(url):
        ...
    '''
)


def _by_qualname(code: str) -> dict[str, FunctionInfo]:
    return {f.qualname: f for f in extract_functions(code)}


def test_functions_methods_nested_functions_and_named_lambdas_are_all_found() -> None:
    found = _by_qualname(SAMPLE)
    assert list(found) == [
        "top",
        "top.<locals>.helper",
        "top.<locals>.square",
        "Shape.area",
        "Shape.__init__",
        "Shape.grow",
        "Shape.Inner.deep",
        "fetch",
    ]
    assert found["top"].kind == "function"
    assert found["top.<locals>.helper"].kind == "nested_function"
    assert found["top.<locals>.square"].kind == "lambda"
    assert found["Shape.area"].kind == "lambda"
    assert found["Shape.grow"].kind == "method"
    assert found["Shape.Inner.deep"].kind == "method"


def test_qualname_follows_python_dunder_qualname_convention() -> None:
    namespace: dict[str, object] = {}
    exec(SAMPLE, namespace)  # noqa: S102 - our own sample
    shape = namespace["Shape"]
    assert _by_qualname(SAMPLE)["Shape.grow"].qualname == shape.grow.__qualname__  # type: ignore[attr-defined]


def test_positions_params_and_docstring_flags_are_reported() -> None:
    top = _by_qualname(SAMPLE)["top"]
    assert (top.lineno, top.end_lineno, top.col) == (5, 10, 0)
    assert top.params == ("a", "b", "*rest", "key", "**options")
    assert top.has_docstring is True
    assert top.decorators == ("functools.cache",)
    assert top.source.startswith("def top(a, b=1") and top.source.endswith("square(b)")
    assert _by_qualname(SAMPLE)["top.<locals>.helper"].has_docstring is False


def test_async_flag_and_lambda_source_is_the_whole_assignment() -> None:
    found = _by_qualname(SAMPLE)
    assert found["fetch"].is_async and found["Shape.grow"].is_async
    assert not found["top"].is_async
    assert found["top.<locals>.square"].source == "square = lambda n: n * n"
    assert found["top.<locals>.square"].params == ("n",)


def test_function_info_round_trips_through_json() -> None:
    for info in extract_functions(SAMPLE):
        data = json.loads(json.dumps(info.to_dict()))
        assert FunctionInfo.from_dict(data) == info


def test_source_segment_handles_non_ascii_text() -> None:
    code = 'def grüß(name="wörld"):\n    return "héllo " + name\n'
    (info,) = extract_functions(code)
    assert info.source == code.rstrip("\n")
    assert info.name == "grüß"


def test_complexity_is_attached_to_each_function() -> None:
    (info,) = extract_functions("def f(a, b):\n    if a and b:\n        return 1\n    return 2\n")
    assert info.complexity == 3


def test_unparsable_code_raises_code_syntax_error_naming_line_and_column() -> None:
    with pytest.raises(CodeSyntaxError) as caught:
        extract_functions("def ok():\n    pass\n\ndef broken(:\n    pass\n")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.lineno == 4
    assert error.offset is not None
    assert "line 4" in str(error) and f"column {error.offset}" in str(error)
    assert error.reason in str(error)


@pytest.mark.parametrize(
    "code",
    ["def f(:\n", "if True:\npass\n", "x = 'unterminated\n", "a\x00b", "+".join(["a"] * 100_000)],
    ids=["bad-signature", "indentation", "unterminated-string", "null-byte", "too-deep"],
)
def test_any_unparsable_input_becomes_code_syntax_error_never_a_crash(code: str) -> None:
    with pytest.raises(CodeSyntaxError):
        extract_functions(code)


def test_empty_code_has_no_functions() -> None:
    assert extract_functions("") == []
