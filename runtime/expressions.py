"""Safe condition expressions for conditional edges.

An expression is one Python-like expression over the run's data, e.g.
``review.score >= 70 and not approved``. It is parsed with :mod:`ast`, checked
against a whitelist and compiled into a tree of small closures; the source is
never handed to ``eval``/``exec``. Grammar (everything else is rejected)::

    expr     := literal | name | expr "if" expr "else" expr
              | expr ("and" | "or") expr | "not" expr | ("-" | "+") expr
              | expr ("+" | "-" | "*" | "/" | "//" | "%" | "**") expr
              | expr (("<" | "<=" | ">" | ">=" | "==" | "!=" | "in" | "not in"
                       | "is" | "is not") expr)+          # chained like Python
              | func "(" expr ("," expr)* ")" | "[" exprs "]" | "(" exprs ")"
    name     := IDENT ("." IDENT | "[" INT-or-STR literal "]")*   # no leading "_"
    literal  := int | float | str | True | False | None | true | false | null
    func     := len | abs | min | max | round

Lookups: a bare name is ``data[name]``; ``a.b`` and ``a["b"]`` are item lookups
(``a["b"]``), never ``getattr``, so object attributes are unreachable. A name
or key that is missing from a mapping evaluates to ``None``, and a lookup on
``None`` stays ``None`` (``review.score is None`` works when ``review`` is
unset). ``true``/``false``/``null`` always mean the JSON constants, never data keys.

Limits, so a hostile or careless condition cannot stall the runtime: 2000
characters, nesting depth 50, exponents up to 1000, ints up to 100_000 bits,
sequence repetition up to 100_000 times, sequences built by ``*``/``+`` up to
1_000_000 items, no ``%`` string formatting. Constant sub-expressions are
folded at compile time, so ``2 ** 10 ** 10`` already fails in
:func:`compile_expression`; the same guards run again at evaluation.

Errors: every rejection raises :class:`ExpressionError` with ``position``, the
1-based column of the offending node. Any failure during
:meth:`Expression.evaluate` (``None < 3``, ``1 / 0``, ``items[9]`` out of range)
is raised as :class:`ExpressionError` too, naming the expression and the data
keys it references that are unset.
"""

from __future__ import annotations

import ast
import io
import operator
import tokenize
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from runtime.errors import ExpressionError

__all__ = ["Expression", "compile_expression"]

Evaluator = Callable[[Mapping[str, Any]], Any]

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_EXPONENT = 1000
MAX_INT_BITS = 100_000
MAX_REPEAT = 100_000
MAX_SEQUENCE = 1_000_000

_ALIASES = {"true": True, "false": False, "null": None}
_NOT_CONST: Any = object()  # marks a compiled node whose value depends on data
_SEQUENCES = (str, bytes, bytearray, list, tuple)
#: What may hold more than itself, for :func:`_weight`.
_CONTAINERS = (str, bytes, bytearray, list, tuple, Mapping)
_IMMUTABLE = (int, float, str, bool, type(None))


class _EvalError(Exception):
    """Evaluation failure with a readable message; ``evaluate`` re-raises it."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message, self.position = message, position


class _LimitError(_EvalError):
    """A resource guard tripped. Unlike other errors, it fails constant folding."""


def _tn(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _weight(value: Any) -> int:
    """What ``value`` holds, counted in full: the items of its sequences and mappings,
    nested ones included however often they are shared, and each string's characters;
    counting stops just past :data:`MAX_SEQUENCE`. Comparing, searching or repeating a
    value costs up to this much, so ``[[0]*100000]*100000`` (cheap to build: one inner
    list, shared) must be refused before anything compares it."""
    total, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (str, bytes, bytearray)):
            total += len(v)
        elif isinstance(v, (list, tuple, Mapping)):
            total += len(v)
            if total > MAX_SEQUENCE:
                break
            items = v.values() if isinstance(v, Mapping) else v
            stack.extend(x for x in items if isinstance(x, _CONTAINERS))
        else:
            total += 1
        if total > MAX_SEQUENCE:
            break
    return total


def _add(a: Any, b: Any) -> Any:
    # Concatenation is the other way to grow a sequence: 's*99999 + s*99999 + ...'.
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and (
            len(a) + len(b) > MAX_SEQUENCE or _weight(a) + _weight(b) > MAX_SEQUENCE):
        raise _LimitError(f"concatenation result exceeds {MAX_SEQUENCE} items")
    return a + b


def _mul(a: Any, b: Any) -> Any:
    # Guard before allocating: 'a' * 10**9 must never reach the allocator, nor a list
    # of lists whose repetition holds more than it may (nested items count too).
    seq, n = (a, b) if isinstance(b, int) and isinstance(a, _SEQUENCES) else (b, a)
    if isinstance(seq, _SEQUENCES) and isinstance(n, int):
        if n > MAX_REPEAT or len(seq) * n > MAX_SEQUENCE or (
                n > 0 and _weight(seq) * n > MAX_SEQUENCE):
            raise _LimitError(f"repeating a {_tn(seq)} {n} times exceeds the limit")
    elif isinstance(a, int) and isinstance(b, int) and (
        a.bit_length() + b.bit_length() > MAX_INT_BITS
    ):
        raise _LimitError(f"integer product exceeds {MAX_INT_BITS} bits")
    return a * b


def _pow(base: Any, exp: Any) -> Any:
    if isinstance(exp, (int, float)) and exp > MAX_EXPONENT:
        raise _LimitError(f"exponent {exp} is larger than {MAX_EXPONENT}")
    # a 'huge result' is possible even with a small exponent: (10**1000) ** 1000
    if isinstance(base, int) and isinstance(exp, int) and base.bit_length() * exp > MAX_INT_BITS:
        raise _LimitError(f"power result would exceed {MAX_INT_BITS} bits")
    return base**exp


def _mod(a: Any, b: Any) -> Any:
    # '%0999999999d' % 1 allocates gigabytes; formatting is not part of the language.
    if isinstance(a, (str, bytes)):
        raise _LimitError("'%' string formatting is not allowed")
    return a % b


def _round(x: Any, ndigits: Any = None) -> Any:
    # round(5, -10**6) computes 10**10**6 internally.
    if isinstance(ndigits, int) and abs(ndigits) > MAX_EXPONENT:
        raise _LimitError(f"round() ndigits {ndigits} is out of range")
    return round(x) if ndigits is None else round(x, ndigits)


_BINOPS: dict[type[ast.operator], tuple[Callable[[Any, Any], Any], str]] = {
    ast.Add: (_add, "+"), ast.Sub: (operator.sub, "-"), ast.Mult: (_mul, "*"),
    ast.Div: (operator.truediv, "/"), ast.FloorDiv: (operator.floordiv, "//"),
    ast.Mod: (_mod, "%"), ast.Pow: (_pow, "**"),
}
_CMPOPS: dict[type[ast.cmpop], tuple[Callable[[Any, Any], Any], str]] = {
    ast.Lt: (operator.lt, "<"), ast.LtE: (operator.le, "<="), ast.Gt: (operator.gt, ">"),
    ast.GtE: (operator.ge, ">="), ast.Eq: (operator.eq, "=="), ast.NotEq: (operator.ne, "!="),
    ast.In: (lambda a, b: a in b, "in"), ast.NotIn: (lambda a, b: a not in b, "not in"),
    ast.Is: (operator.is_, "is"), ast.IsNot: (operator.is_not, "is not"),
}
_OTHER_OPS: dict[type[ast.operator], str] = {
    ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
    ast.MatMult: "@",
}
# name -> (function, min args, max args or None for unbounded)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "len": (len, 1, 1), "abs": (abs, 1, 1), "min": (min, 1, None), "max": (max, 1, None),
    "round": (_round, 1, 2),
}
_ALLOWED_FUNCS = ", ".join(f"{n}()" for n in _FUNCTIONS)
_REJECTED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda expressions", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
    ast.NamedExpr: "assignment expressions (:=)", ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings", ast.Starred: "starred expressions (*x)",
    ast.Dict: "dict displays {k: v}", ast.Set: "set displays {x}", ast.Slice: "slices",
    ast.Await: "await expressions", ast.Yield: "yield expressions",
    ast.YieldFrom: "yield expressions",
}


class _Compiler:
    def __init__(self, text: str, shift: int) -> None:
        self.lines = text.splitlines(keepends=True) or [""]
        self.shift = shift  # leading whitespace stripped before parsing
        self.names: set[str] = set()

    def position(self, lineno: int, char_col: int) -> int:
        """1-based offset into the original source (= the column for one-line sources)."""
        return self.shift + sum(len(line) for line in self.lines[: lineno - 1]) + char_col + 1

    def node_position(self, node: ast.AST, col: int | None = None) -> int:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) if col is None else col
        line = self.lines[lineno - 1] if lineno <= len(self.lines) else ""
        # ast columns are UTF-8 byte offsets; convert to characters.
        return self.position(lineno, len(line.encode()[:col].decode(errors="replace")))

    def reject(self, node: ast.AST, message: str) -> NoReturn:
        raise _LimitError(message, self.node_position(node))

    def compile(self, node: ast.expr, depth: int = 0) -> tuple[Evaluator, Any]:
        """Return (evaluator, constant value or _NOT_CONST)."""
        if depth > MAX_DEPTH:
            self.reject(node, f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            what = _REJECTED.get(type(node), f"{type(node).__name__} expressions")
            self.reject(node, f"{what} are not allowed in conditions")
        return handler(self, node, depth + 1, self.node_position(node))

    def _compile_constant(self, node: ast.Constant, d: int, pos: int) -> tuple[Evaluator, Any]:
        value = node.value
        if isinstance(value, bool) or value is None or type(value) in (int, float, str):
            return (lambda data: value), value
        kind = {bytes: "bytes", complex: "complex number"}.get(type(value), repr(value))
        self.reject(node, f"{kind} literals are not allowed in conditions")

    def _compile_name(self, node: ast.Name, d: int, pos: int) -> tuple[Evaluator, Any]:
        key = node.id
        if key in _ALIASES:
            alias = _ALIASES[key]
            return (lambda data: alias), alias
        if key.startswith("_"):
            self.reject(node, f"name {key!r} is not allowed: names starting with '_' are private")
        self.names.add(key)
        return (lambda data: data.get(key)), _NOT_CONST

    def _compile_boolop(self, node: ast.BoolOp, d: int, pos: int) -> tuple[Evaluator, Any]:
        parts = [self.compile(v, d) for v in node.values]
        return self._fold(node, _boolop(isinstance(node.op, ast.And), [f for f, _ in parts]), parts)

    def _compile_unaryop(self, node: ast.UnaryOp, d: int, pos: int) -> tuple[Evaluator, Any]:
        operand = self.compile(node.operand, d)
        fn = operand[0]
        if isinstance(node.op, ast.Not):
            return self._fold(node, lambda data: not fn(data), [operand])
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            op, sym = (operator.neg, "-") if isinstance(node.op, ast.USub) else (operator.pos, "+")
            return self._fold(node, _unary(op, sym, fn, pos), [operand])
        self.reject(node, "operator '~' is not allowed")

    def _compile_binop(self, node: ast.BinOp, d: int, pos: int) -> tuple[Evaluator, Any]:
        if type(node.op) not in _BINOPS:
            sym = _OTHER_OPS.get(type(node.op), type(node.op).__name__)
            self.reject(node, f"operator '{sym}' is not allowed (only + - * / // % **)")
        left, right = self.compile(node.left, d), self.compile(node.right, d)
        return self._fold(node, _binop(*_BINOPS[type(node.op)], left[0], right[0], pos),
                          [left, right])

    def _compile_compare(self, node: ast.Compare, d: int, pos: int) -> tuple[Evaluator, Any]:
        first = self.compile(node.left, d)
        rest = [self.compile(c, d) for c in node.comparators]
        ops = [_CMPOPS[type(o)] for o in node.ops]  # every cmpop is whitelisted
        for i, (_, sym) in enumerate(ops):
            if sym.endswith("in") and isinstance(rest[i][1], list):
                # `x in [1, 2]`: test against one frozen tuple, not a fresh list per call
                rest[i] = (_const(tuple(rest[i][1])), tuple(rest[i][1]))
        return self._fold(node, _compare(first[0], ops, [f for f, _ in rest], pos), [first, *rest])

    def _compile_ifexp(self, node: ast.IfExp, d: int, pos: int) -> tuple[Evaluator, Any]:
        parts = [self.compile(n, d) for n in (node.test, node.body, node.orelse)]
        test, body, orelse = (f for f, _ in parts)
        return self._fold(node, lambda data: body(data) if test(data) else orelse(data), parts)

    def _compile_sequence(self, node: ast.List | ast.Tuple, d: int, pos: int) -> tuple[Evaluator, Any]:
        parts = [self.compile(e, d) for e in node.elts]
        fns = [f for f, _ in parts]
        if isinstance(node, ast.List):  # a fresh list each time: callers may mutate it
            return self._fold(node, lambda data: [f(data) for f in fns], parts)
        return self._fold(node, lambda data: tuple([f(data) for f in fns]), parts)

    def _fold(self, node: ast.AST, fn: Evaluator, parts: list[tuple[Evaluator, Any]]
              ) -> tuple[Evaluator, Any]:
        """Pre-compute constant sub-expressions so guards fire at compile time."""
        if any(const is _NOT_CONST for _, const in parts):
            return fn, _NOT_CONST
        try:
            value = fn({})
        except _LimitError as exc:
            self.reject(node, exc.message)
        except Exception:  # noqa: BLE001 - e.g. 1/0 in `False and 1/0`: fails only if reached
            return fn, _NOT_CONST
        if isinstance(value, (list, tuple)) and _weight(value) > MAX_SEQUENCE:
            # [a, a, ...] of a long `a`: a constant nothing may compare or search.
            self.reject(node, f"this sequence holds more than {MAX_SEQUENCE} items, nested "
                        "ones counted")
        if isinstance(value, _IMMUTABLE) or (
            type(value) is tuple and all(isinstance(v, _IMMUTABLE) for v in value)
        ):
            return (lambda data: value), value
        return fn, value  # a list: keep building fresh copies, still usable for folding

    def _lookup(self, node: ast.Attribute | ast.Subscript, d: int, pos: int
                ) -> tuple[Evaluator, Any]:
        if not isinstance(node.value, (ast.Name, ast.Attribute, ast.Subscript)):
            self.reject(node, f"only data names can be looked into, not {ast.unparse(node.value)!r}")
        parent = self.compile(node.value, d)[0]  # first, so `a.__x__.__y__` reports __x__
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                # point at the attribute itself, which ends where the node ends
                col = (node.end_col_offset or 0) - len(node.attr.encode())
                raise _LimitError(f"attribute {node.attr!r} is not allowed: names starting "
                                  "with '_' are private", self.node_position(node, col))
            key: Any = node.attr
        else:
            if isinstance(node.slice, ast.Slice):
                self.reject(node.slice, "slices are not allowed in conditions")
            key = self.compile(node.slice, d)[1]
            if type(key) not in (int, str):
                self.reject(node.slice, "subscripts must be literal ints or strings, "
                            f"like items[0] or review['score'], not {ast.unparse(node.slice)!r}")
        label = ast.unparse(node)

        def lookup(data: Mapping[str, Any]) -> Any:
            obj = parent(data)
            if obj is None:
                return None
            if type(obj) is dict or isinstance(obj, Mapping):  # dict first: ABC checks are slow
                return obj.get(key)
            try:  # item lookup only: getattr would expose obj.__class__ & co.
                return obj[key]
            except (LookupError, TypeError) as exc:
                raise _EvalError(f"cannot look up {label!r} in {_tn(obj)}: {exc}", pos) from exc

        return lookup, _NOT_CONST

    def _call(self, node: ast.Call, d: int, pos: int) -> tuple[Evaluator, Any]:
        if not isinstance(node.func, ast.Name):
            self.reject(node, f"calling {ast.unparse(node.func)!r} is not allowed; "
                        f"only {_ALLOWED_FUNCS} can be called")
        name = node.func.id
        if name not in _FUNCTIONS:
            self.reject(node, f"function {name!r} is not allowed; only {_ALLOWED_FUNCS} can be called")
        if node.keywords:
            self.reject(node.keywords[0], f"keyword arguments are not allowed in {name}()")
        func, lo, hi = _FUNCTIONS[name]
        if not lo <= len(node.args) <= (hi if hi is not None else len(node.args)):
            takes = str(lo) if lo == hi else f"{lo} to {hi}" if hi else f"at least {lo}"
            self.reject(node, f"{name}() takes {takes} argument(s), got {len(node.args)}")
        parts = [self.compile(a, d) for a in node.args]
        fns = [f for f, _ in parts]

        def call(data: Mapping[str, Any]) -> Any:
            args = [f(data) for f in fns]
            try:
                return func(*args)
            except _EvalError as exc:
                exc.position = exc.position or pos
                raise
            except (TypeError, ValueError) as exc:
                raise _EvalError(f"{name}() failed: {exc}", pos) from exc

        return self._fold(node, call, parts)


_Handler = Callable[[_Compiler, Any, int, int], tuple[Evaluator, Any]]
#: One compile method per allowed node type; anything else is rejected with a reason.
_HANDLERS: dict[type[ast.AST], _Handler] = {
    ast.Constant: _Compiler._compile_constant,
    ast.Name: _Compiler._compile_name,
    ast.Attribute: _Compiler._lookup,
    ast.Subscript: _Compiler._lookup,
    ast.BoolOp: _Compiler._compile_boolop,
    ast.UnaryOp: _Compiler._compile_unaryop,
    ast.BinOp: _Compiler._compile_binop,
    ast.Compare: _Compiler._compile_compare,
    ast.IfExp: _Compiler._compile_ifexp,
    ast.List: _Compiler._compile_sequence,
    ast.Tuple: _Compiler._compile_sequence,
    ast.Call: _Compiler._call,
}


def _const(value: Any) -> Evaluator:
    return lambda data: value


def _boolop(is_and: bool, fns: list[Evaluator]) -> Evaluator:
    # Python semantics: short-circuit and return the deciding operand itself.
    def evaluate(data: Mapping[str, Any]) -> Any:
        value = None
        for fn in fns:
            value = fn(data)
            if (not value) if is_and else value:
                return value
        return value

    return evaluate


def _unary(op: Callable[[Any], Any], sym: str, fn: Evaluator, pos: int) -> Evaluator:
    def evaluate(data: Mapping[str, Any]) -> Any:
        value = fn(data)
        try:
            return op(value)
        except TypeError as exc:
            raise _EvalError(f"cannot apply unary '{sym}' to {_tn(value)}", pos) from exc

    return evaluate


def _binop(op: Callable[[Any, Any], Any], sym: str, left: Evaluator, right: Evaluator,
           pos: int) -> Evaluator:
    def evaluate(data: Mapping[str, Any]) -> Any:
        a, b = left(data), right(data)
        try:  # try blocks cost nothing on the happy path (3.11 zero-cost exceptions)
            return op(a, b)
        except _EvalError as exc:
            exc.position = exc.position or pos
            raise
        except TypeError as exc:
            raise _EvalError(f"cannot apply '{sym}' to {_tn(a)} and {_tn(b)}", pos) from exc
        except ArithmeticError as exc:
            raise _EvalError(f"'{sym}' failed: {exc}", pos) from exc

    return evaluate


def _compare(first: Evaluator, ops: list[tuple[Callable[[Any, Any], Any], str]],
             rest: list[Evaluator], pos: int) -> Evaluator:
    def fail(exc: TypeError, a: Any, sym: str, b: Any) -> NoReturn:
        raise _EvalError(f"cannot compare {_tn(a)} and {_tn(b)} with '{sym}'", pos) from exc

    if len(ops) == 1:  # the hot path: `counter < 1000`
        (op, sym), right = ops[0], rest[0]

        def single(data: Mapping[str, Any]) -> Any:
            a, b = first(data), right(data)
            try:
                return op(a, b)
            except TypeError as exc:
                fail(exc, a, sym, b)

        return single
    pairs = list(zip(ops, rest, strict=True))

    def chained(data: Mapping[str, Any]) -> Any:
        a, result = first(data), True
        for (op, sym), right in pairs:
            b = right(data)
            try:
                result = op(a, b)
            except TypeError as exc:
                fail(exc, a, sym, b)
            if not result:
                return result
            a = b
        return result

    return chained


def _bracket_depth_error(text: str) -> tuple[int, int] | None:
    """Parentheses leave no trace in the AST, so count their nesting on the tokens."""
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    return tok.start
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
    except (tokenize.TokenError, SyntaxError):
        pass  # ast.parse already accepted the text; nothing more to learn here
    return None


class Expression:
    """A compiled condition; call :meth:`evaluate` with the run's data mapping."""

    __slots__ = ("_fn", "names", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        if not isinstance(source, str):
            raise ExpressionError(f"expression must be a string, not {_tn(source)}", str(source))
        if len(source) > MAX_LENGTH:
            raise ExpressionError(f"expression is too long ({len(source)} characters; "
                                  f"the limit is {MAX_LENGTH})", source, MAX_LENGTH + 1)
        text = source.lstrip()
        if not text:
            raise ExpressionError("expression is empty", source, 1)
        compiler = _Compiler(text, len(source) - len(text))
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            # Python reports "unexpected end" at offset 0 on the line after: that is the end.
            if not exc.offset or (exc.lineno or 1) > text.count("\n") + 1:
                where = len(source) + 1
            else:
                where = compiler.position(exc.lineno or 1, exc.offset - 1)
            raise ExpressionError(f"syntax error: {exc.msg}", source, where) from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise ExpressionError(f"cannot parse expression: {exc or type(exc).__name__}",
                                  source) from None
        start = _bracket_depth_error(text)
        try:
            if start is not None:
                raise _LimitError(f"brackets are nested too deeply (more than {MAX_DEPTH} levels)",
                                  compiler.position(*start))
            self._fn: Evaluator = compiler.compile(tree.body)[0]
        except _EvalError as exc:
            raise ExpressionError(exc.message, source, exc.position) from None
        self.names: frozenset[str] = frozenset(compiler.names)

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        """Evaluate against ``data``; any failure is raised as :class:`ExpressionError`."""
        try:
            return self._fn(data)
        except _EvalError as exc:
            raise ExpressionError(exc.message + self._hint(data), self.source,
                                  exc.position) from exc.__cause__
        except Exception as exc:  # a data object's __eq__/__bool__ etc. may raise anything
            raise ExpressionError(f"evaluation failed: {type(exc).__name__}: {exc}"
                                  f"{self._hint(data)}", self.source) from exc

    def _hint(self, data: Mapping[str, Any]) -> str:
        # The usual cause of `None < 3` is a key no node has written yet: say which.
        try:
            missing = sorted(n for n in self.names if n not in data)
        except Exception:  # noqa: BLE001 - a hint must never mask the real error
            return ""
        if not missing:
            return ""
        listed = ", ".join(repr(n) for n in missing)
        return f"; is {listed} set in data? (missing names evaluate to None)"

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __reduce__(self) -> tuple[Any, ...]:
        # closures don't pickle; recompiling from the source is exact
        return (compile_expression, (self.source,))


def compile_expression(source: str) -> Expression:
    """Parse, check and compile ``source``.

    Raises :class:`ExpressionError` (``.position`` = 1-based column) when rejected.
    """
    return Expression(source)
